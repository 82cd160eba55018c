package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

type sinks struct {
	obs  *observers.Set
	q    *ShipQueue
	base *bytes.Buffer
	log  *slog.Logger
}

// newSinks wires a Handler to a real ring, a real queue and a real text
// handler at Debug level as the base.
func newSinks() *sinks {
	s := &sinks{obs: observers.New(), q: NewShipQueue(100), base: &bytes.Buffer{}}
	base := slog.NewTextHandler(s.base, &slog.HandlerOptions{Level: slog.LevelDebug})
	s.log = slog.New(NewHandler(base, s.obs, s.q))
	return s
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved value") }

func TestHandlerFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		log      func(*slog.Logger)
		category string
		jobID    string
		message  string
		level    protocol.LogLevel
	}{
		{"plain", func(l *slog.Logger) { l.Info("hello") }, "worker", "", "hello", protocol.LevelInfo},
		{"category and job_id are fields", func(l *slog.Logger) {
			l.Info("job started", "category", "ws", "model", "flux", "job_id", "j-1")
		}, "ws", "j-1", "job started model=flux", protocol.LevelInfo},
		{"empty category is the default", func(l *slog.Logger) { l.Info("m", "category", "") }, "worker", "", "m", protocol.LevelInfo},
		{"job_id of another kind", func(l *slog.Logger) { l.Info("m", "job_id", 42) }, "worker", "42", "m", protocol.LevelInfo},
		{"via With", func(l *slog.Logger) {
			l.With("category", "auto-update", "job_id", "j-9").Info("checking", "n", 1)
		}, "auto-update", "j-9", "checking n=1", protocol.LevelInfo},
		{"record overrides With", func(l *slog.Logger) {
			l.With("category", "ws").Info("m", "category", "engine")
		}, "engine", "", "m", protocol.LevelInfo},
		{"With then WithGroup keeps category", func(l *slog.Logger) {
			l.With("category", "ws", "job_id", "j").WithGroup("g").Info("m", "a", 1)
		}, "ws", "j", "m g.a=1", protocol.LevelInfo},
		{"grouped category is an ordinary attr", func(l *slog.Logger) {
			l.WithGroup("g").Info("m", "category", "ws", "job_id", "x")
		}, "worker", "", "m g.category=ws g.job_id=x", protocol.LevelInfo},
		{"group attr category is an ordinary attr", func(l *slog.Logger) {
			l.Info("m", slog.Group("engine", "category", "x"))
		}, "worker", "", "m engine.category=x", protocol.LevelInfo},
		{"warn", func(l *slog.Logger) { l.Warn("w") }, "worker", "", "w", protocol.LevelWarn},
		{"error", func(l *slog.Logger) { l.Error("e", "err", errors.New("boom")) }, "worker", "", "e err=boom", protocol.LevelError},
		{"between info and warn is info", func(l *slog.Logger) { l.Log(context.Background(), slog.LevelInfo+2, "m") }, "worker", "", "m", protocol.LevelInfo},
		{"between warn and error is warn", func(l *slog.Logger) { l.Log(context.Background(), slog.LevelWarn+1, "m") }, "worker", "", "m", protocol.LevelWarn},
		{"above error is error", func(l *slog.Logger) { l.Log(context.Background(), slog.LevelError+4, "m") }, "worker", "", "m", protocol.LevelError},
		{"empty message", func(l *slog.Logger) { l.Info("", "k", "v") }, "worker", "", "k=v", protocol.LevelInfo},
		{"empty message with With attrs", func(l *slog.Logger) { l.With("a", 1).Info("", "k", "v") }, "worker", "", "a=1 k=v", protocol.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSinks()
			tt.log(s.log)
			shipped := s.q.Drain(0)
			if len(shipped) != 1 {
				t.Fatalf("queue got %d entries, want 1", len(shipped))
			}
			e := shipped[0]
			if e.Category != tt.category || e.JobID != tt.jobID || e.Message != tt.message || e.Level != tt.level {
				t.Errorf("queued %+v\nwant category=%q job=%q message=%q level=%q", e, tt.category, tt.jobID, tt.message, tt.level)
			}
			lines := s.obs.Logs()
			if len(lines) != 1 {
				t.Fatalf("ring got %d lines, want 1", len(lines))
			}
			l := lines[0]
			if l.Category != e.Category || l.JobID != e.JobID || l.Message != e.Message || !l.Time.Equal(e.TS.Time) {
				t.Errorf("ring line %+v differs from queued entry %+v", l, e)
			}
			if shipLevel(l.Level) != e.Level {
				t.Errorf("ring level %v does not map to queued level %v", l.Level, e.Level)
			}
			if s.base.Len() == 0 {
				t.Error("base handler got nothing")
			}
		})
	}
}

