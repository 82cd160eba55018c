package ui

import (
	"errors"
	"image"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
)

func TestFormatAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-3 * time.Second, "0s ago"},
		{0, "0s ago"},
		{5*time.Second + 900*time.Millisecond, "5s ago"},
		{59 * time.Second, "59s ago"},
		{60 * time.Second, "1m 00s ago"},
		{3*time.Minute + 4*time.Second, "3m 04s ago"},
		{59*time.Minute + 59*time.Second, "59m 59s ago"},
		{time.Hour, "1h 00m ago"},
		{26*time.Hour + 5*time.Minute, "26h 05m ago"},
	} {
		if got := FormatAge(tc.d); got != tc.want {
			t.Errorf("FormatAge(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestFormatElapsed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{12 * time.Second, "12s"},
		{3*time.Minute + 4*time.Second, "3m 04s"},
		{time.Hour + 12*time.Minute + 59*time.Second, "1h 12m"},
	} {
		if got := FormatElapsed(tc.d); got != tc.want {
			t.Errorf("FormatElapsed(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := FormatDuration(1500 * time.Millisecond); got != "1.5s" {
		t.Errorf("FormatDuration(1.5s) = %q", got)
	}
	if got := FormatDuration(75 * time.Second); got != "1m 15s" {
		t.Errorf("FormatDuration(75s) = %q", got)
	}
}

var (
	approved  = observers.RegistrationState{Phase: observers.RegistrationApproved, WorkerID: "w-1"}
	connected = observers.SessionState{Phase: observers.SessionConnected}
)

func TestTrayModel(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	job := observers.CurrentJob{JobID: "j", Kind: "llm", Model: "m1", StartedAt: now.Add(-64 * time.Second)}
	for _, tc := range []struct {
		name    string
		s       Snapshot
		state   TrayState
		tooltip string
		jobRow  string
	}{
		{"taking", Snapshot{Registration: approved, Session: connected, Enabled: true}, TrayTaking, "studio-worker — taking jobs", ""},
		{"running", Snapshot{Registration: approved, Session: connected, Enabled: true, Job: job, HasJob: true}, TrayRunning, "studio-worker — running a job", "llm · m1 · 1m 04s"},
		{"running wins over disabled", Snapshot{Registration: approved, Session: connected, Enabled: false, Job: job, HasJob: true}, TrayRunning, "studio-worker — running a job", "llm · m1 · 1m 04s"},
		{"disabled", Snapshot{Registration: approved, Session: connected}, TrayDisabled, "studio-worker — not taking jobs", ""},
		{"initialising", Snapshot{Registration: observers.RegistrationState{Phase: observers.RegistrationInitialising}, Enabled: true}, TrayWaiting, "studio-worker — registering", ""},
		{"pending", Snapshot{Registration: observers.RegistrationState{Phase: observers.RegistrationPending, RequestID: "r"}, Session: observers.SessionState{Phase: observers.SessionWaitingForApproval}, Enabled: true}, TrayWaiting, "studio-worker — waiting for approval", ""},
		{"connecting", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionConnecting}, Enabled: true}, TrayDisconnected, "studio-worker — connecting", ""},
		{"reconnecting", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionReconnecting, Attempt: 3}, Enabled: true}, TrayDisconnected, "studio-worker — reconnecting (attempt 3)", ""},
		{"clean stop", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionStopped}, Enabled: true}, TrayDisconnected, "studio-worker — stopped", ""},
		{"rejected", Snapshot{Registration: observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: "no"}, Enabled: true}, TrayError, "studio-worker — registration rejected", ""},
		{"auth failed", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionAuthFailed, Reason: "bad token"}, Enabled: true}, TrayError, "studio-worker — stopped: auth failed", ""},
		{"fatal while disabled", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionFatal, Reason: "duplicate_worker"}}, TrayError, "studio-worker — stopped on an error", ""},
		{"stopped with reason", Snapshot{Registration: approved, Session: observers.SessionState{Phase: observers.SessionStopped, Reason: "x"}, Enabled: true}, TrayError, "studio-worker — stopped on an error", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := TrayModelOf(tc.s, now)
			if m.State != tc.state || m.Tooltip != tc.tooltip || m.JobRow != tc.jobRow {
				t.Errorf("got state %v tooltip %q job %q; want %v %q %q", m.State, m.Tooltip, m.JobRow, tc.state, tc.tooltip, tc.jobRow)
			}
			if m.TakeJobs != tc.s.Enabled {
				t.Errorf("TakeJobs = %t, want %t", m.TakeJobs, tc.s.Enabled)
			}
			if !strings.HasPrefix(m.StatusRow, "Status: ") {
				t.Errorf("StatusRow = %q", m.StatusRow)
			}
		})
	}
}

