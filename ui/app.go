package ui

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
)

// Tab names, as accepted by Options.Tab (and STUDIO_WORKER_UI_TAB).
const (
	TabStatus   = "status"
	TabJobs     = "jobs"
	TabLogs     = "logs"
	TabSettings = "settings"
	TabAbout    = "about"
)

// TabNames lists the tabs in window order.
var TabNames = []string{TabStatus, TabJobs, TabLogs, TabSettings, TabAbout}

// Worker is what the window needs from the runtime besides the slots.
type Worker interface {
	SetEnabled(on bool) error
	// ResetRegistration forgets the worker's identity and asks the studio
	// for approval again (the way out of a rejection or an auth failure).
	ResetRegistration() error
	// Retry wakes a worker that stopped on its own to try again.
	Retry()
}

// TrayHost is the part of desktop.App the tray uses; tests record it. The UI
// calls it from its watcher goroutine as well as the Fyne goroutine, so an
// implementation must be goroutine-safe; a menu item's Action may be called
// on any goroutine.
type TrayHost interface {
	SetSystemTrayMenu(menu *fyne.Menu)
	SetSystemTrayIcon(icon fyne.Resource)
}

// Options configure the UI. Observers, Store and Worker are required.
type Options struct {
	Observers *observers.Set
	Store     *config.Store
	Worker    Worker
	Version   string
	Tab       string // tab shown first; "" = status
	Hidden    bool   // start with the window hidden (start_minimised)
	// Tray receives the menu and icon; nil uses the app when it is a
	// desktop.App (tests and the headless test driver have none).
	Tray TrayHost
	// Park holds the Fyne event loop while the window is hidden (see
	// park.go). Only with a Tray that works without the Fyne loop, and
	// never with the test driver (it runs fyne.Do inline).
	Park bool
	// Tooltip sets the tray tooltip and title; nil when the platform code
	// is not available.
	Tooltip func(string)
	// OnSaved runs after the Settings tab saved (autostart is applied there).
	OnSaved func(config.Settings)
	// Raise receives a value when another launch asks for the window.
	Raise <-chan struct{}
	// TrayTapped registers the action of a click on the tray icon (the
	// platform code); nil when not available.
	TrayTapped func(action func())
	// CheckForUpdates asks the update feed (never installs) and returns the
	// answer ("up to date: …" / "update available: … -> …"); nil hides the
	// tray item and the About button (demo).
	CheckForUpdates func(ctx context.Context) (string, error)
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Tick is the refresh period of ticking texts (elapsed, ages); 0 = 1 s.
	Tick time.Duration
	// LogThrottle is the shortest gap between two log list refreshes; 0 = 200 ms.
	LogThrottle time.Duration
}

