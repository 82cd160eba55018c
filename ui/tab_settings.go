package ui

import (
	"github.com/minis-gg/studio-worker/worker/config"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Form status texts.
const (
	SettingsClean   = "Up to date"
	SettingsDirty   = "Unsaved changes"
	SettingsSaved   = "Saved"
	settingsInvalid = "Unsaved changes · "
)

type settingsTab struct {
	u    *UI
	root fyne.CanvasObject

	apiURL         *widget.Entry
	threshold      *widget.Entry
	enabled        *widget.Check
	autoStart      *widget.Check
	startMinimised *widget.Check
	updEnabled     *widget.Check
	updInterval    *widget.Entry
	updFeed        *widget.Entry
	updPrerelease  *widget.Check
	modelsRoot     *widget.Entry
	notifyDone     *widget.Check
	notifyFailed   *widget.Check
	save, reset    *widget.Button
	state          *widget.Label

	base    Draft // what the form was loaded from
	loading bool  // set while widgets are filled from base
}

func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{u: u}
	entry := func() *widget.Entry {
		e := widget.NewEntry()
		e.OnChanged = func(string) { t.edited() }
		return e
	}
	check := func(label string) *widget.Check {
		return widget.NewCheck(label, func(bool) { t.edited() })
	}
	t.apiURL = entry()
	t.threshold = entry()
	t.enabled = check("Take new jobs")
	t.autoStart = check("Start with my computer")
	t.startMinimised = check("Start with the window hidden (tray only)")
	t.updEnabled = check("Update automatically")
	t.updInterval = entry()
	t.updFeed = entry()
	t.updPrerelease = check("Track pre-releases")
	t.modelsRoot = entry()
	t.notifyDone = check("Notify when a job completes")
	t.notifyFailed = check("Notify when a job fails")
	t.save = widget.NewButton("Save", t.Save)
	t.save.Importance = widget.HighImportance
	t.reset = widget.NewButton("Reset", t.Reset)
	t.state = widget.NewLabel("")
	t.state.Wrapping = fyne.TextWrapWord

	section := func(title string, items ...*widget.FormItem) fyne.CanvasObject {
		return widget.NewCard(title, "", widget.NewForm(items...))
	}
	form := container.NewVBox(
		section("Connection", widget.NewFormItem("Studio API base URL", t.apiURL)),
		section("Worker",
			widget.NewFormItem("VRAM threshold (GB)", t.threshold),
			widget.NewFormItem("", t.enabled)),
		section("Start-up",
			widget.NewFormItem("", t.autoStart),
			widget.NewFormItem("", t.startMinimised)),
		section("Auto-update",
			widget.NewFormItem("", t.updEnabled),
			widget.NewFormItem("Check every (seconds)", t.updInterval),
			widget.NewFormItem("Release feed URL", t.updFeed),
			widget.NewFormItem("", t.updPrerelease)),
		section("Models", widget.NewFormItem("Models folder", t.modelsRoot)),
		section("Notifications",
			widget.NewFormItem("", t.notifyDone),
			widget.NewFormItem("", t.notifyFailed)),
	)
	footer := container.NewBorder(nil, nil, container.NewHBox(t.save, t.reset), nil, t.state)
	t.root = container.NewBorder(nil, footer, nil, nil, container.NewVScroll(form))
	t.load(DraftOf(u.opts.Store.Settings()))
	return t
}

// Draft reads the form.
func (t *settingsTab) Draft() Draft {
	return Draft{
		APIBaseURL:             t.apiURL.Text,
		VRAMThresholdGb:        t.threshold.Text,
		Enabled:                t.enabled.Checked,
		AutoStart:              t.autoStart.Checked,
		StartMinimised:         t.startMinimised.Checked,
		AutoUpdateEnabled:      t.updEnabled.Checked,
		AutoUpdateIntervalSecs: t.updInterval.Text,
		AutoUpdatePrerelease:   t.updPrerelease.Checked,
		AutoUpdateFeed:         t.updFeed.Text,
		ModelsRoot:             t.modelsRoot.Text,
		NotifyJobCompleted:     t.notifyDone.Checked,
		NotifyJobFailed:        t.notifyFailed.Checked,
	}
}

// Dirty reports unsaved edits.
func (t *settingsTab) Dirty() bool { return t.Draft() != t.base }

func (t *settingsTab) load(d Draft) {
	t.loading = true
	t.base = d
	t.apiURL.SetText(d.APIBaseURL)
	t.threshold.SetText(d.VRAMThresholdGb)
	t.enabled.SetChecked(d.Enabled)
	t.autoStart.SetChecked(d.AutoStart)
	t.startMinimised.SetChecked(d.StartMinimised)
	t.updEnabled.SetChecked(d.AutoUpdateEnabled)
	t.updInterval.SetText(d.AutoUpdateIntervalSecs)
	t.updFeed.SetText(d.AutoUpdateFeed)
	t.updPrerelease.SetChecked(d.AutoUpdatePrerelease)
	t.modelsRoot.SetText(d.ModelsRoot)
	t.notifyDone.SetChecked(d.NotifyJobCompleted)
	t.notifyFailed.SetChecked(d.NotifyJobFailed)
	t.loading = false
	t.edited()
}

// edited re-judges the form after any change.
func (t *settingsTab) edited() {
	if t.loading || t.state == nil {
		return
	}
	if !t.Dirty() {
		t.state.SetText(SettingsClean)
		t.save.Disable()
		t.reset.Disable()
		return
	}
	t.save.Enable()
	t.reset.Enable()
	if err := t.Draft().Check(t.base, t.u.opts.Store.Settings()); err != nil {
		t.state.SetText(settingsInvalid + SaveErrorText(err))
		return
	}
	t.state.SetText(SettingsDirty)
}

// followStore shows settings changed elsewhere (tray, CLI, another
// process) while the form holds no edits; an edited form is kept.
func (t *settingsTab) followStore() {
	if t.Dirty() {
		return
	}
	if d := DraftOf(t.u.opts.Store.Settings()); d != t.base {
		t.load(d)
	}
}

// Save writes the edited fields through the settings store.
func (t *settingsTab) Save() {
	d, base := t.Draft(), t.base
	eff, err := t.u.opts.Store.Update(func(s *config.Settings) error { return d.ApplyChanges(base, s) })
	if err != nil {
		t.state.SetText(SaveErrorText(err))
		return
	}
	t.load(DraftOf(eff))
	t.state.SetText(SettingsSaved)
	if t.u.opts.OnSaved != nil {
		t.u.opts.OnSaved(eff)
	}
}

// Reset throws the edits away.
func (t *settingsTab) Reset() { t.load(DraftOf(t.u.opts.Store.Settings())) }
