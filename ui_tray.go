//go:build !headless

package main

import (
	"runtime"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/systray"

	"github.com/minis-gg/studio-worker/ui"
)

// platformTray wires the tray. On the XDG desktops the UI drives the
// StatusNotifierItem itself (xdgTray) and parks the Fyne loop while the
// window is hidden; elsewhere fyne's tray needs the loop (it runs on the
// main thread there), so the loop keeps running. The returned func ends the
// tray after the app.
func platformTray(o *ui.Options) (end func()) {
	o.Tooltip = systray.SetTooltip
	o.TrayTapped = systray.SetOnTapped
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		t := &xdgTray{}
		o.Tray, o.Park = t, true
		return t.close
	}
	return func() {}
}

// xdgTray is the tray through fyne.io/systray directly (D-Bus, no display
// needed). fyne's own tray opens a hidden GL window for itself, which loads
// Mesa (llvmpipe: ~60 MiB) before the operator ever opens ours, and runs
// every click through its event loop, which the UI parks while the window
// is hidden. Goroutine-safe, as ui.TrayHost requires; clicks run on the
// item's goroutine.
type xdgTray struct {
	mu      sync.Mutex
	started bool
	end     func()
}

// startLocked registers the StatusNotifierItem once; t.mu held.
func (t *xdgTray) startLocked() {
	if t.started {
		return
	}
	t.started = true
	start, end := systray.RunWithExternalLoop(nil, nil)
	start()
	// Some XDG trays crash on an item without a title (fyne #3678).
	systray.SetTitle(ui.AppName)
	t.end = end
}

func (t *xdgTray) SetSystemTrayMenu(m *fyne.Menu) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.startLocked()
	// Removing the items closes their click channels, which ends the
	// goroutines started for the previous menu.
	systray.ResetMenu()
	for _, it := range m.Items {
		if it.IsSeparator {
			systray.AddSeparator()
			continue
		}
		var item *systray.MenuItem
		if it.Checked {
			item = systray.AddMenuItemCheckbox(it.Label, "", true)
		} else {
			item = systray.AddMenuItem(it.Label, "")
		}
		if it.Disabled {
			item.Disable()
		}
		if fn := it.Action; fn != nil {
			go func() {
				for range item.ClickedCh {
					fn()
				}
			}()
		}
	}
}

func (t *xdgTray) SetSystemTrayIcon(r fyne.Resource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.startLocked()
	systray.SetIcon(r.Content()) // the icons are PNG, what the XDG tray takes
}

func (t *xdgTray) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started {
		systray.ResetMenu()
		t.end()
	}
}
