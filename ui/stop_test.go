package ui

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
)

// fakeWorker records what the window asked of the runtime.
type fakeWorker struct {
	mu       sync.Mutex
	resets   int
	retries  int
	resetErr error
}

func (w *fakeWorker) SetEnabled(bool) error { return nil }

func (w *fakeWorker) ResetRegistration() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resets++
	return w.resetErr
}

func (w *fakeWorker) Retry() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retries++
}

func (w *fakeWorker) counts() (resets, retries int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.resets, w.retries
}

func TestStopActionOf(t *testing.T) {
	t.Parallel()
	reg := func(p observers.RegistrationPhase) observers.RegistrationState {
		return observers.RegistrationState{Phase: p}
	}
	ses := func(p observers.SessionPhase, reason string) observers.SessionState {
		return observers.SessionState{Phase: p, Reason: reason}
	}
	for _, tc := range []struct {
		name string
		s    Snapshot
		want StopAction
		row  string
	}{
		{"connected", Snapshot{Registration: reg(observers.RegistrationApproved), Session: ses(observers.SessionConnected, "")}, StopActionNone, ""},
		{"reconnecting", Snapshot{Registration: reg(observers.RegistrationApproved), Session: ses(observers.SessionReconnecting, "eof")}, StopActionNone, ""},
		{"pending", Snapshot{Registration: reg(observers.RegistrationPending), Session: ses(observers.SessionWaitingForApproval, "")}, StopActionNone, ""},
		{"clean stop", Snapshot{Registration: reg(observers.RegistrationApproved), Session: ses(observers.SessionStopped, "")}, StopActionNone, ""},
		{"rejected", Snapshot{Registration: observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: "unknown machine"}, Session: ses(observers.SessionStopped, "registration rejected: unknown machine")}, StopActionReset, "Rejected: unknown machine"},
		{"auth failed", Snapshot{Registration: reg(observers.RegistrationApproved), Session: ses(observers.SessionAuthFailed, "token revoked")}, StopActionReset, "Reason: token revoked"},
		{"fatal", Snapshot{Registration: reg(observers.RegistrationApproved), Session: ses(observers.SessionFatal, "protocol version 9 unsupported")}, StopActionRetry, "Reason: protocol version 9 unsupported"},
		{"stopped on an error", Snapshot{Registration: reg(observers.RegistrationInitialising), Session: ses(observers.SessionStopped, "save settings: disk full")}, StopActionRetry, "Reason: save settings: disk full"},
		{"long reason clipped", Snapshot{Session: ses(observers.SessionFatal, strings.Repeat("x", 200))}, StopActionRetry, "Reason: " + strings.Repeat("x", stopRowMax-len("Reason: ")-1) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := StopActionOf(tc.s); got != tc.want {
				t.Errorf("StopActionOf = %v, want %v", got, tc.want)
			}
			if got := TrayModelOf(tc.s, time.Time{}).StopRow; got != tc.row {
				t.Errorf("StopRow = %q, want %q", got, tc.row)
			}
		})
	}
	if got := ResetResultText(errors.New("disk full")); got != "Could not reset the registration: disk full" {
		t.Errorf("ResetResultText(err) = %q", got)
	}
	if got := ResetResultText(nil); got != "Registration reset: asking the studio for approval again." {
		t.Errorf("ResetResultText(nil) = %q", got)
	}
}

func newStopFixture(t *testing.T, w *fakeWorker) *fixture {
	t.Helper()
	f := newFixture(t, false)
	f.ui.opts.Worker = w
	return f
}

