package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
)

type aboutTab struct {
	u      *UI
	root   fyne.CanvasObject
	check  *widget.Button
	result *widget.Label
	log    *widget.Label
	shown  []observers.UpdateCheck // what log shows, to redraw only on change
}

func newAboutTab(u *UI) *aboutTab {
	t := &aboutTab{u: u}
	logo := canvas.NewImageFromResource(appIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(64))
	title := widget.NewLabel(AppName + " " + u.opts.Version)
	title.TextStyle = fyne.TextStyle{Bold: true}
	path := widget.NewLabel(u.opts.Store.Path())
	path.Selectable = true
	form := widget.NewForm(
		widget.NewFormItem("Version", widget.NewLabel(u.opts.Version)),
		widget.NewFormItem("Config file", path),
	)
	blurb := widget.NewLabel("Runs AI generation jobs from a studio on this machine.\nClosing the window keeps the worker running in the tray; Quit is in the tray menu.")
	blurb.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(container.NewHBox(logo, title), blurb, form)
	if u.opts.CheckForUpdates != nil {
		t.result = widget.NewLabel("")
		t.result.Wrapping = fyne.TextWrapWord
		t.result.Hide()
		t.check = widget.NewButtonWithIcon(MenuCheckUpdates, theme.ViewRefreshIcon(), func() {
			t.check.Disable()
			t.showResult("Checking…", false)
			u.checkForUpdates(false)
		})
		t.log = widget.NewLabel("No update checks yet.")
		t.log.Wrapping = fyne.TextWrapWord
		heading := widget.NewLabel("Update checks (newest first)")
		heading.TextStyle = fyne.TextStyle{Bold: true}
		box.Add(container.NewHBox(t.check))
		box.Add(t.result)
		box.Add(heading)
		box.Add(t.log)
	}
	t.root = container.NewVScroll(box)
	return t
}

// showResult says what the last manual check found. Fyne goroutine only.
func (t *aboutTab) showResult(text string, isErr bool) {
	if t.result == nil {
		return
	}
	t.result.SetText(text)
	t.result.Importance = widget.MediumImportance
	if isErr {
		t.result.Importance = widget.DangerImportance
	}
	t.result.Show()
	t.result.Refresh()
	if text != "Checking…" {
		t.check.Enable()
	}
}

// refresh redraws the update log from the observers. Fyne goroutine only.
func (t *aboutTab) refresh() {
	if t.log == nil {
		return
	}
	checks := t.u.opts.Observers.UpdateChecks()
	if equalChecks(checks, t.shown) {
		return
	}
	t.shown = checks
	if len(checks) == 0 {
		t.log.SetText("No update checks yet.")
		return
	}
	text := ""
	for i, c := range checks {
		if i > 0 {
			text += "\n"
		}
		text += UpdateCheckText(c)
	}
	t.log.SetText(text)
}

func equalChecks(a, b []observers.UpdateCheck) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