func TestStatusTexts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{RegistrationText(observers.RegistrationState{Phase: observers.RegistrationInitialising}, "https://s.example", now), "Asking https://s.example for a registration slot…"},
		{RegistrationText(observers.RegistrationState{Phase: observers.RegistrationPending, RequestID: "req-9", Since: now.Add(-75 * time.Second)}, "", now), "Waiting for approval · request req-9 · asked 1m 15s ago"},
		{RegistrationText(observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: "unknown machine"}, "", now), "Registration rejected: unknown machine — Reset registration asks the studio again"},
		{RegistrationText(approved, "", now), "Registered as w-1"},
		{SessionText(observers.SessionState{}), "Not started"},
		{SessionText(connected), "Connected"},
		{SessionText(observers.SessionState{Phase: observers.SessionConnecting}), "Connecting…"},
		{SessionText(observers.SessionState{Phase: observers.SessionReconnecting, Attempt: 2, Reason: "read timeout"}), "Reconnecting (attempt 2) · read timeout"},
		{SessionText(observers.SessionState{Phase: observers.SessionAuthFailed, Reason: "close 4001"}), "Auth failed · close 4001"},
		{SessionText(observers.SessionState{Phase: observers.SessionFatal, Reason: "duplicate_worker"}), "Stopped on an error · duplicate_worker"},
		{HeartbeatText(observers.HeartbeatStatus{}, false, now), "never"},
		{HeartbeatText(observers.HeartbeatStatus{Outcome: observers.HeartbeatOK, LastAttemptAt: now.Add(-5 * time.Second)}, true, now), "ok · 5s ago"},
		{HeartbeatText(observers.HeartbeatStatus{Outcome: observers.HeartbeatErr, Reason: "broken pipe", LastAttemptAt: now.Add(-12 * time.Second)}, true, now), "error · broken pipe · 12s ago"},
		{VRAMText(24, 12), "24.0 GB total · jobs up to 12.0 GB"},
		{VRAMText(0, 8), "unknown total · jobs up to 8.0 GB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestRecentJobText(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	title, detail := RecentJobText(observers.RecentJob{Kind: "image", Model: "sd", Outcome: observers.OutcomeFailed, Reason: "engine crashed", StartedAt: at.Add(-2 * time.Second), FinishedAt: at})
	if title != "✗ failed · image · sd" || detail != "took 2.0s · finished 03:04:05 · engine crashed" {
		t.Errorf("got %q / %q", title, detail)
	}
	title, _ = RecentJobText(observers.RecentJob{Kind: "llm", Model: "m", Outcome: observers.OutcomeCompleted})
	if title != "✓ completed · llm · m" {
		t.Errorf("got %q", title)
	}
}

