package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
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
	reset        *widget.Button // Reset registration: rejected or auth failed
	retry        *widget.Button // Retry: stopped on an error
	resultLine   *widget.Label  // what the last Reset / Retry did
	errorLine    *widget.Label
	confirm      *widget.PopUp // the open Reset confirmation, if any

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
	t.reset = widget.NewButton(ResetButton, t.confirmReset)
	t.reset.Importance = widget.DangerImportance
	t.reset.Hide()
	t.retry = widget.NewButton(RetryButton, u.retry)
	t.retry.Importance = widget.HighImportance
	t.retry.Hide()
	t.resultLine = widget.NewLabel("")
	t.resultLine.Wrapping = fyne.TextWrapWord
	t.resultLine.Hide()
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
		layout.NewSpacer(), container.NewHBox(t.reset, t.retry),
		key("Last heartbeat"), t.heartbeat,
		key("Studio API"), t.apiURL,
		key("VRAM"), t.vram,
		key("Jobs"), t.take,
	)
	t.root = container.NewVScroll(container.NewVBox(
		container.NewHBox(t.icon, t.headline),
		widget.NewSeparator(),
		grid,
		t.resultLine,
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
	api := protocol.RedactURL(t.u.opts.Store.Settings().APIBaseURL)
	setText(t.registration, RegistrationText(s.Registration, api, now))
	t.requestID = s.Registration.RequestID
	if s.Registration.Phase == observers.RegistrationPending && t.requestID != "" {
		t.copyID.Show()
	} else {
		t.copyID.Hide()
	}
	setText(t.session, SessionText(s.Session))
	action := StopActionOf(s)
	showIf(t.reset, action == StopActionReset)
	showIf(t.retry, action == StopActionRetry)
	setText(t.heartbeat, HeartbeatText(s.Heartbeat, s.HasHeartbeat, now))
	setText(t.apiURL, api)
	setText(t.vram, VRAMText(s.VRAMTotalGb, s.VRAMThreshGb))
	if t.take.Checked != s.Enabled {
		t.syncing = true
		t.take.SetChecked(s.Enabled)
		t.syncing = false
	}
}

func showIf(o fyne.CanvasObject, on bool) {
	if on && !o.Visible() {
		o.Show()
	} else if !on && o.Visible() {
		o.Hide()
	}
}

// confirmReset asks before forgetting the identity: a worker that was
// approved once needs someone at the studio to approve it again.
// (A modal pop-up rather than fyne's dialog package, whose file dialog pulls
// in a module this build does not carry.)
func (t *statusTab) confirmReset() {
	if t.confirm != nil {
		return
	}
	title := widget.NewLabel(ResetConfirmTitle)
	title.TextStyle = fyne.TextStyle{Bold: true}
	text := widget.NewLabel(ResetConfirmText)
	var pop *widget.PopUp
	closePop := func() {
		pop.Hide()
		t.confirm = nil
	}
	cancel := widget.NewButton("Cancel", closePop)
	ok := widget.NewButton(ResetButton, func() {
		closePop()
		t.u.resetRegistration()
	})
	ok.Importance = widget.DangerImportance
	body := container.NewVBox(title, text, container.NewHBox(layout.NewSpacer(), cancel, ok))
	pop = widget.NewModalPopUp(body, t.u.win.Canvas())
	t.confirm = pop
	pop.Show()
}

// showResult reports what Reset / Retry did; a failure is shown as an error.
func (t *statusTab) showResult(msg string, failed bool) {
	t.resultLine.Importance = widget.MediumImportance
	if failed {
		t.resultLine.Importance = widget.DangerImportance
	}
	t.resultLine.SetText(msg)
	t.resultLine.Show()
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