func TestHandlerRendersLikeTextHandler(t *testing.T) {
	t.Parallel()
	when := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
	tests := []struct {
		name  string
		attrs []any
		want  string // our rendering; also checked against slog.TextHandler
	}{
		{"plain string", []any{"k", "v"}, "k=v"},
		{"space", []any{"path", "a b"}, `path="a b"`},
		{"equals", []any{"eq", "a=b"}, `eq="a=b"`},
		{"quote", []any{"q", `say "hi"`}, `q="say \"hi\""`},
		{"empty", []any{"e", ""}, `e=""`},
		{"backslash unquoted", []any{"bs", `a\b`}, `bs=a\b`},
		{"newline", []any{"nl", "a\nb"}, `nl="a\nb"`},
		{"unicode", []any{"u", "héllo"}, "u=héllo"},
		{"unicode space", []any{"u", "a\u00a0b"}, `u="a\u00a0b"`},
		{"invalid utf8", []any{"x", "a\xffb"}, `x="a\xffb"`},
		{"key needs quoting", []any{"a key", 1}, `"a key"=1`},
		{"ints", []any{"i", -3, "u", uint64(7)}, "i=-3 u=7"},
		{"float", []any{"f", 1.5, "g", 1e21}, "f=1.5 g=1e+21"},
		{"bool", []any{"b", true}, "b=true"},
		{"duration", []any{"d", 1500 * time.Millisecond}, "d=1.5s"},
		{"time", []any{"t", when}, "t=2025-03-04T05:06:07.891+01:00"},
		{"error", []any{"err", errors.New("it broke")}, `err="it broke"`},
		{"text marshaler", []any{"ip", net.IPv4(10, 0, 0, 1)}, "ip=10.0.0.1"},
		{"bytes", []any{"raw", []byte("hi")}, `raw="hi"`},
		{"struct", []any{"s", struct{ A int }{1}}, "s={A:1}"},
		{"nil any", []any{"n", nil}, "n=<nil>"},
		{"log valuer", []any{"v", valuer{}}, `v="resolved value"`},
		{"group", []any{slog.Group("req", "id", 7, slog.Group("inner", "x", 1))}, "req.id=7 req.inner.x=1"},
		{"empty group elided", []any{"a", 1, slog.Group("none"), "b", 2}, "a=1 b=2"},
		{"inline group", []any{slog.Group("", "a", 1)}, "a=1"},
		{"empty attr elided", []any{slog.Attr{}, "a", 1}, "a=1"},
		{"group key quoted", []any{slog.Group("a b", "c", 1)}, `"a b.c"=1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSinks()
			s.log.Info("msg", tt.attrs...)
			got := s.q.Drain(0)[0].Message
			if want := "msg " + tt.want; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}

			var ref bytes.Buffer
			th := slog.NewTextHandler(&ref, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
					return slog.Attr{}
				}
				return a
			}})
			slog.New(th).Info("msg", tt.attrs...)
			if want := strings.TrimSuffix(ref.String(), "\n"); strings.TrimPrefix(got, "msg ") != want {
				t.Errorf("differs from slog.TextHandler:\n ours %q\n slog %q", strings.TrimPrefix(got, "msg "), want)
			}
		})
	}
}

func TestHandlerWithAttrsAndGroups(t *testing.T) {
	t.Parallel()
	s := newSinks()
	parent := s.log.With("a", 1)
	// Two children of one parent must not share rendered attributes.
	c1 := parent.With("b", 2)
	c2 := parent.With("c", 3)
	grouped := parent.WithGroup("g").With("d", 4).WithGroup("h")
	c1.Info("m")
	c2.Info("m")
	grouped.Info("m", "e", 5)
	parent.WithGroup("").Info("m")
	var got []string
	for _, e := range s.q.Drain(0) {
		got = append(got, e.Message)
	}
	want := []string{"m a=1 b=2", "m a=1 c=3", "m a=1 g.d=4 g.h.e=5", "m a=1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
	// The base saw the same attributes and groups.
	if !strings.Contains(s.base.String(), "a=1 g.d=4 g.h.e=5") {
		t.Errorf("base output lacks grouped attrs:\n%s", s.base.String())
	}
}

func TestHandlerDebugOnlyToBase(t *testing.T) {
	t.Parallel()
	s := newSinks()
	s.log.Debug("noisy", "category", "ws")
	if n := s.q.Len(); n != 0 {
		t.Errorf("queue got %d entries from a debug record", n)
	}
	if n := len(s.obs.Logs()); n != 0 {
		t.Errorf("ring got %d lines from a debug record", n)
	}
	if !strings.Contains(s.base.String(), "level=DEBUG msg=noisy category=ws") {
		t.Errorf("base did not get the debug record: %q", s.base.String())
	}
}

func TestHandlerEnabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	warnBase := slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	debugBase := slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelDebug})
	tests := []struct {
		name  string
		base  slog.Handler
		level slog.Level
		want  bool
	}{
		{"nil base debug", nil, slog.LevelDebug, false},
		{"nil base info", nil, slog.LevelInfo, true},
		{"nil base error", nil, slog.LevelError, true},
		{"warn base info", warnBase, slog.LevelInfo, true},
		{"warn base debug", warnBase, slog.LevelDebug, false},
		{"debug base debug", debugBase, slog.LevelDebug, true},
	}
	for _, tt := range tests {
		if got := NewHandler(tt.base, nil, nil).Enabled(ctx, tt.level); got != tt.want {
			t.Errorf("%s: Enabled(%v) = %v, want %v", tt.name, tt.level, got, tt.want)
		}
	}
}

func TestHandlerBaseLevelRespected(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})
	q := NewShipQueue(10)
	log := slog.New(NewHandler(base, nil, q))
	log.Info("quiet on stderr")
	if buf.Len() != 0 {
		t.Errorf("base below its level got %q", buf.String())
	}
	if q.Len() != 1 {
		t.Errorf("queue Len() = %d, want 1", q.Len())
	}
}

// failingHandler is a base whose writes fail, like stderr on a closed pipe.
type failingHandler struct{ slog.Handler }

var errBase = errors.New("stderr closed")

func (failingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (failingHandler) Handle(context.Context, slog.Record) error { return errBase }

func TestHandlerBaseErrorStillShips(t *testing.T) {
	t.Parallel()
	obs, q := observers.New(), NewShipQueue(10)
	h := NewHandler(failingHandler{slog.DiscardHandler}, obs, q)
	err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0))
	if !errors.Is(err, errBase) {
		t.Errorf("Handle error = %v, want wrapping %v", err, errBase)
	}
	if q.Len() != 1 || len(obs.Logs()) != 1 {
		t.Errorf("queue Len %d, ring %d; want 1 and 1", q.Len(), len(obs.Logs()))
	}
}

func TestHandlerTimestamps(t *testing.T) {
	t.Parallel()
	obs, q := observers.New(), NewShipQueue(10)
	h := NewHandler(nil, obs, q)
	at := time.Date(2025, 7, 8, 9, 10, 11, 12e6, time.UTC)
	ctx := context.Background()
	if err := h.Handle(ctx, slog.NewRecord(at, slog.LevelInfo, "fixed", 0)); err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(ctx, slog.NewRecord(time.Time{}, slog.LevelInfo, "zero", 0)); err != nil {
		t.Fatal(err)
	}
	got := q.Drain(0)
	if !got[0].TS.Equal(at) || !obs.Logs()[0].Time.Equal(at) {
		t.Errorf("record time not kept: queue %v, ring %v", got[0].TS, obs.Logs()[0].Time)
	}
	if got[1].TS.IsZero() || obs.Logs()[1].Time.IsZero() {
		t.Error("zero record time shipped as zero")
	}
}

func TestHandlerNilSinks(t *testing.T) {
	t.Parallel()
	log := slog.New(NewHandler(nil, nil, nil))
	log.Info("goes nowhere", "k", "v") // must not panic
	obs := observers.New()
	slog.New(NewHandler(nil, obs, nil)).Info("ring only")
	if len(obs.Logs()) != 1 {
		t.Error("ring-only handler did not append")
	}
}

func TestHandlerConcurrent(t *testing.T) {
	t.Parallel()
	obs, q := observers.New(), NewShipQueue(ShipQueueCap)
	log := slog.New(NewHandler(slog.DiscardHandler, obs, q)).With("category", "ws")
	const goroutines, per = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			l := log.With("job_id", fmt.Sprint(g))
			for i := range per {
				l.Info("tick", "i", i)
			}
		})
	}
	wg.Wait()
	if got := q.Len(); got != goroutines*per {
		t.Errorf("queue Len() = %d, want %d", got, goroutines*per)
	}
	logs := obs.Logs()
	if last := logs[len(logs)-1].Seq; last != goroutines*per {
		t.Errorf("last ring Seq = %d, want %d", last, goroutines*per)
	}
	for _, e := range q.Drain(0) {
		if e.Category != "ws" || e.JobID == "" {
			t.Fatalf("entry lost its With attrs: %+v", e)
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	obs, q := observers.New(), NewShipQueue(ShipQueueCap)
	log := slog.New(NewHandler(nil, obs, q))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("heartbeat sent", "worker", "w-123", "attempt", 3)
	}
}
