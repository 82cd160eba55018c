package cli_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minis-gg/studio-worker/worker/cli"
	"github.com/minis-gg/studio-worker/worker/config"
)

const (
	tokenValue  = "tok-0123456789abcdef"
	secretValue = "sec-fedcba9876543210"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(args ...string) result {
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb, cli.Build{Version: "1.2.3"})
	return result{code, out.String(), errb.String()}
}

func noEnv(string) (string, bool) { return "", false }

// newConfig writes a settings file in a temp dir and returns its path.
func newConfig(t *testing.T, edit func(*config.Settings)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	st, err := config.Open(path, config.Options{Logger: slog.New(slog.DiscardHandler), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		if _, err := st.Update(func(s *config.Settings) error { edit(s); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func settingsAt(t *testing.T, path string) config.Settings {
	t.Helper()
	st, err := config.Open(path, config.Options{Logger: slog.New(slog.DiscardHandler), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	return st.Settings()
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(args...)
		if r.code != 0 || r.stdout != "studio-worker 1.2.3\n" {
			t.Errorf("%v: code %d, stdout %q", args, r.code, r.stdout)
		}
	}
}

// TestConfigFlagOnEveryCommand: --config before or after the command name
// selects the file every one-shot command reads or writes.
func TestConfigFlagOnEveryCommand(t *testing.T) {
	t.Parallel()
	cmds := [][]string{
		{"status"}, {"config"}, {"set-enabled", "false"}, {"set-threshold", "7"},
		{"register", "--api-base-url", "http://127.0.0.1:1/"}, {"register", "--reset"},
	}
	for _, c := range cmds {
		for _, before := range []bool{true, false} {
			path := filepath.Join(t.TempDir(), "nested", "config.toml")
			args := append([]string{"--config", path}, c...)
			if !before {
				args = append(append([]string{}, c...), "--config", path)
			}
			r := runCLI(args...)
			if r.code != 0 {
				t.Errorf("%v: code %d, stderr %s", args, r.code, r.stderr)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%v: --config file not used: %v", args, err)
			}
		}
	}
}

func TestSetThreshold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    []string
		code    int
		want    float64
		message string
	}{
		{[]string{"set-threshold", "8"}, 0, 8, ""},
		{[]string{"set-threshold", "0.5"}, 0, 0.5, ""},
		{[]string{"set-threshold", "-1"}, 2, 0, `"-1" must be 0 or more GB`},
		{[]string{"set-threshold", "-0.25"}, 2, 0, `"-0.25" must be 0 or more GB`},
		{[]string{"set-threshold", "NaN"}, 2, 0, `"NaN" is not a number of GB`},
		{[]string{"set-threshold", "abc"}, 2, 0, `"abc" is not a number of GB`},
		{[]string{"set-threshold", "inf"}, 2, 0, `"inf" is not a number of GB`},
		{[]string{"set-threshold"}, 2, 0, "missing GB argument"},
		{[]string{"set-threshold", "1", "2"}, 2, 0, "expected one GB argument"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			path := newConfig(t, func(s *config.Settings) { s.VRAMThresholdGb = 3 })
			before := fileBytes(t, path)
			// --config after the argument too: a negative number must not
			// swallow the flags behind it.
			r := runCLI(append(tc.args, "--config", path)...)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			if tc.code == 0 {
				if got := settingsAt(t, path).VRAMThresholdGb; got != tc.want {
					t.Errorf("file threshold %g, want %g", got, tc.want)
				}
				return
			}
			if !strings.Contains(r.stderr, tc.message) {
				t.Errorf("stderr %q does not name the problem (%q)", r.stderr, tc.message)
			}
			if !bytes.Equal(fileBytes(t, path), before) {
				t.Error("file changed by a refused argument")
			}
		})
	}
}

func TestSetEnabled(t *testing.T) {
	t.Parallel()
	cases := []struct {
		arg  []string
		code int
		want bool
	}{
		{[]string{"false"}, 0, false}, {[]string{"true"}, 0, true},
		{[]string{"perhaps"}, 2, false}, {nil, 2, false},
	}
	for _, tc := range cases {
		path := newConfig(t, func(s *config.Settings) { s.Enabled = !tc.want })
		before := fileBytes(t, path)
		r := runCLI(append([]string{"--config", path, "set-enabled"}, tc.arg...)...)
		if r.code != tc.code {
			t.Errorf("set-enabled %v: code %d, want %d (%s)", tc.arg, r.code, tc.code, r.stderr)
			continue
		}
		if tc.code == 0 {
			if settingsAt(t, path).Enabled != tc.want || r.stdout != "enabled = "+tc.arg[0]+"\n" {
				t.Errorf("set-enabled %v: file enabled %t, stdout %q", tc.arg, settingsAt(t, path).Enabled, r.stdout)
			}
		} else if !bytes.Equal(fileBytes(t, path), before) || !strings.Contains(r.stderr, "set-enabled") {
			t.Errorf("set-enabled %v: file changed or unclear message %q", tc.arg, r.stderr)
		}
	}
}

func TestConfigRedactsUnlessAsked(t *testing.T) {
	t.Parallel()
	path := newConfig(t, func(s *config.Settings) {
		s.WorkerID, s.AuthToken, s.RegistrationSecret = "w-3", tokenValue, secretValue
	})
	r := runCLI("--config", path, "config")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "# "+path+"\n") || !strings.Contains(r.stdout, "worker_id = 'w-3'") {
		t.Fatalf("config: code %d, stdout:\n%s", r.code, r.stdout)
	}
	for _, s := range []string{tokenValue, secretValue} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("config shows %q without --show-secrets", s)
		}
	}
	if strings.Count(r.stdout, "[redacted]") != 2 {
		t.Errorf("want 2 redacted values:\n%s", r.stdout)
	}
	r = runCLI("config", "--show-secrets", "--config", path)
	if r.code != 0 || !strings.Contains(r.stdout, tokenValue) || !strings.Contains(r.stdout, secretValue) {
		t.Errorf("config --show-secrets: code %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*config.Settings)
		want string
	}{
		{"approved", func(s *config.Settings) { s.WorkerID, s.AuthToken = "w-8", tokenValue }, "registration:       approved as w-8"},
		{"pending", func(s *config.Settings) { s.RegistrationRequestID, s.RegistrationSecret = "rr-4", secretValue },
			"registration:       pending operator approval (request rr-4)"},
		{"not registered", nil, "registration:       not registered (will auto-register on next launch)"},
	}
	for _, tc := range cases {
		path := newConfig(t, tc.edit)
		r := runCLI("status", "--config", path)
		if r.code != 0 {
			t.Fatalf("%s: code %d %s", tc.name, r.code, r.stderr)
		}
		for _, w := range []string{"config path:        " + path, tc.want, "session:            no worker running with this config",
			"enabled:            true", "vram_threshold_gb:  ", "auto_update:        ", "update_interval:    1800s"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: %q missing from:\n%s", tc.name, w, r.stdout)
			}
		}
		if strings.Contains(r.stdout+r.stderr, tokenValue) || strings.Contains(r.stdout+r.stderr, secretValue) {
			t.Errorf("%s: status shows a secret", tc.name)
		}
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	registered := func(s *config.Settings) {
		s.WorkerID, s.AuthToken = "w-1", tokenValue
		s.InstallID, s.RegistrationRequestID, s.RegistrationSecret = "iid", "rr-1", secretValue
	}
	path := newConfig(t, registered)
	r := runCLI("--config", path, "register", "--reset")
	s := settingsAt(t, path)
	if r.code != 0 || s.WorkerID != "" || s.AuthToken != "" || s.InstallID != "" || s.RegistrationRequestID != "" || s.RegistrationSecret != "" {
		t.Errorf("register --reset: code %d, left %+v", r.code, s)
	}
	if !strings.Contains(r.stdout, "local registration state cleared") {
		t.Errorf("register --reset stdout %q", r.stdout)
	}

	path = newConfig(t, registered)
	r = runCLI("--config", path, "register", "--api-base-url", "https://studio.example/x")
	if s := settingsAt(t, path); r.code != 0 || s.APIBaseURL != "https://studio.example/x" || s.WorkerID != "w-1" {
		t.Errorf("register --api-base-url: code %d, url %q, worker %q", r.code, s.APIBaseURL, s.WorkerID)
	}

	for _, args := range [][]string{
		{"register", "--api-base-url", "ftp://nope/"},
		{"register", "--api-base-url", "not a url", "--reset"},
		{"register"},
		{"register", "extra"},
	} {
		path := newConfig(t, registered)
		before := fileBytes(t, path)
		r := runCLI(append([]string{"--config", path}, args...)...)
		if r.code != 2 || !bytes.Equal(fileBytes(t, path), before) {
			t.Errorf("%v: code %d (want 2), file changed %t; stderr %s", args, r.code, !bytes.Equal(fileBytes(t, path), before), r.stderr)
		}
	}
}

func TestUnparseableConfigIsNeverTouched(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"status"}, {"config"}, {"config", "--show-secrets"}, {"set-threshold", "8"}, {"set-enabled", "false"},
		{"register", "--reset"}, {"register", "--api-base-url", "http://127.0.0.1:1/"}, {"run"},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		bad := []byte("api_base_url = \"http://127.0.0.1:1/\"\nauth_token = \"" + tokenValue + "\"\nenabled = = true\n")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(append([]string{"--config", path}, args...)...)
		if r.code != 1 {
			t.Errorf("%v: code %d, want 1", args, r.code)
		}
		if !strings.Contains(r.stderr, path+":3:") {
			t.Errorf("%v: stderr %q does not name the file and line 3", args, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, tokenValue) {
			t.Errorf("%v: the error echoes the file's token", args)
		}
		if !bytes.Equal(fileBytes(t, path), bad) {
			t.Errorf("%v: the file was modified", args)
		}
	}
}

func TestUnknownCommandOrFlag(t *testing.T) {
	t.Parallel()
	path := newConfig(t, nil)
	for _, args := range [][]string{
		{"bogus"}, {"--nope"}, {"status", "--nope"}, {"status", "extra"}, {"set-enabled", "--wat", "true"},
	} {
		r := runCLI(append([]string{"--config", path}, args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "studio-worker: ") {
			t.Errorf("%v: code %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
		}
	}
}
