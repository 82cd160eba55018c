package ui

import "fyne.io/fyne/v2"

// Parking the Fyne loop while the window is hidden.
//
// Fyne's desktop driver wakes 60 times a second for as long as the app runs,
// visible window or not (poll the display, walk the windows, clean caches).
// On an idle worker that loop is nearly all the UI costs: each wake hands
// the locked main thread its turn and back, about seven context switches.
// With Options.Park the UI queues park on the loop whenever the window is
// hidden; park blocks the loop until something needs it (Show, Quit, a call
// queued through onMain), so a hidden window costs no wake-ups at all. The
// loop's ticker does not fire while nobody receives from it (Go 1.23 timer
// channels), so nothing piles up.
//
// Everything a hidden window must keep doing therefore happens off the loop:
// the tray is updated from the watcher goroutine (Options.Tray must be
// goroutine-safe and not route its clicks through the Fyne loop), and work
// that needs the Fyne goroutine goes through onMain, which wakes the loop.

// shouldPark reports whether the loop may be held now.
func (u *UI) shouldPark() bool {
	return u.opts.Park && !u.visible.Load() && !u.quitting.Load()
}

// schedulePark queues park on the Fyne loop unless one is queued already.
// Any goroutine; it must not be the Fyne goroutine before app.Run (fyne.Do
// would run park there and then).
func (u *UI) schedulePark() {
	if u.shouldPark() && u.parkQueued.CompareAndSwap(false, true) {
		fyne.Do(u.park)
	}
}

// park holds the Fyne goroutine until unpark. What woke it was queued before
// the wake, so park queues itself again behind it instead of looping here.
func (u *UI) park() {
	if u.shouldPark() {
		<-u.unparkCh
	}
	if u.shouldPark() {
		fyne.Do(u.park)
		return
	}
	u.parkQueued.Store(false)
}

// unpark releases a held loop (or the next park, if none is held yet).
func (u *UI) unpark() {
	select {
	case u.unparkCh <- struct{}{}:
	default:
	}
}

// onMain runs fn on the Fyne goroutine, waking a parked loop for it. Any
// goroutine.
func (u *UI) onMain(fn func()) {
	fyne.Do(fn)
	u.unpark()
}
