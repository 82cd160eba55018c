package worker

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// UsageError is a bad command-line argument: the CLI exits 2 and the
// settings file is not touched.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// FormatStatus renders `status`: labels padded to column 20, no secrets.
func FormatStatus(s config.Settings, path string, st RunState, running bool) string {
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "%-20s%s\n", label+":", value) }
	line("config path", path)
	line("api_base_url", protocol.RedactURL(s.APIBaseURL))
	switch {
	case s.Registered():
		line("registration", "approved as "+s.WorkerID)
	case s.RegistrationRejected != "":
		line("registration", fmt.Sprintf("rejected by the studio operator: %s (run `studio-worker register --reset` to ask again)", s.RegistrationRejected))
	case s.RegistrationRequestID != "":
		line("registration", fmt.Sprintf("pending operator approval (request %s)", s.RegistrationRequestID))
	default:
		line("registration", "not registered (will auto-register on next launch)")
	}
	if running {
		sess := st.Session
		if st.Attempt > 0 {
			sess += fmt.Sprintf(" (attempt %d)", st.Attempt)
		}
		if st.Reason != "" {
			sess += " — " + st.Reason
		}
		line("session", fmt.Sprintf("%s (pid %d)", sess, st.PID))
	} else {
		line("session", "no worker running with this config")
	}
	line("enabled", strconv.FormatBool(s.Enabled))
	line("vram_threshold_gb", strconv.FormatFloat(s.VRAMThresholdGb, 'g', -1, 64))
	line("auto_update", strconv.FormatBool(s.AutoUpdateEnabled))
	line("update_interval", fmt.Sprintf("%ds", s.AutoUpdateIntervalSecs))
	line("update_prerelease", strconv.FormatBool(s.AutoUpdatePrerelease))
	line("update_feed", protocol.RedactURL(s.AutoUpdateFeed))
	return b.String()
}

// Status prints the status of the worker configured at store's path.
func Status(w io.Writer, store *config.Store) error {
	st, running, err := ReadState(store.Path())
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, FormatStatus(store.Settings(), store.Path(), st, running))
	return err
}

// ParseThreshold validates a `set-threshold` argument.
func ParseThreshold(arg string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &UsageError{Msg: fmt.Sprintf("set-threshold: %q is not a number of GB (example: set-threshold 8)", arg)}
	}
	if v < 0 {
		return 0, &UsageError{Msg: fmt.Sprintf("set-threshold: %q must be 0 or more GB", arg)}
	}
	return v, nil
}

// SetThreshold persists vram_threshold_gb.
func SetThreshold(w io.Writer, store *config.Store, arg string) error {
	v, err := ParseThreshold(arg)
	if err != nil {
		return err
	}
	if _, err := store.Update(func(s *config.Settings) error { s.VRAMThresholdGb = v; return nil }); err != nil {
		return fmt.Errorf("set-threshold: %w", err)
	}
	_, err = fmt.Fprintf(w, "vram_threshold_gb = %s\n", strconv.FormatFloat(v, 'g', -1, 64))
	return err
}

// ParseEnabled validates a `set-enabled` argument.
func ParseEnabled(arg string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(arg)) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, &UsageError{Msg: fmt.Sprintf("set-enabled: %q is not true or false", arg)}
}

// SetEnabled persists enabled; a running worker picks it up within SettingsPoll.
func SetEnabled(w io.Writer, store *config.Store, arg string) error {
	on, err := ParseEnabled(arg)
	if err != nil {
		return err
	}
	if _, err := store.Update(func(s *config.Settings) error { s.Enabled = on; return nil }); err != nil {
		return fmt.Errorf("set-enabled: %w", err)
	}
	_, err = fmt.Fprintf(w, "enabled = %t\n", on)
	return err
}

// Register implements `register`: no HTTP, only local state. reset clears
// every registration key so the next start asks for approval afresh.
func Register(w io.Writer, store *config.Store, apiBaseURL string, reset bool) error {
	if apiBaseURL == "" && !reset {
		return &UsageError{Msg: "register: nothing to do; pass --api-base-url URL and/or --reset"}
	}
	s, err := store.Update(func(s *config.Settings) error {
		if reset {
			clearRegistration(s)
		}
		if apiBaseURL != "" {
			s.APIBaseURL = apiBaseURL
		}
		return nil
	})
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return &UsageError{Msg: "register: " + fe.Error()}
	}
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if reset {
		fmt.Fprintln(w, "local registration state cleared; run `studio-worker run` or `studio-worker ui` to auto-register")
	}
	if apiBaseURL != "" {
		fmt.Fprintf(w, "saved; run `studio-worker run` or `studio-worker ui` to auto-register against %s\n", protocol.RedactURL(s.APIBaseURL))
	}
	return nil
}

// ShowConfig prints `# <path>` and the settings file, with secret values
// replaced unless showSecrets.
func ShowConfig(w io.Writer, path string, file []byte, showSecrets bool) error {
	if !showSecrets {
		var err error
		if file, err = config.Redact(file); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if _, err := fmt.Fprintf(w, "# %s\n", path); err != nil {
		return err
	}
	_, err := w.Write(file)
	return err
}

// clearRegistration forgets the worker's identity and any pending request,
// so the next start asks the studio for approval afresh.
func clearRegistration(s *config.Settings) {
	s.WorkerID, s.AuthToken = "", ""
	s.RegistrationRequestID, s.RegistrationSecret = "", ""
	s.InstallID = ""
	s.RegistrationRejected = ""
}
