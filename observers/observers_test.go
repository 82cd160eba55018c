package observers

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPromptPreview(t *testing.T) {
	t.Parallel()
	a200 := strings.Repeat("a", 200)
	ae200 := strings.Repeat("é", 200) // 2 bytes each: 400 bytes, still 200 runes
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"short ascii", "a red fox", "a red fox"},
		{"exactly 200", a200, a200},
		{"201 ascii", a200 + "b", a200 + "…"},
		{"much longer", strings.Repeat("x", 5000), strings.Repeat("x", 200) + "…"},
		{"200 two-byte runes", ae200, ae200},
		{"201 two-byte runes", ae200 + "é", ae200 + "…"},
		{"cjk 201", strings.Repeat("猫", 201), strings.Repeat("猫", 200) + "…"},
		{"emoji 200", strings.Repeat("🦊", 200), strings.Repeat("🦊", 200)},
		{"emoji 201", strings.Repeat("🦊", 201), strings.Repeat("🦊", 200) + "…"},
		{"emoji straddles the cut", strings.Repeat("a", 199) + "🦊🦊", strings.Repeat("a", 199) + "🦊…"},
		{"invalid short", "ab\xffcd", "ab\uFFFDcd"},
		{"truncated multibyte at end", "ab\xe2\x82", "ab\uFFFD\uFFFD"},
		{"invalid long", strings.Repeat("\xff", 300), strings.Repeat("\uFFFD", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := PromptPreview(tt.in)
			if got != tt.want {
				t.Errorf("PromptPreview(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("PromptPreview(%q) = %q is not valid UTF-8", tt.in, got)
			}
			if n := utf8.RuneCountInString(strings.TrimSuffix(got, "…")); n > PromptPreviewChars {
				t.Errorf("preview has %d runes before the ellipsis", n)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	s := New()
	if !s.Enabled() {
		t.Error("New() is not enabled")
	}
	if s.Busy() {
		t.Error("New() is busy")
	}
	if _, ok := s.CurrentJob(); ok {
		t.Error("New() has a current job")
	}
	if _, ok := s.Heartbeat(); ok {
		t.Error("New() has a heartbeat")
	}
	if got := s.Registration().Phase; got != RegistrationInitialising {
		t.Errorf("registration phase = %q, want %q", got, RegistrationInitialising)
	}
	if got := s.RecentJobs(); len(got) != 0 {
		t.Errorf("RecentJobs() = %v, want empty", got)
	}
	if got := s.Logs(); len(got) != 0 {
		t.Errorf("Logs() = %v, want empty", got)
	}
}

func TestSlotsRoundTrip(t *testing.T) {
	t.Parallel()
	s := New()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	cj := CurrentJob{JobID: "j1", Kind: "image", Model: "m", Prompt: "p", StartedAt: now}
	s.SetCurrentJob(cj)
	if got, ok := s.CurrentJob(); !ok || got != cj {
		t.Errorf("CurrentJob() = %+v, %v; want %+v, true", got, ok, cj)
	}
	s.ClearCurrentJob()
	if got, ok := s.CurrentJob(); ok || got != (CurrentJob{}) {
		t.Errorf("after clear CurrentJob() = %+v, %v", got, ok)
	}

	hb := HeartbeatStatus{Outcome: HeartbeatErr, Reason: "send failed", LastAttemptAt: now}
	s.SetHeartbeat(hb)
	if got, ok := s.Heartbeat(); !ok || got != hb {
		t.Errorf("Heartbeat() = %+v, %v", got, ok)
	}

	reg := RegistrationState{Phase: RegistrationPending, RequestID: "rr-1", Since: now}
	s.SetRegistration(reg)
	if got := s.Registration(); got != reg {
		t.Errorf("Registration() = %+v", got)
	}

	ss := SessionState{Phase: SessionReconnecting, Attempt: 3, Reason: "eof", Since: now}
	s.SetSession(ss)
	if got := s.Session(); got != ss {
		t.Errorf("Session() = %+v", got)
	}

	s.SetEnabled(false)
	if s.Enabled() {
		t.Error("Enabled() after SetEnabled(false)")
	}

	s.SetVRAM(24, 12.5)
	if total, thr := s.VRAM(); total != 24 || thr != 12.5 {
		t.Errorf("VRAM() = %v, %v", total, thr)
	}
}

func TestRecentJobDuration(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		j    RecentJob
		want time.Duration
	}{
		{"normal", RecentJob{StartedAt: t0, FinishedAt: t0.Add(1500 * time.Millisecond)}, 1500 * time.Millisecond},
		{"no start", RecentJob{FinishedAt: t0}, 0},
		{"no finish", RecentJob{StartedAt: t0}, 0},
		{"clock went back", RecentJob{StartedAt: t0, FinishedAt: t0.Add(-time.Second)}, 0},
	}
	for _, tt := range tests {
		if got := tt.j.Duration(); got != tt.want {
			t.Errorf("%s: Duration() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRecentJobsRing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pushed int
	}{{0}, {1}, {RecentJobsCap - 1}, {RecentJobsCap}, {RecentJobsCap + 1}, {3*RecentJobsCap + 7}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.pushed), func(t *testing.T) {
			t.Parallel()
			s := New()
			for i := 1; i <= tt.pushed; i++ {
				s.RecordRecentJob(RecentJob{JobID: fmt.Sprint(i)})
			}
			got := s.RecentJobs()
			wantLen := min(tt.pushed, RecentJobsCap)
			if len(got) != wantLen {
				t.Fatalf("len = %d, want %d", len(got), wantLen)
			}
			for i, j := range got {
				if want := fmt.Sprint(tt.pushed - i); j.JobID != want {
					t.Fatalf("RecentJobs()[%d] = %s, want %s (newest first)", i, j.JobID, want)
				}
			}
		})
	}
}

func TestRecentJobsReturnsCopy(t *testing.T) {
	t.Parallel()
	s := New()
	s.RecordRecentJob(RecentJob{JobID: "a"})
	got := s.RecentJobs()
	got[0].JobID = "mutated"
	if s.RecentJobs()[0].JobID != "a" {
		t.Error("RecentJobs() shares memory with the ring")
	}
}

func TestLogRingCapOrderAndSeq(t *testing.T) {
	t.Parallel()
	tests := []struct {
		appended int
	}{{0}, {1}, {LogRingCap}, {LogRingCap + 1}, {2*LogRingCap + 333}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.appended), func(t *testing.T) {
			t.Parallel()
			s := New()
			for i := 1; i <= tt.appended; i++ {
				seq := s.AppendLog(LogLine{Seq: 999999, Message: fmt.Sprint(i), Level: slog.LevelInfo})
				if seq != uint64(i) {
					t.Fatalf("AppendLog #%d returned Seq %d", i, seq)
				}
			}
			got := s.Logs()
			wantLen := min(tt.appended, LogRingCap)
			if len(got) != wantLen {
				t.Fatalf("len = %d, want %d", len(got), wantLen)
			}
			first := tt.appended - wantLen + 1
			for i, l := range got {
				want := first + i
				if l.Seq != uint64(want) || l.Message != fmt.Sprint(want) {
					t.Fatalf("Logs()[%d] = seq %d msg %q, want seq %d (oldest first)", i, l.Seq, l.Message, want)
				}
			}
		})
	}
}

