package worker_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

const (
	tokenValue  = "tok-0123456789abcdef"
	secretValue = "sec-fedcba9876543210"
)

// newStore is a settings file in a temp dir, edited by edit.
func newStore(t *testing.T, edit func(*config.Settings)) *config.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	st, err := config.Open(path, config.Options{Logger: quiet(), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		if _, err := st.Update(func(s *config.Settings) error { edit(s); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func label(l string) string { return fmt.Sprintf("%-20s", l+":") }

func TestFormatStatus(t *testing.T) {
	t.Parallel()
	base := config.Default()
	base.APIBaseURL = "https://studio.example/"
	base.VRAMThresholdGb = 7.5
	base.AutoUpdateIntervalSecs = 900
	registered, pending := base, base
	registered.WorkerID, registered.AuthToken = "w-42", tokenValue
	pending.InstallID, pending.RegistrationRequestID, pending.RegistrationSecret = "iid", "rr-9", secretValue
	disabled := base
	disabled.Enabled = false
	rejected := base
	rejected.InstallID, rejected.RegistrationRejected = "iid", "unknown machine"

	cases := []struct {
		name    string
		s       config.Settings
		st      worker.RunState
		running bool
		want    []string
	}{
		{"approved, running", registered, worker.RunState{PID: 4242, Session: "connected"}, true,
			[]string{label("registration") + "approved as w-42", label("session") + "connected (pid 4242)"}},
		{"pending, reconnecting", pending, worker.RunState{PID: 7, Session: "reconnecting", Attempt: 3, Reason: "dial refused"}, true,
			[]string{label("registration") + "pending operator approval (request rr-9)", label("session") + "reconnecting (attempt 3) — dial refused (pid 7)"}},
		{"not registered, not running", base, worker.RunState{}, false,
			[]string{label("registration") + "not registered (will auto-register on next launch)", label("session") + "no worker running with this config", label("enabled") + "true"}},
		{"disabled", disabled, worker.RunState{}, false, []string{label("enabled") + "false"}},
		{"rejected", rejected, worker.RunState{}, false,
			[]string{label("registration") + "rejected by the studio operator: unknown machine (run `studio-worker register --reset` to ask again)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := worker.FormatStatus(tc.s, "/cfg/config.toml", tc.st, tc.running)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			common := []string{
				label("config path") + "/cfg/config.toml",
				label("api_base_url") + "https://studio.example/",
				label("vram_threshold_gb") + "7.5",
				label("auto_update") + "true",
				label("update_interval") + "900s",
			}
			for _, w := range append(common, tc.want...) {
				if !slices.Contains(lines, w) {
					t.Errorf("missing line %q in:\n%s", w, out)
				}
			}
			if strings.Contains(out, tokenValue) || strings.Contains(out, secretValue) {
				t.Errorf("status shows a secret:\n%s", out)
			}
		})
	}
}

func TestStatusReadsTheStateFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		state string // "" = no state file
		want  string
	}{
		{"no worker", "", "no worker running with this config"},
		{"live pid", fmt.Sprintf(`{"pid":%d,"session":"connected","since":"2026-01-01T00:00:00Z"}`, os.Getpid()), fmt.Sprintf("connected (pid %d)", os.Getpid())},
		{"stale pid", `{"pid":1073741823,"session":"connected","since":"2026-01-01T00:00:00Z"}`, "no worker running with this config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, func(s *config.Settings) { s.WorkerID, s.AuthToken = "w-1", tokenValue })
			if tc.state != "" {
				if err := os.WriteFile(filepath.Join(filepath.Dir(st.Path()), worker.StateFileName), []byte(tc.state), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if err := worker.Status(&out, st); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), label("session")+tc.want+"\n") {
				t.Errorf("want session %q in:\n%s", tc.want, out.String())
			}
			if !strings.Contains(out.String(), "approved as w-1") || strings.Contains(out.String(), tokenValue) {
				t.Errorf("registration line wrong or token shown:\n%s", out.String())
			}
		})
	}
}

