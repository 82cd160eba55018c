package ui

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// Icon resources, generated once at start-up.
var (
	trayIcons = func() map[TrayState]fyne.Resource {
		m := make(map[TrayState]fyne.Resource, len(AllTrayStates))
		for _, t := range AllTrayStates {
			m[t] = fyne.NewStaticResource("studio-worker-"+t.String()+".png", IconPNG(t, 64))
		}
		return m
	}()
	appIcon fyne.Resource = fyne.NewStaticResource("studio-worker.png", AppIconPNG(256))
)

// AppIcon is the application icon (window, notifications).
func AppIcon() fyne.Resource { return appIcon }

// trayView rebuilds the tray menu and icon when, and only when, the model
// changed: every rebuild resets the host's whole menu.
type trayView struct {
	mu    sync.Mutex // apply runs on the watcher and the Fyne goroutine
	built bool
	model TrayModel
	menu  *fyne.Menu
	// stopped: Quit is under way and the menu says so; no state goes back.
	stopped bool
}

// fyneTray is the app's own tray (macOS, Windows): fyne wants it touched on
// its goroutine, and it runs clicks there itself.
type fyneTray struct{ d desktop.App }

func (f fyneTray) SetSystemTrayMenu(m *fyne.Menu) { fyne.Do(func() { f.d.SetSystemTrayMenu(m) }) }

func (f fyneTray) SetSystemTrayIcon(r fyne.Resource) { fyne.Do(func() { f.d.SetSystemTrayIcon(r) }) }

// apply updates the tray to m. Any goroutine.
func (t *trayView) apply(u *UI, m TrayModel) {
	t.mu.Lock()
	defer t.mu.Unlock()
	host := u.opts.Tray
	if host == nil || t.stopped || (t.built && t.model == m) {
		return
	}
	iconChanged := !t.built || t.model.State != m.State
	tipChanged := !t.built || t.model.Tooltip != m.Tooltip
	t.built, t.model = true, m
	t.menu = trayMenu(u, m)
	// The menu first: it starts the host's tray, which the icon needs.
	host.SetSystemTrayMenu(t.menu)
	if iconChanged {
		host.SetSystemTrayIcon(trayIcons[m.State])
	}
	if tipChanged && u.opts.Tooltip != nil {
		u.opts.Tooltip(m.Tooltip)
	}
}

// stopping shows that Quit is under way (the runtime may take a few seconds
// to give a running job its grace).
func (t *trayView) stopping(u *UI) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.opts.Tray == nil {
		return
	}
	t.stopped = true
	status := fyne.NewMenuItem("Stopping…", nil)
	status.Disabled = true
	t.menu = fyne.NewMenu(AppName, status)
	u.opts.Tray.SetSystemTrayMenu(t.menu)
	if u.opts.Tooltip != nil {
		u.opts.Tooltip(AppName + " — stopping")
	}
}

func trayMenu(u *UI, m TrayModel) *fyne.Menu {
	status := fyne.NewMenuItem(m.StatusRow, nil)
	status.Disabled = true
	// Clicks may arrive on any goroutine (see TrayHost).
	open := fyne.NewMenuItem(MenuOpenWindow, func() { u.onMain(u.Show) })
	take := fyne.NewMenuItem(MenuTakeJobs, func() { u.setEnabled(!m.TakeJobs) })
	take.Checked = m.TakeJobs
	items := []*fyne.MenuItem{status}
	if m.StopRow != "" {
		reason := fyne.NewMenuItem(m.StopRow, nil)
		reason.Disabled = true
		items = append(items, reason)
	}
	items = append(items, fyne.NewMenuItemSeparator(), open, take)
	if m.JobRow != "" {
		job := fyne.NewMenuItem(m.JobRow, nil)
		job.Disabled = true
		items = append(items, job)
	}
	if u.opts.CheckForUpdates != nil {
		items = append(items, fyne.NewMenuItem(MenuCheckUpdates, func() { u.checkForUpdates(true) }))
	}
	quit := fyne.NewMenuItem(MenuQuit, func() { u.onMain(u.quit) })
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu(AppName, items...)
}