func TestLogsAfter(t *testing.T) {
	t.Parallel()
	s := New()
	const total = LogRingCap + 500 // ring holds 501..1500
	for i := 1; i <= total; i++ {
		s.AppendLog(LogLine{Message: fmt.Sprint(i)})
	}
	tests := []struct {
		name      string
		after     uint64
		wantFirst uint64 // 0 = expect empty
		wantLen   int
	}{
		{"zero is whole ring", 0, 501, LogRingCap},
		{"evicted is whole ring", 100, 501, LogRingCap},
		{"just before oldest", 500, 501, LogRingCap},
		{"oldest", 501, 502, LogRingCap - 1},
		{"middle", 1400, 1401, 100},
		{"second newest", total - 1, total, 1},
		{"newest", total, 0, 0},
		{"future", total + 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := s.LogsAfter(tt.after)
			if len(got) != tt.wantLen {
				t.Fatalf("LogsAfter(%d) len = %d, want %d", tt.after, len(got), tt.wantLen)
			}
			for i, l := range got {
				if l.Seq != tt.wantFirst+uint64(i) {
					t.Fatalf("LogsAfter(%d)[%d].Seq = %d, want %d", tt.after, i, l.Seq, tt.wantFirst+uint64(i))
				}
			}
		})
	}
}