func TestShowConfigRedactsSecrets(t *testing.T) {
	t.Parallel()
	st := newStore(t, func(s *config.Settings) {
		s.WorkerID, s.AuthToken = "w-5", tokenValue
		s.RegistrationSecret = secretValue
	})
	// local_api_token is the reference's secret key this version keeps as
	// an unknown key; a hand-written quoted key must be caught as well.
	f, err := os.OpenFile(st.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "local_api_token = \"lat-secret-1\"\n")
	f.Close()
	file := readFile(t, st.Path())
	// Keys Viper would read too: another casing, and a multi-line string in
	// a table this version does not know.
	file = append(file, []byte("\n[legacy]\nAuth_Token = \"\"\"\nmultiline-secret\"\"\"\n")...)

	cases := []struct {
		show    bool
		present []string
		absent  []string
	}{
		{false, []string{"# " + st.Path() + "\n", `worker_id = 'w-5'`, `auth_token = '[redacted]'`, `registration_secret = '[redacted]'`, `local_api_token = '[redacted]'`, `Auth_Token = '[redacted]'`},
			[]string{tokenValue, secretValue, "lat-secret-1", "multiline-secret"}},
		{true, []string{"# " + st.Path() + "\n", tokenValue, secretValue, "lat-secret-1", "multiline-secret"}, []string{"[redacted]"}},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		if err := worker.ShowConfig(&out, st.Path(), file, tc.show); err != nil {
			t.Fatal(err)
		}
		for _, p := range tc.present {
			if !strings.Contains(out.String(), p) {
				t.Errorf("show=%t: %q missing from:\n%s", tc.show, p, out.String())
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(out.String(), a) {
				t.Errorf("show=%t: %q present in:\n%s", tc.show, a, out.String())
			}
		}
	}
}

func TestSetThreshold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		arg     string
		want    float64 // when ok
		ok      bool
		problem string // part of the usage message
	}{
		{"8", 8, true, ""},
		{"0", 0, true, ""},
		{"12.5", 12.5, true, ""},
		{" 6 ", 6, true, ""},
		{"-1", 0, false, "0 or more"},
		{"-0.5", 0, false, "0 or more"},
		{"NaN", 0, false, "not a number"},
		{"abc", 0, false, "not a number"},
		{"inf", 0, false, "not a number"},
		{"-Inf", 0, false, "not a number"},
		{"", 0, false, "not a number"},
		{"8GB", 0, false, "not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, func(s *config.Settings) { s.VRAMThresholdGb = 3 })
			before := readFile(t, st.Path())
			var out bytes.Buffer
			err := worker.SetThreshold(&out, st, tc.arg)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := readConfig(t, st.Path()).VRAMThresholdGb; got != tc.want {
					t.Errorf("file threshold %g, want %g", got, tc.want)
				}
				if !strings.Contains(out.String(), "vram_threshold_gb = ") {
					t.Errorf("output %q", out.String())
				}
				return
			}
			var ue *worker.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), "set-threshold") {
				t.Fatalf("SetThreshold(%q) = %v, want a UsageError about %q", tc.arg, err, tc.problem)
			}
			if !bytes.Equal(readFile(t, st.Path()), before) {
				t.Error("file changed by a refused argument")
			}
		})
	}
}

func TestSetEnabled(t *testing.T) {
	t.Parallel()
	cases := []struct {
		arg  string
		want bool
		ok   bool
	}{
		{"false", false, true}, {"true", true, true}, {"off", false, true}, {"ON", true, true},
		{"maybe", false, false}, {"", false, false}, {"2", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, func(s *config.Settings) { s.Enabled = !tc.want })
			before := readFile(t, st.Path())
			err := worker.SetEnabled(&bytes.Buffer{}, st, tc.arg)
			if tc.ok {
				if err != nil || readConfig(t, st.Path()).Enabled != tc.want {
					t.Fatalf("SetEnabled(%q) = %v, file enabled %t", tc.arg, err, readConfig(t, st.Path()).Enabled)
				}
				return
			}
			var ue *worker.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("SetEnabled(%q) = %v, want UsageError", tc.arg, err)
			}
			if !bytes.Equal(readFile(t, st.Path()), before) {
				t.Error("file changed by a refused argument")
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	full := func(s *config.Settings) {
		s.APIBaseURL = "https://old.example/"
		s.WorkerID, s.AuthToken = "w-9", tokenValue
		s.InstallID, s.RegistrationRequestID, s.RegistrationSecret = "iid-9", "rr-9", secretValue
		s.RegistrationRejected = "unknown machine"
		s.VRAMThresholdGb = 6
	}
	cases := []struct {
		name    string
		url     string
		reset   bool
		usage   bool
		check   func(t *testing.T, s config.Settings)
		message string
	}{
		{"reset", "", true, false, func(t *testing.T, s config.Settings) {
			if s.WorkerID != "" || s.AuthToken != "" || s.InstallID != "" || s.RegistrationRequestID != "" || s.RegistrationSecret != "" || s.RegistrationRejected != "" {
				t.Errorf("reset left registration state: %q %t %q %q %t", s.WorkerID, s.AuthToken != "", s.InstallID, s.RegistrationRequestID, s.RegistrationSecret != "")
			}
			if s.APIBaseURL != "https://old.example/" || s.VRAMThresholdGb != 6 {
				t.Error("reset changed other settings")
			}
		}, "local registration state cleared"},
		{"api base url", "http://127.0.0.1:9/studio", false, false, func(t *testing.T, s config.Settings) {
			if s.APIBaseURL != "http://127.0.0.1:9/studio" || s.WorkerID != "w-9" {
				t.Errorf("url %q, worker %q", s.APIBaseURL, s.WorkerID)
			}
		}, "auto-register against http://127.0.0.1:9/studio"},
		{"both", "https://new.example/", true, false, func(t *testing.T, s config.Settings) {
			if s.APIBaseURL != "https://new.example/" || s.Registered() || s.InstallID != "" {
				t.Errorf("url %q, registered %t", s.APIBaseURL, s.Registered())
			}
		}, "cleared"},
		{"invalid url", "ftp://x.example/", false, true, nil, ""},
		{"not a url", "studio please", true, true, nil, ""},
		{"nothing to do", "", false, true, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t, full)
			before := readFile(t, st.Path())
			var out bytes.Buffer
			err := worker.Register(&out, st, tc.url, tc.reset)
			if tc.usage {
				var ue *worker.UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("Register = %v, want UsageError", err)
				}
				if !bytes.Equal(readFile(t, st.Path()), before) {
					t.Error("file changed by a refused register")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, readConfig(t, st.Path()))
			if !strings.Contains(out.String(), tc.message) || strings.Contains(out.String(), tokenValue) {
				t.Errorf("output %q, want %q and no token", out.String(), tc.message)
			}
		})
	}
}

