package ui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/minis-gg/studio-worker/observers"
)

func TestUpdateCheckText(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 0, 0, time.Local)
	for _, tc := range []struct {
		c    observers.UpdateCheck
		want string
	}{
		{observers.UpdateCheck{Outcome: observers.UpdateDisabled}, "auto-update is off"},
		{observers.UpdateCheck{Outcome: observers.UpdateSkippedBusy, Detail: "worker is busy on a job"}, "skipped: a job was running · worker is busy on a job"},
		{observers.UpdateCheck{Outcome: observers.UpdateUpToDate, Current: "1.2.3", Latest: "1.2.3"}, "up to date at 1.2.3"},
		{observers.UpdateCheck{Outcome: observers.UpdateUpToDate, Current: "1.2.3", Latest: "1.3.0", Detail: "checked on request"}, "update available: 1.2.3 → 1.3.0"},
		{observers.UpdateCheck{Outcome: observers.UpdateCheckFailed, Detail: "feed answered 503"}, "check failed · feed answered 503"},
		{observers.UpdateCheck{Outcome: observers.UpdateUpdated, Current: "1.2.3", Latest: "1.3.0"}, "updated 1.2.3 → 1.3.0; restarting"},
		{observers.UpdateCheck{Outcome: observers.UpdateUpdateFailed, Detail: "checksum mismatch"}, "update failed; the running version stays · checksum mismatch"},
	} {
		tc.c.At = at
		want := "2026-03-04 05:06 · " + tc.want
		if got := UpdateCheckText(tc.c); got != want {
			t.Errorf("UpdateCheckText(%s) = %q, want %q", tc.c.Outcome, got, want)
		}
	}
}

// TestCheckForUpdates: the About button and the tray item both ask through
// the one CheckForUpdates function, and About shows the answer and the log
// of the updater's decisions.
func TestCheckForUpdates(t *testing.T) {
	var calls atomic.Int32
	answer, answerErr := "update available: 1.2.3 -> 1.3.0", error(nil)
	f := newFixture(t, false, func(o *Options) {
		o.CheckForUpdates = func(ctx context.Context) (string, error) {
			calls.Add(1)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("a manual check has no deadline")
			}
			return answer, answerErr
		}
	})
	f.connect()
	f.ui.refreshAll()
	m, _ := f.tray.current()
	item(t, m, MenuCheckUpdates)

	f.ui.SelectTab(TabAbout)
	about := f.ui.about
	if about.check == nil || findButton(about.root, MenuCheckUpdates) == nil {
		t.Fatal("About has no Check for updates button")
	}
	test.Tap(about.check)
	f.ui.async.Wait()
	if calls.Load() != 1 || !about.result.Visible() || about.result.Text != answer {
		t.Fatalf("after the button: %d calls, result %q (visible %t)", calls.Load(), about.result.Text, about.result.Visible())
	}
	if about.check.Disabled() {
		t.Error("the button stays disabled after the answer")
	}

	answer, answerErr = "", errors.New("feed answered 503")
	f.ui.Hide()
	item(t, m, MenuCheckUpdates).Action()
	f.ui.async.Wait()
	if calls.Load() != 2 {
		t.Fatalf("the tray item did not check (%d calls)", calls.Load())
	}
	if !f.ui.Visible() || f.ui.tabs.SelectedIndex() != 4 {
		t.Errorf("the tray's check did not open the window on About (visible %t, tab %d)", f.ui.Visible(), f.ui.tabs.SelectedIndex())
	}
	if about.result.Text != "Could not check for updates: feed answered 503" {
		t.Errorf("result after a failed check = %q", about.result.Text)
	}

	if !strings.Contains(about.log.Text, "No update checks yet") {
		t.Errorf("empty log says %q", about.log.Text)
	}
	f.rt.Observers.RecordUpdateCheck(observers.UpdateCheck{At: f.now, Outcome: observers.UpdateSkippedBusy, Detail: "worker is busy on a job"})
	f.rt.Observers.RecordUpdateCheck(observers.UpdateCheck{At: f.now, Outcome: observers.UpdateUpToDate, Current: "1.2.3", Latest: "1.2.3"})
	f.ui.refreshAll()
	lines := strings.Split(about.log.Text, "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "up to date at 1.2.3") || !strings.Contains(lines[1], "skipped") {
		t.Errorf("update log = %q, want newest first", about.log.Text)
	}
}