// fired reports whether ch is closed right now. Writers close synchronously,
// so no waiting is needed.
func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestChangeSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		write    func(*Set)
		wantLogs bool // true: only LogsChanged fires; false: only Changed fires
	}{
		{"SetCurrentJob", func(s *Set) { s.SetCurrentJob(CurrentJob{JobID: "j"}) }, false},
		{"ClearCurrentJob", func(s *Set) { s.ClearCurrentJob() }, false},
		{"RecordRecentJob", func(s *Set) { s.RecordRecentJob(RecentJob{JobID: "j"}) }, false},
		{"SetHeartbeat", func(s *Set) { s.SetHeartbeat(HeartbeatStatus{Outcome: HeartbeatOK}) }, false},
		{"SetRegistration", func(s *Set) { s.SetRegistration(RegistrationState{Phase: RegistrationPending}) }, false},
		{"SetSession", func(s *Set) { s.SetSession(SessionState{Phase: SessionConnected}) }, false},
		{"SetEnabled", func(s *Set) { s.SetEnabled(false) }, false},
		{"SetVRAM", func(s *Set) { s.SetVRAM(8, 4) }, false},
		{"TryReserveJob and release", func(s *Set) {
			if release, ok := s.TryReserveJob(); ok {
				release()
			}
		}, false},
		{"AppendLog", func(s *Set) { s.AppendLog(LogLine{Message: "x"}) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New()
			changed, logs := s.Changed(), s.LogsChanged()
			if fired(changed) || fired(logs) {
				t.Fatal("signal fired before any write")
			}
			tt.write(s)
			if got := fired(changed); got == tt.wantLogs {
				t.Errorf("Changed fired = %v, want %v", got, !tt.wantLogs)
			}
			if got := fired(logs); got != tt.wantLogs {
				t.Errorf("LogsChanged fired = %v, want %v", got, tt.wantLogs)
			}
			// A fresh channel waits for the next write, and several readers
			// share one broadcast.
			next1, next2 := s.Changed(), s.Changed()
			nextLogs := s.LogsChanged()
			if fired(next1) || fired(next2) || fired(nextLogs) {
				t.Fatal("fresh channel already closed")
			}
			tt.write(s)
			if fired(next1) != !tt.wantLogs || fired(next2) != !tt.wantLogs || fired(nextLogs) != tt.wantLogs {
				t.Error("second write did not wake the fresh channels")
			}
		})
	}
}

func TestReserveAndReleaseSignalChanged(t *testing.T) {
	t.Parallel()
	s := New()
	ch := s.Changed()
	release, ok := s.TryReserveJob()
	if !ok {
		t.Fatal("first reservation failed")
	}
	if !fired(ch) {
		t.Error("reserve did not fire Changed")
	}
	ch = s.Changed()
	if _, ok := s.TryReserveJob(); ok {
		t.Fatal("second reservation succeeded")
	}
	if fired(ch) {
		t.Error("a failed reservation fired Changed")
	}
	release()
	if !fired(ch) {
		t.Error("release did not fire Changed")
	}
}

func TestTryReserveJobExclusive(t *testing.T) {
	t.Parallel()
	s := New()
	const goroutines = 64
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  int
		releases []func()
		start    = make(chan struct{})
	)
	for range goroutines {
		wg.Go(func() {
			<-start
			release, ok := s.TryReserveJob()
			if ok {
				mu.Lock()
				winners++
				releases = append(releases, release)
				mu.Unlock()
			} else if release != nil {
				t.Error("failed reservation returned a release func")
			}
		})
	}
	close(start)
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d goroutines reserved the slot, want 1", winners)
	}
	if !s.Busy() {
		t.Fatal("Busy() = false while reserved")
	}
	releases[0]()
	if s.Busy() {
		t.Fatal("Busy() = true after release")
	}
}

func TestTryReserveJobHandsOffUnderContention(t *testing.T) {
	t.Parallel()
	s := New()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		inside int
		held   int
	)
	for range 16 {
		wg.Go(func() {
			for range 200 {
				release, ok := s.TryReserveJob()
				if !ok {
					continue
				}
				mu.Lock()
				inside++
				if inside > 1 {
					t.Error("two holders of the job slot at once")
				}
				held++
				inside--
				mu.Unlock()
				release()
			}
		})
	}
	wg.Wait()
	if held == 0 {
		t.Fatal("nobody ever got the slot")
	}
	if s.Busy() {
		t.Fatal("slot still busy after every holder released")
	}
}