// UI is the status window and the tray icon of one worker.
type UI struct {
	app  fyne.App
	opts Options
	win  fyne.Window
	tabs *container.AppTabs // nil until the window is first shown
	// pendingTab is the tab to select when the tabs get built.
	pendingTab string
	quitFn     atomic.Pointer[func()] // the tray's Quit; replaced by Run while the tray may click

	visible atomic.Bool
	wake    chan struct{} // nudges the state watcher (visibility changed)

	quitting   atomic.Bool   // Quit or a signal: the loop must run to its end
	parkQueued atomic.Bool   // park is queued on or holding the Fyne loop
	unparkCh   chan struct{} // releases a parked loop

	tray     trayView
	status   *statusTab
	jobs     *jobsTab
	logs     *logsTab
	settings *settingsTab
	about    *aboutTab
	notifier notifier

	// async runs the operator's writes (settings file) off the Fyne goroutine.
	async sync.WaitGroup

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New builds the window and the tray. Call it on the Fyne goroutine (before
// app.Run, or inside fyne.Do). The window is shown unless opts.Hidden.
func New(a fyne.App, opts Options) *UI {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.LogThrottle <= 0 {
		opts.LogThrottle = 200 * time.Millisecond
	}
	if opts.Tray == nil {
		if d, ok := a.(desktop.App); ok {
			opts.Tray = fyneTray{d}
		}
	}
	u := &UI{app: a, opts: opts, wake: make(chan struct{}, 1), unparkCh: make(chan struct{}, 1)}
	u.setQuit(a.Quit)
	u.win = a.NewWindow(AppName)
	u.win.Resize(fyne.NewSize(960, 720))
	u.win.SetIcon(appIcon)

	u.pendingTab = opts.Tab
	// Closing the window hides it; the worker keeps going. Quit is in the tray.
	u.win.SetCloseIntercept(u.Hide)
	if opts.TrayTapped != nil {
		opts.TrayTapped(func() { u.onMain(u.Show) })
	}
	u.notifier.seed(opts.Observers.RecentJobs())
	u.refreshAll()
	if !opts.Hidden {
		u.Show()
	}
	return u
}

// Window is the status window.
func (u *UI) Window() fyne.Window { return u.win }

// buildWindow creates the tabs the first time the window is shown.
// Measuring their text parses the fonts (some 27 MB of heap, most of what
// the UI holds) that a window kept hidden in the tray never needs. Fyne
// goroutine only.
func (u *UI) buildWindow() {
	if u.tabs != nil {
		return
	}
	u.status = newStatusTab(u)
	u.jobs = newJobsTab(u)
	u.logs = newLogsTab(u)
	u.settings = newSettingsTab(u)
	u.about = newAboutTab(u)
	u.tabs = container.NewAppTabs(
		container.NewTabItem("Status", u.status.root),
		container.NewTabItem("Jobs", u.jobs.root),
		container.NewTabItem("Logs", u.logs.root),
		container.NewTabItem("Settings", u.settings.root),
		container.NewTabItem("About", u.about.root),
	)
	u.SelectTab(u.pendingTab)
	u.tabs.OnSelected = func(*container.TabItem) { u.refreshAll() }
	u.win.SetContent(u.tabs)
}

// SelectTab shows the named tab; unknown names are ignored. Fyne goroutine
// only.
func (u *UI) SelectTab(name string) {
	if u.tabs == nil {
		u.pendingTab = name
		return
	}
	for i, n := range TabNames {
		if n == name {
			u.tabs.SelectIndex(i)
		}
	}
}

// Show brings the window to the front. Fyne goroutine only.
func (u *UI) Show() {
	u.buildWindow()
	u.visible.Store(true)
	u.refreshAll()
	u.win.Show()
	u.win.RequestFocus()
	u.nudge()
}

// Hide hides the window to the tray. Fyne goroutine only. The state watcher
// then parks the loop (Options.Park).
func (u *UI) Hide() {
	u.visible.Store(false)
	u.win.Hide()
	u.nudge()
}

// Visible reports whether the window is shown.
func (u *UI) Visible() bool { return u.visible.Load() }

func (u *UI) nudge() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// refreshAll redraws from the slots. Fyne goroutine only. A hidden window
// only updates the tray: nothing of it is on screen.
func (u *UI) refreshAll() {
	s := TakeSnapshot(u.opts.Observers)
	now := u.opts.Now()
	u.tray.apply(u, TrayModelOf(s, now))
	if !u.visible.Load() {
		return
	}
	u.refreshWindow(s, now)
}

// refreshWindow redraws the tabs. Fyne goroutine only.
func (u *UI) refreshWindow(s Snapshot, now time.Time) {
	u.status.refresh(s, now)
	u.jobs.refresh(s, now)
	u.logs.pull()
	u.settings.followStore()
	u.about.refresh()
}

// Start runs the goroutines that follow the observers until ctx ends or
// Stop is called.
func (u *UI) Start(ctx context.Context) {
	ctx, u.stop = context.WithCancel(ctx)
	if u.opts.Raise != nil {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-u.opts.Raise:
					u.onMain(u.Show)
				}
			}
		}()
	}
	u.wg.Add(2)
	go func() {
		defer u.wg.Done()
		u.watchState(ctx)
	}()
	go func() {
		defer u.wg.Done()
		u.watchLogs(ctx)
	}()
}

// Stop ends the watchers and waits for them and for pending writes. Safe to
// call on any goroutine except that it must not be the Fyne goroutine while
// a write is queued there (writes never queue there).
func (u *UI) Stop() {
	if u.stop != nil {
		u.stop()
	}
	u.wg.Wait()
	u.async.Wait()
}

// watchState redraws on each change signal, plus once a tick while a job
// runs (elapsed) or the window is shown (ages). With no job and no window
// it sleeps on the signal alone. The tray is updated here, off the Fyne
// loop, so it follows the state while the loop is parked; the window only
// while it is shown.
func (u *UI) watchState(ctx context.Context) {
	var ticker *time.Ticker
	var tick <-chan time.Time
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		changed := u.opts.Observers.Changed()
		_, running := u.opts.Observers.CurrentJob()
		fresh := u.notifier.fresh(u.opts.Observers.RecentJobs())
		s, now := TakeSnapshot(u.opts.Observers), u.opts.Now()
		u.tray.apply(u, TrayModelOf(s, now))
		if u.visible.Load() {
			fyne.Do(func() {
				if u.visible.Load() {
					u.refreshWindow(s, now)
				}
			})
		}
		if len(fresh) > 0 {
			u.onMain(func() { u.notify(fresh) })
		}
		u.schedulePark()
		if want := running || u.visible.Load(); want && ticker == nil {
			ticker = time.NewTicker(u.opts.Tick)
			tick = ticker.C
		} else if !want && ticker != nil {
			ticker.Stop()
			ticker, tick = nil, nil
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick:
		case <-u.wake:
		}
	}
}