func TestBuildCapabilities(t *testing.T) {
	t.Parallel()
	e := engine.NewMulti(engine.NewSynthetic())
	h := worker.Host{MachineName: "box", Username: "ann", VRAMTotalGb: 16}
	cases := []struct {
		name                  string
		autoStart, autoUpdate bool
		hasUI, enabled        bool
		wantAutoStart         bool
	}{
		{"headless ignores auto_start", true, true, false, true, false},
		{"ui honours auto_start", true, false, true, false, true},
		{"ui, auto_start off", false, true, true, true, false},
	}
	for _, tc := range cases {
		s := config.Default()
		s.VRAMThresholdGb = 9
		s.AutoStart, s.AutoUpdateEnabled = tc.autoStart, tc.autoUpdate
		c := worker.BuildCapabilities(s, e, h, "1.2.3", tc.enabled, tc.hasUI)
		if c.Engine != "multi" || c.MachineName != "box" || c.Username != "ann" || c.AgentVersion != "1.2.3" {
			t.Errorf("%s: identity %+v", tc.name, c)
		}
		if c.VRAMTotalGb != 16 || c.VRAMThresholdGb != 9 {
			t.Errorf("%s: vram %g/%g", tc.name, c.VRAMTotalGb, c.VRAMThresholdGb)
		}
		if c.AutoStart != tc.wantAutoStart || c.AutoUpdate != tc.autoUpdate || c.AutoEnabled != tc.enabled || c.OnlyWhenIdle {
			t.Errorf("%s: autoStart %t autoUpdate %t autoEnabled %t onlyWhenIdle %t", tc.name, c.AutoStart, c.AutoUpdate, c.AutoEnabled, c.OnlyWhenIdle)
		}
		if !slices.Equal(c.TaskKinds, protocol.AllKinds) {
			t.Errorf("%s: taskKinds %v, want %v", tc.name, c.TaskKinds, protocol.AllKinds)
		}
		for _, k := range protocol.AllKinds {
			want := "synthetic-" + string(k)
			if !slices.Contains(c.SupportedModelsPerKind[k], want) || !slices.Contains(c.SupportedModels, want) {
				t.Errorf("%s: %s models %v / %v lack %s", tc.name, k, c.SupportedModelsPerKind[k], c.SupportedModels, want)
			}
		}
		if !slices.IsSorted(c.SupportedModels) {
			t.Errorf("%s: supportedModels not sorted: %v", tc.name, c.SupportedModels)
		}
	}
}

func TestLogStartupBanner(t *testing.T) {
	cases := []struct {
		name string
		edit func(*config.Settings)
		want string
	}{
		{"unregistered", nil, "worker_id=(unregistered)"},
		{"registered", func(s *config.Settings) { s.WorkerID, s.AuthToken = "w-b", tokenValue }, "worker_id=w-b"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeConfig(t, path, func(s *config.Settings) {
			s.APIBaseURL = "http://127.0.0.1:1/"
			s.VRAMThresholdGb = 4
			if tc.edit != nil {
				tc.edit(s)
			}
		})
		var buf syncBuffer
		rt, err := worker.New(worker.Options{ConfigPath: path, Version: "1.2.3", Stderr: &buf, Host: testHost()})
		if err != nil {
			t.Fatal(err)
		}
		rt.LogStartupBanner()
		out := buf.String()
		for _, w := range []string{"studio-worker booting", "version=1.2.3", "config_path=" + path, "api_base_url=http://127.0.0.1:1/",
			"vram_threshold_gb=4", "auto_update_enabled=true", "auto_update_interval_secs=1800", tc.want} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: banner lacks %q:\n%s", tc.name, w, out)
			}
		}
		if strings.Contains(out, tokenValue) {
			t.Errorf("%s: banner shows the token", tc.name)
		}
	}
}
