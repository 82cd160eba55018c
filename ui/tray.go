package ui

import (
	"fyne.io/fyne/v2"
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
	built bool
	model TrayModel
	menu  *fyne.Menu
}

// apply updates the tray to m. Fyne goroutine only.
func (t *trayView) apply(u *UI, m TrayModel) {
	host := u.opts.Tray
	if host == nil || (t.built && t.model == m) {
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
	if u.opts.Tray == nil {
		return
	}
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
	open := fyne.NewMenuItem(MenuOpenWindow, u.Show)
	take := fyne.NewMenuItem(MenuTakeJobs, func() { u.setEnabled(!m.TakeJobs) })
	take.Checked = m.TakeJobs
	items := []*fyne.MenuItem{status, fyne.NewMenuItemSeparator(), open, take}
	if m.JobRow != "" {
		job := fyne.NewMenuItem(m.JobRow, nil)
		job.Disabled = true
		items = append(items, job)
	}
	quit := fyne.NewMenuItem(MenuQuit, func() { u.quit() })
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu(AppName, items...)
}