// watchLogs refreshes the Logs tab on appends, at most once per LogThrottle,
// and not at all while the window is hidden (Show pulls what was missed).
func (u *UI) watchLogs(ctx context.Context) {
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		ch := u.opts.Observers.LogsChanged()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		if u.visible.Load() {
			fyne.Do(func() {
				if u.visible.Load() {
					u.logs.pull()
				}
			})
		}
		gap.Reset(u.opts.LogThrottle)
		select {
		case <-ctx.Done():
			return
		case <-gap.C:
		}
	}
}

// goAsync runs fn off the Fyne goroutine; Stop waits for it.
func (u *UI) goAsync(fn func()) {
	u.async.Add(1)
	go func() {
		defer u.async.Done()
		fn()
	}()
}

// setEnabled is the tray item and the Status switch.
func (u *UI) setEnabled(on bool) {
	u.goAsync(func() {
		if err := u.opts.Worker.SetEnabled(on); err != nil {
			fyne.Do(func() {
				u.withStatus(func(t *statusTab) { t.showError("Could not change job taking: " + err.Error()) })
			})
		}
	})
}

func (u *UI) setQuit(fn func()) { u.quitFn.Store(&fn) }

// quit is the tray's Quit. Fyne goroutine only.
func (u *UI) quit() { (*u.quitFn.Load())() }

// withStatus shows the outcome of an operator action in the Status tab
// (a tray click can act before the window was ever built). Fyne goroutine
// only.
func (u *UI) withStatus(fn func(*statusTab)) {
	if u.status != nil {
		fn(u.status)
	}
}

// resetRegistration is the Status tab's confirmed Reset registration.
func (u *UI) resetRegistration() {
	u.goAsync(func() {
		err := u.opts.Worker.ResetRegistration()
		fyne.Do(func() { u.withStatus(func(t *statusTab) { t.showResult(ResetResultText(err), err != nil) }) })
	})
}

// retry is the Status tab's Retry.
func (u *UI) retry() {
	u.goAsync(func() {
		u.opts.Worker.Retry()
		fyne.Do(func() { u.withStatus(func(t *statusTab) { t.showResult(RetryResultText(), false) }) })
	})
}

// Run is the UI process around work (the worker runtime): work runs on a
// goroutine owned here, the app on the calling goroutine. Quit in the tray
// cancels work, waits for it to return (the runtime closes the session and
// gives a running job its grace), then quits the app; any other way out of
// the app (a signal) does the same after the app loop returns. When
// quitWhenDone is set the app also quits once work returns on its own.
func Run(a fyne.App, opts Options, work func(ctx context.Context) error, quitWhenDone bool) (*UI, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := New(a, opts)
	done := make(chan struct{})
	var workErr error
	go func() {
		defer close(done)
		workErr = work(ctx)
	}()
	var quitOnce sync.Once
	var waiter sync.WaitGroup // owned here: both goroutines end once work returned
	u.setQuit(func() {
		quitOnce.Do(func() {
			u.quitting.Store(true)
			u.unpark()
			u.tray.stopping(u)
			u.Hide()
			cancel()
			waiter.Add(1)
			go func() {
				defer waiter.Done()
				<-done
				// Watchers stop before the app does, so none of them calls
				// into Fyne after its loop ended.
				u.Stop()
				u.onMain(a.Quit)
			}()
		})
	})
	if quitWhenDone {
		waiter.Add(1)
		go func() {
			defer waiter.Done()
			select {
			case <-done:
				u.onMain(u.quit)
			case <-ctx.Done():
			}
		}()
	}
	// Fyne quits on SIGINT/SIGTERM through its loop: let a parked loop go.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	waiter.Add(1)
	go func() {
		defer waiter.Done()
		select {
		case <-sig:
			u.quitting.Store(true)
			u.unpark()
		case <-ctx.Done():
		}
	}()
	u.Start(ctx)
	a.Run()
	cancel()
	<-done
	u.Stop()
	waiter.Wait()
	return u, workErr
}