func TestReleaseIdempotent(t *testing.T) {
	t.Parallel()
	s := New()
	release1, ok := s.TryReserveJob()
	if !ok {
		t.Fatal("reserve 1 failed")
	}
	if _, ok := s.TryReserveJob(); ok {
		t.Fatal("second reservation succeeded while busy")
	}
	release1()
	release1()
	if s.Busy() {
		t.Fatal("busy after release")
	}
	release2, ok := s.TryReserveJob()
	if !ok {
		t.Fatal("reserve 2 failed after release")
	}
	ch := s.Changed()
	release1() // stale release must not free reservation 2
	if !s.Busy() {
		t.Fatal("a stale release freed a later reservation")
	}
	if fired(ch) {
		t.Error("a stale release signalled a change")
	}
	release2()
	if s.Busy() {
		t.Fatal("busy after release 2")
	}
}

// TestConcurrentStress runs writers and readers of every slot together; it
// proves nothing under plain `go test` but lets -race see every path, and
// checks that sequence numbers stay dense and ordered under contention.
func TestConcurrentStress(t *testing.T) {
	t.Parallel()
	s := New()
	const (
		writers   = 8
		perWriter = 2000
	)
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			var lastSeen uint64
			for {
				select {
				case <-done:
					return
				case <-s.LogsChanged():
					for _, l := range s.LogsAfter(lastSeen) {
						if l.Seq <= lastSeen {
							t.Errorf("LogsAfter(%d) returned Seq %d", lastSeen, l.Seq)
							return
						}
						lastSeen = l.Seq
					}
				case <-s.Changed():
					s.CurrentJob()
					s.RecentJobs()
					s.Heartbeat()
					s.Registration()
					s.Session()
					s.Enabled()
					s.Busy()
					s.VRAM()
				}
			}
		})
	}
	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				s.AppendLog(LogLine{Message: fmt.Sprint(w, i)})
				switch i % 8 {
				case 0:
					s.SetCurrentJob(CurrentJob{JobID: fmt.Sprint(i)})
				case 1:
					s.ClearCurrentJob()
				case 2:
					s.RecordRecentJob(RecentJob{JobID: fmt.Sprint(i)})
				case 3:
					s.SetHeartbeat(HeartbeatStatus{Outcome: HeartbeatOK})
				case 4:
					s.SetSession(SessionState{Attempt: i})
				case 5:
					s.SetRegistration(RegistrationState{Phase: RegistrationPending})
				case 6:
					if release, ok := s.TryReserveJob(); ok {
						release()
					}
				case 7:
					s.SetVRAM(float64(i), 1)
					s.SetEnabled(i%16 == 7)
				}
			}
		})
	}
	writersWG.Wait()
	close(done)
	readers.Wait()

	logs := s.Logs()
	if len(logs) != LogRingCap {
		t.Fatalf("len(Logs()) = %d, want %d", len(logs), LogRingCap)
	}
	for i, l := range logs {
		if want := uint64(writers*perWriter - LogRingCap + 1 + i); l.Seq != want {
			t.Fatalf("Logs()[%d].Seq = %d, want %d", i, l.Seq, want)
		}
	}
	if got := len(s.RecentJobs()); got != RecentJobsCap {
		t.Errorf("len(RecentJobs()) = %d, want %d", got, RecentJobsCap)
	}
	if s.Busy() {
		t.Error("slot left busy")
	}
}

func BenchmarkAppendLog(b *testing.B) {
	s := New()
	l := LogLine{Time: time.Now(), Level: slog.LevelInfo, Category: "ws", Message: "heartbeat sent"}
	b.ReportAllocs()
	for b.Loop() {
		s.AppendLog(l)
	}
}

func BenchmarkAppendLogWithListener(b *testing.B) {
	s := New()
	l := LogLine{Time: time.Now(), Level: slog.LevelInfo, Category: "ws", Message: "heartbeat sent"}
	b.ReportAllocs()
	for b.Loop() {
		s.LogsChanged()
		s.AppendLog(l)
	}
}
