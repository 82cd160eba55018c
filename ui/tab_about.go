package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

type aboutTab struct {
	root fyne.CanvasObject
}

// The Check for updates button and the update log join this tab when the
// updater exists; until then the tab does not pretend.
func newAboutTab(u *UI) *aboutTab {
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
	return &aboutTab{root: container.NewVBox(container.NewHBox(logo, title), blurb, form)}
}