func TestLogFilter(t *testing.T) {
	t.Parallel()
	lines := []observers.LogLine{
		{Seq: 1, Level: slog.LevelInfo, Category: "session", Message: "connected"},
		{Seq: 2, Level: slog.LevelWarn, Category: "config", Message: "threshold above VRAM"},
		{Seq: 3, Level: slog.LevelError, Category: "job", Message: "engine failed", JobID: "job-42"},
		{Seq: 4, Level: slog.LevelDebug, Category: "session", Message: "frame"},
	}
	seqs := func(ls []observers.LogLine) []uint64 {
		var out []uint64
		for _, l := range ls {
			out = append(out, l.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		level LevelFilter
		text  string
		want  []uint64
	}{
		{LevelAll, "", []uint64{1, 2, 3, 4}},
		{LevelInfo, "", []uint64{1, 2, 3}},
		{LevelWarn, "", []uint64{2, 3}},
		{LevelError, "", []uint64{3}},
		{LevelAll, "SESSION", []uint64{1, 4}},
		{LevelAll, "job-42", []uint64{3}},
		{LevelAll, "  vram ", []uint64{2}},
		{LevelWarn, "connected", nil},
	} {
		got := seqs(FilterLogs(lines, NewLogMatcher(tc.level, tc.text)))
		if len(got) != len(tc.want) {
			t.Errorf("%s %q: got %v, want %v", tc.level, tc.text, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s %q: got %v, want %v", tc.level, tc.text, got, tc.want)
				break
			}
		}
	}
	l := observers.LogLine{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local), Level: slog.LevelWarn, Category: "job", Message: "slow", JobID: "j1"}
	if got := LogText(l); got != "03:04:05 WARN  job: slow [job j1]" {
		t.Errorf("LogText = %q", got)
	}
}

func TestDraft(t *testing.T) {
	t.Parallel()
	base := config.Default()
	base.ModelsRoot = "/models"
	d0 := DraftOf(base)

	// Only edited fields are written: the file's other values survive.
	file := base
	file.AutoUpdateFeed = "https://other.example/feed" // changed by another process
	d := d0
	d.VRAMThresholdGb = " 7.5 "
	d.NotifyJobFailed = true
	if err := d.ApplyChanges(d0, &file); err != nil {
		t.Fatal(err)
	}
	if file.VRAMThresholdGb != 7.5 || !file.NotifyJobFailed || file.AutoUpdateFeed != "https://other.example/feed" {
		t.Errorf("ApplyChanges gave %+v", file)
	}

	for _, tc := range []struct {
		name  string
		edit  func(*Draft)
		field string
	}{
		{"ok", func(*Draft) {}, ""},
		{"threshold not a number", func(d *Draft) { d.VRAMThresholdGb = "lots" }, config.KeyVRAMThresholdGb},
		{"threshold negative", func(d *Draft) { d.VRAMThresholdGb = "-1" }, config.KeyVRAMThresholdGb},
		{"url", func(d *Draft) { d.APIBaseURL = "ftp://x" }, config.KeyAPIBaseURL},
		{"interval text", func(d *Draft) { d.AutoUpdateIntervalSecs = "soon" }, config.KeyAutoUpdateIntervalSecs},
		{"interval small", func(d *Draft) { d.AutoUpdateIntervalSecs = "5" }, config.KeyAutoUpdateIntervalSecs},
		{"feed", func(d *Draft) { d.AutoUpdateFeed = "nope" }, config.KeyAutoUpdateFeed},
		{"models", func(d *Draft) { d.ModelsRoot = " " }, config.KeyModelsRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := d0
			tc.edit(&d)
			err := d.Check(d0, base)
			var fe *config.FieldError
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Check = %v, want a FieldError on %s", err, tc.field)
			}
			if msg := SaveErrorText(err); !strings.Contains(msg, tc.field) || !strings.HasPrefix(msg, "Not saved: ") {
				t.Errorf("SaveErrorText = %q", msg)
			}
		})
	}
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	job := func(id string, s int) observers.RecentJob {
		return observers.RecentJob{JobID: id, Kind: "llm", Model: "m", Outcome: observers.OutcomeCompleted, FinishedAt: at.Add(time.Duration(s) * time.Second)}
	}
	var n notifier
	n.seed([]observers.RecentJob{job("a", 1)})
	if got := n.fresh([]observers.RecentJob{job("a", 1)}); len(got) != 0 {
		t.Fatalf("unchanged ring gave %v", got)
	}
	// Newest first in, oldest first out; the same id finishing again is new.
	got := n.fresh([]observers.RecentJob{job("a", 9), job("c", 3), job("b", 2), job("a", 1)})
	if len(got) != 3 || got[0].JobID != "b" || got[1].JobID != "c" || got[2].JobID != "a" {
		t.Fatalf("fresh = %v", got)
	}
	// The last seen job was evicted: everything in the ring is new.
	got = n.fresh([]observers.RecentJob{job("e", 11), job("d", 10)})
	if len(got) != 2 || got[0].JobID != "d" {
		t.Fatalf("after eviction fresh = %v", got)
	}

	failed := observers.RecentJob{Kind: "image", Model: "sd", Outcome: observers.OutcomeFailed, Reason: "oom"}
	for _, tc := range []struct {
		j          observers.RecentJob
		done, fail bool
		title      string
		body       string
	}{
		{job("x", 1), false, false, "", ""},
		{job("x", 1), true, false, "studio-worker — job completed", "llm · m"},
		{failed, true, false, "", ""},
		{failed, false, true, "studio-worker — job failed", "image · sd — oom"},
	} {
		n := NotificationFor(tc.j, tc.done, tc.fail)
		switch {
		case tc.title == "" && n != nil:
			t.Errorf("%v: got %+v, want none", tc.j.Outcome, n)
		case tc.title != "" && (n == nil || n.Title != tc.title || n.Content != tc.body):
			t.Errorf("%v: got %+v, want %q %q", tc.j.Outcome, n, tc.title, tc.body)
		}
	}
}

// TestIconsDifferInShape proves the states are told apart without colour:
// the alpha masks (the shapes) differ pairwise.
func TestIconsDifferInShape(t *testing.T) {
	t.Parallel()
	masks := map[TrayState]*image.NRGBA{}
	for _, s := range AllTrayStates {
		masks[s] = DrawIcon(s, 32)
	}
	for i, a := range AllTrayStates {
		for _, b := range AllTrayStates[i+1:] {
			diff := 0
			ma, mb := masks[a], masks[b]
			for p := 0; p < len(ma.Pix); p += 4 {
				// shape = opaque-and-white vs coloured vs transparent
				if classify(ma.Pix[p:p+4]) != classify(mb.Pix[p:p+4]) {
					diff++
				}
			}
			if diff < 20 {
				t.Errorf("%v and %v differ in only %d pixels of shape", a, b, diff)
			}
		}
	}
}

func classify(px []uint8) int {
	switch {
	case px[3] < 128:
		return 0
	case px[0] > 240 && px[1] > 240 && px[2] > 240:
		return 1
	}
	return 2
}
