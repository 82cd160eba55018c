package ui

import (
	"testing"
)

// A window kept hidden builds no tabs (their text measuring parses the
// fonts); the first Show builds them on the tab asked for.
func TestHiddenWindowBuiltOnFirstShow(t *testing.T) {
	f := newFixture(t, true)
	f.ui.SelectTab(TabLogs)
	f.connect()
	f.ui.refreshAll()
	if f.ui.tabs != nil || f.ui.status != nil {
		t.Fatal("a hidden window built its tabs")
	}
	if m, _ := f.tray.current(); m == nil {
		t.Fatal("no tray while the window is hidden")
	}
	f.ui.opts.Worker = &fakeWorker{}
	f.ui.resetRegistration() // a result for a window never built is dropped
	f.ui.async.Wait()
	f.ui.Show()
	if f.ui.tabs == nil || f.ui.tabs.SelectedIndex() != 2 {
		t.Fatalf("tabs %v not built on the Logs tab", f.ui.tabs)
	}
	if f.ui.status.registration.Text != "Registered as w-7" {
		t.Errorf("status not refreshed on first show: %q", f.ui.status.registration.Text)
	}
}

// park holds the loop while the window is hidden and lets it go when the
// window is to be shown or the app quits. (The test driver runs fyne.Do
// inline, so park runs on a goroutine of the test here.)
func TestParkReleasedByShowAndQuit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release func(u *UI)
		visible bool
	}{
		{"show", func(u *UI) { u.onMain(u.Show) }, true},
		{"quit", func(u *UI) { u.quitting.Store(true); u.unpark() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.ui.opts.Park = true
			if !f.ui.shouldPark() {
				t.Fatal("a hidden window with Park set does not park")
			}
			parked := make(chan struct{})
			go func() {
				defer close(parked)
				f.ui.schedulePark()
			}()
			tc.release(f.ui)
			<-parked
			if f.ui.parkQueued.Load() {
				t.Error("park still queued after it was let go")
			}
			if f.ui.Visible() != tc.visible || f.ui.shouldPark() {
				t.Errorf("visible %t, shouldPark %t after release", f.ui.Visible(), f.ui.shouldPark())
			}
		})
	}
}

func TestNoParkWhileVisibleOrWithoutOption(t *testing.T) {
	f := newFixture(t, false)
	f.ui.opts.Park = true
	f.ui.schedulePark() // would block this test if it parked
	if f.ui.parkQueued.Load() {
		t.Fatal("park queued while the window is shown")
	}
	g := newFixture(t, true)
	g.ui.schedulePark()
	if g.ui.parkQueued.Load() {
		t.Fatal("park queued without Options.Park")
	}
}
