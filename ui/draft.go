package ui

import (
	"errors"
	"strconv"
	"strings"

	"github.com/minis-gg/studio-worker/worker/config"
)

// Draft is the Settings form as typed: text fields stay strings until Save so
// a half-typed number is shown, not silently dropped.
type Draft struct {
	APIBaseURL             string
	VRAMThresholdGb        string
	Enabled                bool
	AutoStart              bool
	StartMinimised         bool
	AutoUpdateEnabled      bool
	AutoUpdateIntervalSecs string
	AutoUpdatePrerelease   bool
	AutoUpdateFeed         string
	ModelsRoot             string
	NotifyJobCompleted     bool
	NotifyJobFailed        bool
}

// DraftOf fills the form from settings.
func DraftOf(s config.Settings) Draft {
	return Draft{
		APIBaseURL:             s.APIBaseURL,
		VRAMThresholdGb:        strconv.FormatFloat(s.VRAMThresholdGb, 'f', -1, 64),
		Enabled:                s.Enabled,
		AutoStart:              s.AutoStart,
		StartMinimised:         s.StartMinimised,
		AutoUpdateEnabled:      s.AutoUpdateEnabled,
		AutoUpdateIntervalSecs: strconv.FormatUint(s.AutoUpdateIntervalSecs, 10),
		AutoUpdatePrerelease:   s.AutoUpdatePrerelease,
		AutoUpdateFeed:         s.AutoUpdateFeed,
		ModelsRoot:             s.ModelsRoot,
		NotifyJobCompleted:     s.NotifyJobCompleted,
		NotifyJobFailed:        s.NotifyJobFailed,
	}
}

// ApplyChanges writes onto s only the fields the operator changed since base
// (the draft the form was loaded from). Untouched fields keep the file's
// value, so a save neither clobbers a change another process made to another
// field nor writes an environment override into the file. A field that does
// not parse is a *config.FieldError naming it.
func (d Draft) ApplyChanges(base Draft, s *config.Settings) error {
	if d.APIBaseURL != base.APIBaseURL {
		s.APIBaseURL = strings.TrimSpace(d.APIBaseURL)
	}
	if d.VRAMThresholdGb != base.VRAMThresholdGb {
		v, err := strconv.ParseFloat(strings.TrimSpace(d.VRAMThresholdGb), 64)
		if err != nil {
			return &config.FieldError{Field: config.KeyVRAMThresholdGb, Msg: "must be a number of GB, 0 or more"}
		}
		s.VRAMThresholdGb = v
	}
	if d.AutoUpdateIntervalSecs != base.AutoUpdateIntervalSecs {
		v, err := strconv.ParseUint(strings.TrimSpace(d.AutoUpdateIntervalSecs), 10, 64)
		if err != nil {
			return &config.FieldError{Field: config.KeyAutoUpdateIntervalSecs, Msg: "must be a whole number of seconds"}
		}
		s.AutoUpdateIntervalSecs = v
	}
	if d.AutoUpdateFeed != base.AutoUpdateFeed {
		s.AutoUpdateFeed = strings.TrimSpace(d.AutoUpdateFeed)
	}
	if d.ModelsRoot != base.ModelsRoot {
		s.ModelsRoot = strings.TrimSpace(d.ModelsRoot)
	}
	setBool := func(dst *bool, now, was bool) {
		if now != was {
			*dst = now
		}
	}
	setBool(&s.Enabled, d.Enabled, base.Enabled)
	setBool(&s.AutoStart, d.AutoStart, base.AutoStart)
	setBool(&s.StartMinimised, d.StartMinimised, base.StartMinimised)
	setBool(&s.AutoUpdateEnabled, d.AutoUpdateEnabled, base.AutoUpdateEnabled)
	setBool(&s.AutoUpdatePrerelease, d.AutoUpdatePrerelease, base.AutoUpdatePrerelease)
	setBool(&s.NotifyJobCompleted, d.NotifyJobCompleted, base.NotifyJobCompleted)
	setBool(&s.NotifyJobFailed, d.NotifyJobFailed, base.NotifyJobFailed)
	return nil
}

// Check validates the draft as it would be saved over eff, so the form can
// name a bad field before the operator presses Save.
func (d Draft) Check(base Draft, eff config.Settings) error {
	if err := d.ApplyChanges(base, &eff); err != nil {
		return err
	}
	return eff.Validate()
}

// FieldLabels maps settings keys to the form's labels, for messages.
var FieldLabels = map[string]string{
	config.KeyAPIBaseURL:             "Studio API base URL",
	config.KeyVRAMThresholdGb:        "VRAM threshold (GB)",
	config.KeyAutoUpdateIntervalSecs: "Check for updates every (seconds)",
	config.KeyAutoUpdateFeed:         "Release feed URL",
	config.KeyModelsRoot:             "Models folder",
}

// SaveErrorText names the field of a *config.FieldError in the form's words.
func SaveErrorText(err error) string {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		label := FieldLabels[fe.Field]
		if label == "" {
			label = fe.Field
		}
		return "Not saved: " + label + " (" + fe.Field + ") " + fe.Msg
	}
	return "Not saved: " + err.Error()
}
