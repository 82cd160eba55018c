package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
)

// trayRecorder stands in for the desktop tray (the test driver has none)
// and hands every menu it receives to the test.
type trayRecorder struct {
	mu    sync.Mutex
	menu  *fyne.Menu
	icon  fyne.Resource
	menus chan *fyne.Menu
}

func newTrayRecorder() *trayRecorder { return &trayRecorder{menus: make(chan *fyne.Menu, 100)} }

func (r *trayRecorder) SetSystemTrayMenu(m *fyne.Menu) {
	r.mu.Lock()
	r.menu = m
	r.mu.Unlock()
	select {
	case r.menus <- m:
	default:
	}
}

func (r *trayRecorder) SetSystemTrayIcon(i fyne.Resource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.icon = i
}

func (r *trayRecorder) current() (*fyne.Menu, fyne.Resource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.menu, r.icon
}

func labels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		if it.IsSeparator {
			out = append(out, "---")
			continue
		}
		l := it.Label
		if it.Checked {
			l += " [x]"
		}
		if it.Disabled {
			l += " (disabled)"
		}
		out = append(out, l)
	}
	return out
}

func item(t *testing.T, m *fyne.Menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("menu %v has no %q", labels(m), label)
	return nil
}

type fixture struct {
	app  fyne.App
	rt   *worker.Runtime
	ui   *UI
	tray *trayRecorder
	now  time.Time
}

