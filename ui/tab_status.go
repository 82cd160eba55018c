package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
)

type statusTab struct {
	u    *UI
	root fyne.CanvasObject

	icon         *canvas.Image
	headline     *widget.Label
	registration *widget.Label
	copyID       *widget.Button
	session      *widget.Label
	heartbeat    *widget.Label
	apiURL       *widget.Label
	vram         *widget.Label
	take         *widget.Check
	errorLine    *widget.Label

	state     TrayState
	requestID string
	syncing   bool // set while the switch follows the slots, so OnChanged ignores it
}

func newStatusTab(u *UI) *statusTab {
	t := &statusTab{u: u, state: -1}
	t.icon = canvas.NewImageFromResource(trayIcons[TrayDisconnected])
	t.icon.FillMode = canvas.ImageFillContain
	t.icon.SetMinSize(fyne.NewSquareSize(40))
	t.headline = widget.NewLabel("")
	t.headline.TextStyle = fyne.TextStyle{Bold: true}
	t.registration = widget.NewLabel("")
	t.registration.Wrapping = fyne.TextWrapWord
	t.copyID = widget.NewButton("Copy request id", func() {
		u.app.Clipboard().SetContent(t.requestID)
	})
	t.copyID.Hide()
	t.session = widget.NewLabel("")
	t.session.Wrapping = fyne.TextWrapWord
	t.heartbeat = widget.NewLabel("")
	t.apiURL = widget.NewLabel("")
	t.vram = widget.NewLabel("")
	t.take = widget.NewCheck(MenuTakeJobs, func(on bool) {
		if !t.syncing {
			u.setEnabled(on)
		}
	})
	t.errorLine = widget.NewLabel("")
	t.errorLine.Importance = widget.DangerImportance
	t.errorLine.Hide()

	key := func(s string) fyne.CanvasObject {
		l := widget.NewLabel(s)
		l.TextStyle = fyne.TextStyle{Bold: true}
		return l
	}
	grid := container.New(layout.NewFormLayout(),
		key("Registration"), container.NewBorder(nil, nil, nil, t.copyID, t.registration),
		key("Session"), t.session,
		key("Last heartbeat"), t.heartbeat,
		key("Studio API"), t.apiURL,
		key("VRAM"), t.vram,
		key("Jobs"), t.take,
	)
	t.root = container.NewVScroll(container.NewVBox(
		container.NewHBox(t.icon, t.headline),
		widget.NewSeparator(),
		grid,
		t.errorLine,
	))
	return t
}

func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

func (t *statusTab) refresh(s Snapshot, now time.Time) {
	if st := StateOf(s); st != t.state {
		t.state = st
		t.icon.Resource = trayIcons[st]
		t.icon.Refresh()
	}
	label := StateLabel(s)
	setText(t.headline, string(upperFirst(label)))
	api := t.u.opts.Store.Settings().APIBaseURL
	setText(t.registration, RegistrationText(s.Registration, api, now))
	t.requestID = s.Registration.RequestID
	if s.Registration.Phase == observers.RegistrationPending && t.requestID != "" {
		t.copyID.Show()
	} else {
		t.copyID.Hide()
	}
	setText(t.session, SessionText(s.Session))
	setText(t.heartbeat, HeartbeatText(s.Heartbeat, s.HasHeartbeat, now))
	setText(t.apiURL, api)
	setText(t.vram, VRAMText(s.VRAMTotalGb, s.VRAMThreshGb))
	if t.take.Checked != s.Enabled {
		t.syncing = true
		t.take.SetChecked(s.Enabled)
		t.syncing = false
	}
}

func (t *statusTab) showError(msg string) {
	t.errorLine.SetText(msg)
	t.errorLine.Show()
}

func upperFirst(s string) []rune {
	r := []rune(s)
	if len(r) > 0 && r[0] >= 'a' && r[0] <= 'z' {
		r[0] -= 'a' - 'A'
	}
	return r
}