// findButton looks for a button with the given text in a rendered tree.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == text && v.Visible() {
			return v
		}
		return nil
	case *fyne.Container:
		for _, c := range v.Objects {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

func TestStatusTabResetRegistration(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reg      observers.RegistrationState
		session  observers.SessionState
		resetErr error
		want     string
	}{
		{"rejected", observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: "unknown machine"},
			observers.SessionState{Phase: observers.SessionStopped, Reason: "rejected"}, nil,
			"Registration reset: asking the studio for approval again."},
		{"auth failed, save fails", observers.RegistrationState{Phase: observers.RegistrationApproved, WorkerID: "w-7"},
			observers.SessionState{Phase: observers.SessionAuthFailed, Reason: "token revoked"}, errors.New("reset registration: disk full"),
			"Could not reset the registration: reset registration: disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWorker{resetErr: tc.resetErr}
			f := newStopFixture(t, w)
			st := f.ui.status
			f.ui.refreshAll()
			if st.reset.Visible() || st.retry.Visible() {
				t.Fatal("a way-out button shows while the worker runs normally")
			}
			f.rt.Observers.SetRegistration(tc.reg)
			f.rt.Observers.SetSession(tc.session)
			f.ui.refreshAll()
			if !st.reset.Visible() || st.retry.Visible() {
				t.Fatalf("reset visible %t, retry visible %t; want reset only", st.reset.Visible(), st.retry.Visible())
			}
			if !strings.Contains(st.session.Text+st.registration.Text, reasonOf(tc.reg, tc.session)) {
				t.Errorf("the reason is not shown: %q / %q", st.registration.Text, st.session.Text)
			}

			// Cancel in the confirmation does nothing.
			test.Tap(st.reset)
			cancel := findButton(st.confirm.Content, "Cancel")
			if cancel == nil {
				t.Fatal("no confirmation with Cancel")
			}
			test.Tap(cancel)
			f.ui.async.Wait()
			if r, _ := w.counts(); r != 0 || st.confirm != nil {
				t.Fatalf("Cancel reset the registration (%d calls) or left the pop-up", r)
			}

			test.Tap(st.reset)
			if !strings.Contains(findLabels(st.confirm.Content), "forgets this worker's identity") {
				t.Errorf("the confirmation does not say what a reset does: %q", findLabels(st.confirm.Content))
			}
			test.Tap(findButton(st.confirm.Content, ResetButton))
			f.ui.async.Wait()
			if r, n := w.counts(); r != 1 || n != 0 {
				t.Fatalf("ResetRegistration called %d times, Retry %d; want 1, 0", r, n)
			}
			if !st.resultLine.Visible() || st.resultLine.Text != tc.want {
				t.Errorf("result line = %q (visible %t), want %q", st.resultLine.Text, st.resultLine.Visible(), tc.want)
			}
			wantImp := widget.MediumImportance
			if tc.resetErr != nil {
				wantImp = widget.DangerImportance
			}
			if st.resultLine.Importance != wantImp {
				t.Errorf("result importance = %v, want %v", st.resultLine.Importance, wantImp)
			}

			// Once the runtime asks again, the button goes away.
			f.rt.Observers.SetRegistration(observers.RegistrationState{Phase: observers.RegistrationInitialising})
			f.rt.Observers.SetSession(observers.SessionState{Phase: observers.SessionWaitingForApproval})
			f.ui.refreshAll()
			if st.reset.Visible() {
				t.Error("Reset registration still shown while registering again")
			}
		})
	}
}

func reasonOf(r observers.RegistrationState, s observers.SessionState) string {
	if r.Reason != "" {
		return r.Reason
	}
	return s.Reason
}

func findLabels(o fyne.CanvasObject) string {
	var b strings.Builder
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Label:
			b.WriteString(v.Text + "\n")
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return b.String()
}

func TestStatusTabRetry(t *testing.T) {
	w := &fakeWorker{}
	f := newStopFixture(t, w)
	st := f.ui.status
	f.connect()
	f.rt.Observers.SetSession(observers.SessionState{Phase: observers.SessionFatal, Reason: "protocol version 9 unsupported"})
	f.ui.refreshAll()
	if !st.retry.Visible() || st.reset.Visible() {
		t.Fatalf("retry visible %t, reset visible %t; want retry only", st.retry.Visible(), st.reset.Visible())
	}
	if st.session.Text != "Stopped on an error · protocol version 9 unsupported" {
		t.Errorf("session = %q", st.session.Text)
	}
	test.Tap(st.retry)
	f.ui.async.Wait()
	if r, n := w.counts(); r != 0 || n != 1 {
		t.Fatalf("ResetRegistration called %d times, Retry %d; want 0, 1", r, n)
	}
	if st.resultLine.Text != RetryResultText() {
		t.Errorf("result line = %q", st.resultLine.Text)
	}
	m, _ := f.tray.current()
	if got := fmt.Sprint(labels(m)); !strings.Contains(got, "Reason: protocol version 9 unsupported (disabled)") {
		t.Errorf("tray menu lacks the stop reason: %v", got)
	}
	f.rt.Observers.SetSession(observers.SessionState{Phase: observers.SessionConnecting})
	f.ui.refreshAll()
	if st.retry.Visible() {
		t.Error("Retry still shown while connecting again")
	}
}
