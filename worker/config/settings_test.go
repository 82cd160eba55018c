package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*Settings)
		field string // "" = valid
		msg   string
	}{
		{"defaults", func(*Settings) {}, "", ""},
		{"http url", func(s *Settings) { s.APIBaseURL = "http://127.0.0.1:8080/" }, "", ""},
		{"zero threshold", func(s *Settings) { s.VRAMThresholdGb = 0 }, "", ""},
		{"interval 60", func(s *Settings) { s.AutoUpdateIntervalSecs = 60 }, "", ""},
		{"ftp api", func(s *Settings) { s.APIBaseURL = "ftp://studio.minis.gg/" }, KeyAPIBaseURL, "must be an http(s) URL"},
		{"no host", func(s *Settings) { s.APIBaseURL = "https://" }, KeyAPIBaseURL, "must be an http(s) URL"},
		{"relative api", func(s *Settings) { s.APIBaseURL = "studio.minis.gg" }, KeyAPIBaseURL, "must be an http(s) URL"},
		{"empty api", func(s *Settings) { s.APIBaseURL = "" }, KeyAPIBaseURL, "must be an http(s) URL"},
		{"negative vram", func(s *Settings) { s.VRAMThresholdGb = -0.5 }, KeyVRAMThresholdGb, "must be a number of GB, 0 or more"},
		{"nan vram", func(s *Settings) { s.VRAMThresholdGb = math.NaN() }, KeyVRAMThresholdGb, "must be a number of GB, 0 or more"},
		{"inf vram", func(s *Settings) { s.VRAMThresholdGb = math.Inf(1) }, KeyVRAMThresholdGb, "must be a number of GB, 0 or more"},
		{"interval 59", func(s *Settings) { s.AutoUpdateIntervalSecs = 59 }, KeyAutoUpdateIntervalSecs, "must be at least 60 seconds"},
		{"bad feed", func(s *Settings) { s.AutoUpdateFeed = "not a url" }, KeyAutoUpdateFeed, "must be an http(s) URL"},
		{"empty models root", func(s *Settings) { s.ModelsRoot = "" }, KeyModelsRoot, "must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Default()
			tc.edit(&s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want *FieldError", err)
			}
			if fe.Field != tc.field || fe.Msg != tc.msg {
				t.Errorf("got %q/%q, want %q/%q", fe.Field, fe.Msg, tc.field, tc.msg)
			}
			if want := tc.field + ": " + tc.msg; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	d := Default()
	want := Settings{
		APIBaseURL: "https://studio.minis.gg/", VRAMThresholdGb: 12, Enabled: true, AutoStart: true,
		StartMinimised: true, AutoUpdateEnabled: true, AutoUpdateIntervalSecs: 1800,
		AutoUpdateFeed: "https://api.github.com/repos/webbertakken/studio-worker/releases",
		ModelsRoot:     "~/models",
	}
	if d != want {
		t.Errorf("Default() = %+v\nwant %+v", d, want)
	}
	if d.Registered() {
		t.Error("defaults must not be registered")
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id    string
		token Secret
		want  bool
	}{{"", "", false}, {"w1", "", false}, {"", "t", false}, {"w1", "t", true}}
	for _, tc := range tests {
		s := Settings{WorkerID: tc.id, AuthToken: tc.token}
		if got := s.Registered(); got != tc.want {
			t.Errorf("Registered(%q, token set=%v) = %v, want %v", tc.id, tc.token != "", got, tc.want)
		}
	}
}

func TestEnvVar(t *testing.T) {
	t.Parallel()
	if got := EnvVar(KeyVRAMThresholdGb); got != "STUDIO_WORKER_VRAM_THRESHOLD_GB" {
		t.Errorf("EnvVar = %q", got)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const tok, reg = "tok-SUPERSECRET-1", "reg-SUPERSECRET-2"
	s := Default()
	s.WorkerID = "worker-1"
	s.AuthToken = tok
	s.RegistrationSecret = reg

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%-v"} {
		out = append(out, verb+" settings="+fmt.Sprintf(verb, s))
		out = append(out, verb+" pointer="+fmt.Sprintf(verb, &s))
		out = append(out, verb+" token="+fmt.Sprintf(verb, s.AuthToken))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(s.RegistrationSecret), s.AuthToken.String(), s.AuthToken.GoString())
	// An error wrapping a Settings must not leak either.
	out = append(out, fmt.Errorf("ctx %v: %w", s, errors.New("x")).Error())

	var jsonBuf, textBuf syncBuffer
	for _, l := range []*slog.Logger{jsonLogger(&jsonBuf), slog.New(slog.NewTextHandler(&textBuf, nil))} {
		l.Info("settings", "settings", s, "token", s.AuthToken, "ptr", &s,
			slog.Any("secret", s.RegistrationSecret), slog.Group("g", "inner", s))
	}
	out = append(out, jsonBuf.String(), textBuf.String())

	for _, o := range out {
		if strings.Contains(o, "SUPERSECRET") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	// The redaction marker proves the field was rendered at all (not just skipped).
	if !strings.Contains(jsonBuf.String(), `"auth_token":"[redacted]"`) {
		t.Errorf("json log lacks redacted auth_token: %s", jsonBuf.String())
	}
	if !strings.Contains(fmt.Sprintf("%+v", s), "AuthToken:[redacted]") {
		t.Errorf("%%+v lacks redacted marker: %+v", s)
	}
	if got := fmt.Sprintf("%q", s.AuthToken); got != `"[redacted]"` {
		t.Errorf("%%q = %s", got)
	}
	if s.AuthToken.Reveal() != tok || s.RegistrationSecret.Reveal() != reg {
		t.Error("Reveal must return the secret")
	}
	var empty Secret
	if empty.String() != "" || fmt.Sprintf("%v|%q", empty, empty) != `|""` {
		t.Errorf("empty secret renders as %v / %q", empty, empty)
	}
}
