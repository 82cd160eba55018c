package config

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
)

// Secret holds a credential. Every printing path (fmt verbs, slog, GoString) redacts it so a
// Settings value can be logged or wrapped in an error without leaking; only Reveal returns it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself, for the few places that must send or store it.
func (s Secret) Reveal() string { return string(s) }

// String redacts: "[redacted]" when set, "" when empty (so "is it set?" stays visible).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format makes every fmt verb (including %x and %q, which would otherwise bypass String) redact.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// Settings is the worker configuration. Field comments give the TOML key.
type Settings struct {
	APIBaseURL             string  // api_base_url
	WorkerID               string  // worker_id (set on approval)
	AuthToken              Secret  // auth_token
	VRAMThresholdGb        float64 // vram_threshold_gb
	Enabled                bool    // enabled: the operator's persisted on/off switch
	AutoStart              bool    // auto_start
	StartMinimised         bool    // start_minimised
	OnlyWhenIdle           bool    // only_when_idle
	AutoUpdateEnabled      bool    // auto_update_enabled
	AutoUpdateIntervalSecs uint64  // auto_update_interval_secs
	AutoUpdateFeed         string  // auto_update_feed
	AutoUpdatePrerelease   bool    // auto_update_prerelease
	ModelsRoot             string  // models_root (a leading ~ is expanded on load)
	WSReconnectAttempts    uint32  // ws_reconnect_attempts; 0 = retry forever
	InstallID              string  // install_id
	RegistrationRequestID  string  // registration_request_id
	RegistrationSecret     Secret  // registration_secret
	// RegistrationRejected is the reason an operator gave for refusing this
	// worker ("no reason given" when none). Not a reference key: it keeps a
	// rejected worker stopped across restarts until `register --reset`.
	RegistrationRejected string // registration_rejected
	NotifyJobCompleted   bool   // notify_job_completed
	NotifyJobFailed      bool   // notify_job_failed
}

// TOML keys, in the order they are written to the file.
const (
	KeyAPIBaseURL             = "api_base_url"
	KeyWorkerID               = "worker_id"
	KeyAuthToken              = "auth_token"
	KeyVRAMThresholdGb        = "vram_threshold_gb"
	KeyEnabled                = "enabled"
	KeyAutoStart              = "auto_start"
	KeyStartMinimised         = "start_minimised"
	KeyOnlyWhenIdle           = "only_when_idle"
	KeyAutoUpdateEnabled      = "auto_update_enabled"
	KeyAutoUpdateIntervalSecs = "auto_update_interval_secs"
	KeyAutoUpdateFeed         = "auto_update_feed"
	KeyAutoUpdatePrerelease   = "auto_update_prerelease"
	KeyModelsRoot             = "models_root"
	KeyWSReconnectAttempts    = "ws_reconnect_attempts"
	KeyInstallID              = "install_id"
	KeyRegistrationRequestID  = "registration_request_id"
	KeyRegistrationSecret     = "registration_secret"
	KeyRegistrationRejected   = "registration_rejected"
	KeyNotifyJobCompleted     = "notify_job_completed"
	KeyNotifyJobFailed        = "notify_job_failed"
)

// Defaults of the reference worker.
const (
	DefaultAPIBaseURL             = "https://studio.minis.gg/"
	DefaultVRAMThresholdGb        = 12.0
	DefaultAutoUpdateIntervalSecs = 1800
	DefaultAutoUpdateFeed         = "https://api.github.com/repos/webbertakken/studio-worker/releases"
	// DefaultModelsRoot is stored unexpanded; Store.Settings reports it with ~ expanded.
	DefaultModelsRoot = "~/models"
	// MinAutoUpdateIntervalSecs is the smallest accepted update check interval.
	MinAutoUpdateIntervalSecs = 60
)

// Default returns the settings a first run writes (before the VRAM clamp). ModelsRoot is
// the unexpanded "~/models".
func Default() Settings {
	return Settings{
		APIBaseURL:             DefaultAPIBaseURL,
		VRAMThresholdGb:        DefaultVRAMThresholdGb,
		Enabled:                true,
		AutoStart:              true,
		StartMinimised:         true,
		AutoUpdateEnabled:      true,
		AutoUpdateIntervalSecs: DefaultAutoUpdateIntervalSecs,
		AutoUpdateFeed:         DefaultAutoUpdateFeed,
		ModelsRoot:             DefaultModelsRoot,
	}
}

// Registered reports whether the worker holds an approved identity.
func (s Settings) Registered() bool { return s.WorkerID != "" && s.AuthToken != "" }

// FieldError says which setting is invalid. Field is the TOML key; Msg never contains the value.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks the operator-editable values; the first problem is returned as *FieldError.
func (s Settings) Validate() error {
	if !isHTTPURL(s.APIBaseURL) {
		return &FieldError{Field: KeyAPIBaseURL, Msg: "must be an http(s) URL"}
	}
	if math.IsNaN(s.VRAMThresholdGb) || math.IsInf(s.VRAMThresholdGb, 0) || s.VRAMThresholdGb < 0 {
		return &FieldError{Field: KeyVRAMThresholdGb, Msg: "must be a number of GB, 0 or more"}
	}
	if s.AutoUpdateIntervalSecs < MinAutoUpdateIntervalSecs {
		return &FieldError{Field: KeyAutoUpdateIntervalSecs, Msg: "must be at least 60 seconds"}
	}
	if !isHTTPURL(s.AutoUpdateFeed) {
		return &FieldError{Field: KeyAutoUpdateFeed, Msg: "must be an http(s) URL"}
	}
	if s.ModelsRoot == "" {
		return &FieldError{Field: KeyModelsRoot, Msg: "must not be empty"}
	}
	return nil
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

// LogValue lets a whole Settings be logged (including by JSON handlers, which would otherwise
// marshal the secrets' underlying strings): secrets appear only as "[redacted]".
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String(KeyAPIBaseURL, s.APIBaseURL),
		slog.String(KeyWorkerID, s.WorkerID),
		slog.String(KeyAuthToken, s.AuthToken.String()),
		slog.Float64(KeyVRAMThresholdGb, s.VRAMThresholdGb),
		slog.Bool(KeyEnabled, s.Enabled),
		slog.Bool(KeyAutoStart, s.AutoStart),
		slog.Bool(KeyStartMinimised, s.StartMinimised),
		slog.Bool(KeyOnlyWhenIdle, s.OnlyWhenIdle),
		slog.Bool(KeyAutoUpdateEnabled, s.AutoUpdateEnabled),
		slog.Uint64(KeyAutoUpdateIntervalSecs, s.AutoUpdateIntervalSecs),
		slog.String(KeyAutoUpdateFeed, s.AutoUpdateFeed),
		slog.Bool(KeyAutoUpdatePrerelease, s.AutoUpdatePrerelease),
		slog.String(KeyModelsRoot, s.ModelsRoot),
		slog.Uint64(KeyWSReconnectAttempts, uint64(s.WSReconnectAttempts)),
		slog.String(KeyInstallID, s.InstallID),
		slog.String(KeyRegistrationRequestID, s.RegistrationRequestID),
		slog.String(KeyRegistrationSecret, s.RegistrationSecret.String()),
		slog.String(KeyRegistrationRejected, s.RegistrationRejected),
		slog.Bool(KeyNotifyJobCompleted, s.NotifyJobCompleted),
		slog.Bool(KeyNotifyJobFailed, s.NotifyJobFailed),
	)
}
