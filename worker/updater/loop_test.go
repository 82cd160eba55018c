package updater

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
)

// syncBuffer is a log sink safe for the race detector.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStepHonoursInterval drives the loop body tick by tick (each tick
// stands for 60 s): no check before a whole interval has passed, the
// interval is read live at every tick, and anything under 60 s counts as 60.
func TestStepHonoursInterval(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t, FeedHTTP, release(t, "v1.0.0", nil))
	ls := newLiveSettings(srv.Feed) // default interval: 1800 s = 30 ticks
	obs := observers.New()
	u := New(Options{Settings: ls.Settings, Version: "1.0.0", ExePath: "/nonexistent/studio-worker", Slot: obs, Recorder: obs,
		Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	var elapsed time.Duration
	ticksUntilCheck := func(limit int) int {
		t.Helper()
		before := len(obs.UpdateChecks())
		for i := 1; i <= limit; i++ {
			elapsed = u.step(ctx, elapsed)
			if n := len(obs.UpdateChecks()); n != before {
				if n != before+1 {
					t.Fatalf("one tick recorded %d checks", n-before)
				}
				return i
			}
		}
		return -1
	}
	if got := ticksUntilCheck(100); got != 30 {
		t.Fatalf("first check after %d ticks, want 30 (one 1800 s interval after start)", got)
	}
	if got := ticksUntilCheck(100); got != 30 {
		t.Fatalf("second check after %d ticks, want 30", got)
	}
	ls.edit(func(s *config.Settings) { s.AutoUpdateIntervalSecs = 180 })
	if got := ticksUntilCheck(100); got != 3 {
		t.Fatalf("after the interval changed to 180 s: check after %d ticks, want 3", got)
	}
	ls.edit(func(s *config.Settings) { s.AutoUpdateIntervalSecs = 5 })
	if got := ticksUntilCheck(100); got != 1 {
		t.Fatalf("interval 5 s: check after %d ticks, want 1 (clamped to 60 s)", got)
	}
	if got, want := int(srv.lists.Load()), 4; got != want {
		t.Errorf("feed listed %d times, want %d", got, want)
	}
	if c := obs.UpdateChecks()[0]; c.Outcome != observers.UpdateUpToDate || c.Current != "1.0.0" || c.Latest != "1.0.0" {
		t.Errorf("recorded %+v, want up_to_date at 1.0.0", c)
	}
}

// TestRunUsesInjectedTicks runs the real loop on a tick channel: nothing at
// the first tick, a check at the second (interval 120 s), and Run returns
// when its context ends.
func TestRunUsesInjectedTicks(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t, FeedHTTP, release(t, "v1.0.0", nil))
	ls := newLiveSettings(srv.Feed, func(s *config.Settings) { s.AutoUpdateIntervalSecs = 120 })
	obs := observers.New()
	ticks := make(chan time.Time)
	u := New(Options{Settings: ls.Settings, Version: "1.0.0", ExePath: "/nonexistent/studio-worker", Slot: obs, Recorder: obs,
		Ticks: ticks, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.Run(ctx)
	}()
	changed := obs.Changed()
	ticks <- time.Time{}
	ticks <- time.Time{} // received only once the first tick was handled
	if n := len(obs.UpdateChecks()); n != 0 {
		t.Fatalf("%d checks after the first tick, want 0", n)
	}
	for len(obs.UpdateChecks()) == 0 {
		<-changed
		changed = obs.Changed()
	}
	cancel()
	<-done
	if c := obs.UpdateChecks(); len(c) != 1 || c[0].Outcome != observers.UpdateUpToDate {
		t.Errorf("checks = %+v, want one up_to_date", c)
	}
}

// TestAutoUpdateOutcomes covers every decision of a scheduled check: what is
// recorded and logged, whether the feed was read, whether the binary
// changed, and that the job slot is held exactly while installing and
// restarting.
func TestAutoUpdateOutcomes(t *testing.T) {
	t.Parallel()
	current := []byte("current binary 1.0.0")
	newBin := []byte("new binary 9.9.9")
	type env struct {
		srv *feedServer
		obs *observers.Set
		ls  *liveSettings
	}
	tests := []struct {
		name        string
		rels        func(t *testing.T) []fakeRelease
		setup       func(t *testing.T, e env)
		want        observers.UpdateOutcome
		wantDetail  string
		wantLog     string
		wantLists   int32
		wantNewBin  bool
		wantRestart bool
	}{
		{name: "disabled",
			rels:  func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v9.9.9", newBin)} },
			setup: func(t *testing.T, e env) { e.ls.edit(func(s *config.Settings) { s.AutoUpdateEnabled = false }) },
			want:  observers.UpdateDisabled, wantLog: "auto_update_enabled = false", wantLists: 0},
		{name: "skipped while a job holds the slot",
			rels: func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v9.9.9", newBin)} },
			setup: func(t *testing.T, e env) {
				release, ok := e.obs.TryReserveJob()
				if !ok {
					t.Fatal("slot taken")
				}
				t.Cleanup(release)
			},
			want: observers.UpdateSkippedBusy, wantDetail: "busy on a job", wantLog: "skipping check: worker is busy on a job", wantLists: 0},
		{name: "job starts while checking",
			rels: func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v9.9.9", newBin)} },
			setup: func(t *testing.T, e env) {
				var once sync.Once
				e.srv.set(func(f *feedServer) {
					f.onList = func() {
						once.Do(func() {
							release, ok := e.obs.TryReserveJob()
							if !ok {
								t.Error("slot taken")
								return
							}
							t.Cleanup(release)
						})
					}
				})
			},
			want: observers.UpdateSkippedBusy, wantDetail: "deferring install", wantLog: "deferring install", wantLists: 1},
		{name: "up to date",
			rels: func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v1.0.0", current)} },
			want: observers.UpdateUpToDate, wantLog: "up to date at 1.0.0", wantLists: 1},
		{name: "feed down",
			setup: func(t *testing.T, e env) {
				e.srv.set(func(f *feedServer) { f.status = http.StatusServiceUnavailable })
			},
			want: observers.UpdateCheckFailed, wantDetail: "check for updates", wantLog: "check failed: check for updates", wantLists: 0},
		{name: "missing checksums refused at check",
			rels: func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v9.9.9", newBin, noChecksums)} },
			want: observers.UpdateCheckFailed, wantDetail: "validation file not found", wantLog: "check failed", wantLists: 1},
		{name: "tampered archive refused at install",
			rels: func(t *testing.T) []fakeRelease { return []fakeRelease{release(t, "v9.9.9", newBin, tampered)} },
			want: observers.UpdateUpdateFailed, wantDetail: "sha256 validation failed", wantLog: "update failed: install update 9.9.9", wantLists: 1},
		{name: "updated and restarted",
			rels: func(t *testing.T) []fakeRelease {
				return []fakeRelease{release(t, "v1.0.0", current), release(t, "studio-worker-v9.9.9", newBin)}
			},
			want: observers.UpdateUpdated, wantLog: "binary replaced (1.0.0 -> 9.9.9); restart pending", wantLists: 1,
			wantNewBin: true, wantRestart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rels []fakeRelease
			if tt.rels != nil {
				rels = tt.rels(t)
			}
			e := env{srv: newFeedServer(t, FeedHTTP, rels...), obs: observers.New()}
			e.ls = newLiveSettings(e.srv.Feed)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			target := installed(t, exeName(), current)
			var logs syncBuffer
			restarts, busyDuringRestart := 0, false
			u := New(Options{Settings: e.ls.Settings, Version: "1.0.0", ExePath: target, Slot: e.obs, Recorder: e.obs,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Now:    func() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC) },
				Restart: func() error {
					restarts++
					busyDuringRestart = e.obs.Busy()
					return nil
				}})
			got := u.AutoUpdate(context.Background())
			if got.Outcome != tt.want {
				t.Fatalf("outcome = %q (%s), want %q", got.Outcome, got.Detail, tt.want)
			}
			if !strings.Contains(got.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", got.Detail, tt.wantDetail)
			}
			if rec := e.obs.UpdateChecks(); len(rec) != 1 || rec[0] != got {
				t.Errorf("recorded %+v, want exactly %+v", rec, got)
			}
			if got.At != time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC) || got.Current != "1.0.0" {
				t.Errorf("At/Current = %v/%q", got.At, got.Current)
			}
			line := logs.String()
			if !strings.Contains(line, tt.wantLog) || !strings.Contains(line, "category=auto-update") {
				t.Errorf("log %q, want %q with category=auto-update", line, tt.wantLog)
			}
			if n := e.srv.lists.Load(); n != tt.wantLists {
				t.Errorf("feed listed %d times, want %d", n, tt.wantLists)
			}
			onDisk, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if wantBin := map[bool][]byte{true: newBin, false: current}[tt.wantNewBin]; !bytes.Equal(onDisk, wantBin) {
				t.Errorf("binary on disk = %q, want %q", onDisk, wantBin)
			}
			if (restarts == 1) != tt.wantRestart || restarts > 1 {
				t.Errorf("restart called %d times, want %t", restarts, tt.wantRestart)
			}
			if tt.wantRestart && !busyDuringRestart {
				t.Error("the job slot was free during the restart; an offer could have started")
			}
			if tt.want != observers.UpdateSkippedBusy && e.obs.Busy() {
				t.Error("the job slot is still held after AutoUpdate returned")
			}
		})
	}
}

// TestAutoUpdateNeverLogsFeedCredentials: a feed URL with credentials that
// fails to answer leaves no password in the log or the recorded detail.
func TestAutoUpdateNeverLogsFeedCredentials(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t, FeedHTTP)
	srv.srv.Close() // connection refused: the client's error carries the URL
	feed := strings.Replace(srv.Feed, "http://", "http://deploy:s3cr3t-pass@", 1)
	var logs syncBuffer
	obs := observers.New()
	u := New(Options{Settings: newLiveSettings(feed).Settings, Version: "1.0.0", ExePath: "/nonexistent/studio-worker",
		Slot: obs, Recorder: obs, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := u.AutoUpdate(context.Background())
	if c.Outcome != observers.UpdateCheckFailed {
		t.Fatalf("outcome = %q, want check_failed", c.Outcome)
	}
	if strings.Contains(logs.String(), "s3cr3t-pass") || strings.Contains(c.Detail, "s3cr3t-pass") {
		t.Errorf("password leaked: log %q detail %q", logs.String(), c.Detail)
	}
}