func newFixture(t *testing.T, hidden bool, edit ...func(*Options)) *fixture {
	t.Helper()
	a := test.NewTempApp(t)
	rt, err := worker.New(worker.Options{
		ConfigPath: filepath.Join(t.TempDir(), "config.toml"),
		Host:       &worker.Host{VRAMTotalGb: 24},
		Stderr:     io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{app: a, rt: rt, tray: newTrayRecorder(), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := Options{
		Observers: rt.Observers, Store: rt.Store, Worker: rt, Version: "1.2.3",
		Hidden: hidden, Tray: f.tray, Now: func() time.Time { return f.now },
		Tick: time.Millisecond, LogThrottle: time.Millisecond,
	}
	for _, e := range edit {
		e(&opts)
	}
	f.ui = New(a, opts)
	t.Cleanup(f.ui.Stop)
	return f
}

func (f *fixture) connect() {
	o := f.rt.Observers
	o.SetRegistration(observers.RegistrationState{Phase: observers.RegistrationApproved, WorkerID: "w-7"})
	o.SetSession(observers.SessionState{Phase: observers.SessionConnected})
}

func TestTrayMenuFollowsState(t *testing.T) {
	f := newFixture(t, true)
	f.connect()
	f.ui.refreshAll()
	m, icon := f.tray.current()
	want := []string{"Status: taking jobs (disabled)", "---", MenuOpenWindow, MenuTakeJobs + " [x]", "---", MenuQuit}
	if got := labels(m); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("menu = %v, want %v", got, want)
	}
	if icon != trayIcons[TrayTaking] {
		t.Errorf("icon = %v, want taking", icon.Name())
	}

	f.rt.Observers.SetCurrentJob(observers.CurrentJob{JobID: "j", Kind: "llm", Model: "tiny", StartedAt: f.now.Add(-12 * time.Second)})
	f.ui.refreshAll()
	m, icon = f.tray.current()
	item(t, m, "llm · tiny · 12s")
	if icon != trayIcons[TrayRunning] {
		t.Errorf("icon = %v, want running", icon.Name())
	}

	// Toggling writes `enabled` through the settings and applies it at once.
	item(t, m, MenuTakeJobs).Action()
	f.ui.async.Wait()
	if f.rt.Store.Settings().Enabled || f.rt.Observers.Enabled() {
		t.Fatal("Take new jobs did not turn job taking off")
	}
	reopened, err := config.Open(f.rt.Store.Path(), config.Options{})
	if err != nil || reopened.Settings().Enabled {
		t.Fatalf("enabled not saved in the file (err %v)", err)
	}
	f.rt.Observers.ClearCurrentJob()
	f.ui.refreshAll()
	m, icon = f.tray.current()
	if got := labels(m); got[0] != "Status: not taking jobs (disabled)" || got[3] != MenuTakeJobs {
		t.Errorf("menu after disabling = %v", got)
	}
	if icon != trayIcons[TrayDisabled] {
		t.Errorf("icon = %v, want disabled", icon.Name())
	}
}

func TestTrayRebuiltOnlyOnChange(t *testing.T) {
	f := newFixture(t, true)
	f.connect()
	f.ui.refreshAll()
	for len(f.tray.menus) > 0 {
		<-f.tray.menus
	}
	f.rt.Observers.SetHeartbeat(observers.HeartbeatStatus{Outcome: observers.HeartbeatOK, LastAttemptAt: f.now})
	f.ui.refreshAll()
	if n := len(f.tray.menus); n != 0 {
		t.Errorf("a heartbeat rebuilt the tray menu %d times", n)
	}
}

func TestOpenWindowAndCloseHides(t *testing.T) {
	f := newFixture(t, true)
	if f.ui.Visible() {
		t.Fatal("start_minimised window is visible")
	}
	m, _ := f.tray.current()
	item(t, m, MenuOpenWindow).Action()
	if !f.ui.Visible() {
		t.Fatal("Open window did not show it")
	}
	// The close button runs the intercept, which hides (the test driver's
	// Close bypasses intercepts, so call what the intercept calls).
	f.ui.Hide()
	if f.ui.Visible() {
		t.Fatal("closing did not hide the window")
	}
}

func TestStatusTab(t *testing.T) {
	f := newFixture(t, false)
	o := f.rt.Observers
	o.SetRegistration(observers.RegistrationState{Phase: observers.RegistrationPending, RequestID: "req-123", Since: f.now.Add(-5 * time.Second)})
	o.SetSession(observers.SessionState{Phase: observers.SessionWaitingForApproval})
	f.ui.refreshAll()
	st := f.ui.status
	if st.registration.Text != "Waiting for approval · request req-123 · asked 5s ago" {
		t.Errorf("registration = %q", st.registration.Text)
	}
	if !st.copyID.Visible() {
		t.Fatal("Copy request id hidden while pending")
	}
	test.Tap(st.copyID)
	if got := f.app.Clipboard().Content(); got != "req-123" {
		t.Errorf("clipboard = %q", got)
	}
	if st.heartbeat.Text != "never" || st.headline.Text != "Waiting for approval" {
		t.Errorf("heartbeat %q headline %q", st.heartbeat.Text, st.headline.Text)
	}

	f.connect()
	o.SetHeartbeat(observers.HeartbeatStatus{Outcome: observers.HeartbeatErr, Reason: "timeout", LastAttemptAt: f.now.Add(-12 * time.Second)})
	f.ui.refreshAll()
	if st.copyID.Visible() || st.registration.Text != "Registered as w-7" || st.session.Text != "Connected" {
		t.Errorf("after approval: copy %t reg %q session %q", st.copyID.Visible(), st.registration.Text, st.session.Text)
	}
	if st.heartbeat.Text != "error · timeout · 12s ago" {
		t.Errorf("heartbeat = %q", st.heartbeat.Text)
	}
	if st.vram.Text != VRAMText(24, f.rt.Store.Settings().VRAMThresholdGb) || st.apiURL.Text != f.rt.Store.Settings().APIBaseURL {
		t.Errorf("vram %q api %q", st.vram.Text, st.apiURL.Text)
	}
	if !st.take.Checked {
		t.Fatal("take-jobs switch off while enabled")
	}
	test.Tap(st.take)
	f.ui.async.Wait()
	if f.rt.Store.Settings().Enabled {
		t.Fatal("the switch did not turn job taking off")
	}
	// A change made elsewhere moves the switch without writing again.
	if err := f.rt.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	f.ui.refreshAll()
	f.ui.async.Wait()
	if !st.take.Checked || !f.rt.Store.Settings().Enabled {
		t.Error("switch did not follow enabled=true")
	}
}

func TestJobsTab(t *testing.T) {
	f := newFixture(t, false)
	o := f.rt.Observers
	f.ui.refreshAll()
	if f.ui.jobs.nowTitle.Text != "No job running" {
		t.Errorf("idle title = %q", f.ui.jobs.nowTitle.Text)
	}
	o.SetCurrentJob(observers.CurrentJob{JobID: "j2", Kind: "image", Model: "sdxl", Prompt: "a cat", StartedAt: f.now.Add(-184 * time.Second)})
	o.RecordRecentJob(observers.RecentJob{JobID: "j0", Kind: "llm", Model: "m", Outcome: observers.OutcomeCompleted, FinishedAt: f.now.Add(-time.Minute)})
	o.RecordRecentJob(observers.RecentJob{JobID: "j1", Kind: "llm", Model: "m", Outcome: observers.OutcomeFailed, Reason: "boom", FinishedAt: f.now})
	f.ui.refreshAll()
	j := f.ui.jobs
	if j.nowTitle.Text != "image · sdxl" || j.nowPrompt.Text != "a cat" || j.nowElapsed.Text != "running for 3m 04s" {
		t.Errorf("now running: %q %q %q", j.nowTitle.Text, j.nowPrompt.Text, j.nowElapsed.Text)
	}
	if j.list.Length() != 2 || j.recent[0].JobID != "j1" {
		t.Fatalf("recent = %v", j.recent)
	}
	if j.recentHead.Text != "Recent jobs (2, newest first)" {
		t.Errorf("head = %q", j.recentHead.Text)
	}
	f.now = f.now.Add(time.Hour)
	f.ui.refreshAll()
	if j.nowElapsed.Text != "running for 1h 03m" {
		t.Errorf("elapsed did not tick: %q", j.nowElapsed.Text)
	}
}

func TestLogsTab(t *testing.T) {
	f := newFixture(t, false)
	o := f.rt.Observers
	base := len(o.Logs()) // the settings store may already have logged
	for i := range observers.LogRingCap + 200 {
		lvl := slog.LevelInfo
		if i%10 == 0 {
			lvl = slog.LevelWarn
		}
		o.AppendLog(observers.LogLine{Level: lvl, Category: "test", Message: fmt.Sprintf("line %d", i), JobID: fmt.Sprintf("job-%d", i%7)})
	}
	_ = base
	l := f.ui.logs
	l.pull()
	if len(l.lines) != observers.LogRingCap || l.list.Length() != observers.LogRingCap {
		t.Fatalf("lines %d shown %d, want %d", len(l.lines), l.list.Length(), observers.LogRingCap)
	}
	if last := l.lines[len(l.lines)-1].Message; last != fmt.Sprintf("line %d", observers.LogRingCap+199) {
		t.Errorf("newest line = %q", last)
	}
	l.level.SetSelected(string(LevelWarn))
	if l.list.Length() != observers.LogRingCap/10 {
		t.Errorf("warn filter shows %d lines", l.list.Length())
	}
	test.Type(l.search, "job-3")
	for _, line := range l.shown {
		if line.JobID != "job-3" || line.Level < slog.LevelWarn {
			t.Fatalf("filtered line %+v", line)
		}
	}
	test.Tap(l.copyAll)
	clip := f.app.Clipboard().Content()
	if strings.Count(clip, "\n") != len(l.shown) || !strings.Contains(clip, "[job job-3]") {
		t.Errorf("clipboard has %d lines, want %d", strings.Count(clip, "\n"), len(l.shown))
	}
	// New lines arrive incrementally and pass through the filter.
	o.AppendLog(observers.LogLine{Level: slog.LevelError, Category: "test", Message: "late", JobID: "job-3"})
	before := len(l.shown)
	l.pull()
	if len(l.shown) != before+1 || l.shown[len(l.shown)-1].Message != "late" {
		t.Errorf("incremental pull: %d → %d", before, len(l.shown))
	}
}

func TestSettingsTab(t *testing.T) {
	f := newFixture(t, false)
	s := f.ui.settings
	if s.state.Text != SettingsClean || !s.save.Disabled() {
		t.Fatalf("fresh form: %q save disabled %t", s.state.Text, s.save.Disabled())
	}
	s.apiURL.SetText("not a url")
	if !strings.Contains(s.state.Text, SettingsDirty) || !strings.Contains(s.state.Text, "api_base_url") {
		t.Errorf("invalid draft state = %q", s.state.Text)
	}
	test.Tap(s.save)
	if !strings.HasPrefix(s.state.Text, "Not saved: Studio API base URL (api_base_url)") {
		t.Errorf("save of invalid = %q", s.state.Text)
	}
	test.Tap(s.reset)
	if s.Dirty() || s.apiURL.Text != f.rt.Store.Settings().APIBaseURL {
		t.Fatal("Reset kept the edit")
	}

	var saved []config.Settings
	f.ui.opts.OnSaved = func(c config.Settings) { saved = append(saved, c) }
	s.apiURL.SetText("https://studio.example.test")
	s.threshold.SetText("6.5")
	test.Tap(s.notifyDone)
	test.Tap(s.autoStart)
	test.Tap(s.save)
	if s.state.Text != SettingsSaved || s.Dirty() {
		t.Fatalf("after save: %q dirty %t", s.state.Text, s.Dirty())
	}
	file, err := config.Open(f.rt.Store.Path(), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := file.Settings()
	if got.APIBaseURL != "https://studio.example.test" || got.VRAMThresholdGb != 6.5 || !got.NotifyJobCompleted || got.AutoStart {
		t.Errorf("saved file: %+v", got)
	}
	if len(saved) != 1 || saved[0].AutoStart {
		t.Errorf("OnSaved calls %v", saved)
	}

	// A clean form follows a change made elsewhere; an edited one is kept.
	if _, err := file.Update(func(c *config.Settings) error { c.VRAMThresholdGb = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rt.Store.Reload(); err != nil {
		t.Fatal(err)
	}
	f.ui.refreshAll()
	if s.threshold.Text != "3" {
		t.Errorf("clean form did not follow: %q", s.threshold.Text)
	}
	s.threshold.SetText("4")
	if _, err := file.Update(func(c *config.Settings) error { c.VRAMThresholdGb = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rt.Store.Reload(); err != nil {
		t.Fatal(err)
	}
	f.ui.refreshAll()
	if s.threshold.Text != "4" || s.state.Text != SettingsDirty {
		t.Errorf("edited form overwritten: %q %q", s.threshold.Text, s.state.Text)
	}
}

func TestAboutAndTabs(t *testing.T) {
	f := newFixture(t, false)
	f.ui.SelectTab(TabJobs)
	if f.ui.tabs.SelectedIndex() != 1 {
		t.Errorf("SelectTab(jobs) selected %d", f.ui.tabs.SelectedIndex())
	}
	f.ui.SelectTab(TabAbout)
	markup := test.RenderToMarkup(f.ui.Window().Canvas())
	for _, want := range []string{"1.2.3", f.rt.Store.Path()} {
		if !strings.Contains(markup, want) {
			t.Errorf("About lacks %q", want)
		}
	}
	if strings.Contains(markup, "Check for updates") {
		t.Error("About offers Check for updates without an updater (demo)")
	}
}

func TestNotificationsFromRing(t *testing.T) {
	f := newFixture(t, true)
	if _, err := f.rt.Store.Update(func(c *config.Settings) error { c.NotifyJobFailed = true; return nil }); err != nil {
		t.Fatal(err)
	}
	o := f.rt.Observers
	o.RecordRecentJob(observers.RecentJob{JobID: "ok", Kind: "llm", Model: "m", Outcome: observers.OutcomeCompleted, FinishedAt: f.now})
	o.RecordRecentJob(observers.RecentJob{JobID: "bad", Kind: "image", Model: "sd", Outcome: observers.OutcomeFailed, Reason: "oom", FinishedAt: f.now})
	f.ui.notify(f.ui.notifier.fresh(o.RecentJobs()))
	test.AssertNotificationSent(t, fyne.NewNotification("studio-worker — job failed", "image · sd — oom"), func() {
		o.RecordRecentJob(observers.RecentJob{JobID: "bad2", Kind: "image", Model: "sd", Outcome: observers.OutcomeFailed, Reason: "oom", FinishedAt: f.now.Add(time.Second)})
		f.ui.notify(f.ui.notifier.fresh(o.RecentJobs()))
	})
}

// TestWatcherFollowsSignals runs the real watcher goroutines: a change in
// the slots reaches the tray with no call from the test.
func TestWatcherFollowsSignals(t *testing.T) {
	f := newFixture(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.ui.Start(ctx)
	f.connect()
	f.rt.Observers.SetCurrentJob(observers.CurrentJob{JobID: "j", Kind: "tts", Model: "voice", StartedAt: f.now})
	for m := range f.tray.menus {
		if len(m.Items) > 4 && m.Items[4].Label == "tts · voice · 0s" {
			break
		}
	}
	f.ui.Stop()
}
