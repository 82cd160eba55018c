package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOpenFirstRunWritesDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		detected float64
		want     float64
	}{
		{"unknown vram", 0, 12},
		{"smaller gpu clamps", 8, 8},
		{"fractional gpu clamps", 7.75, 7.75},
		{"bigger gpu never raises", 24, 12},
		{"negative ignored", -1, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "a", "b")
			path := filepath.Join(dir, "config.toml")
			s := openT(t, path, Options{DetectedVRAMGb: tc.detected})

			checkMode(t, path, 0o600)
			checkMode(t, dir, 0o700)
			onlyConfigIn(t, dir)

			want := Default()
			want.VRAMThresholdGb = tc.want
			want.ModelsRoot = homeModels(t)
			if got := s.Settings(); got != want {
				t.Errorf("Settings() = %+v\nwant %+v", got, want)
			}
			m := fileMap(t, path)
			wantFile := map[string]any{
				"api_base_url": DefaultAPIBaseURL, "vram_threshold_gb": tc.want, "enabled": true,
				"auto_start": true, "start_minimised": true, "only_when_idle": false,
				"auto_update_enabled": true, "auto_update_interval_secs": int64(1800),
				"auto_update_feed": DefaultAutoUpdateFeed, "auto_update_prerelease": false,
				"models_root": "~/models", "notify_job_completed": false, "notify_job_failed": false,
			}
			if !reflect.DeepEqual(m, wantFile) {
				t.Errorf("file = %v\nwant %v", m, wantFile)
			}
			if s.Path() != path {
				t.Errorf("Path() = %q", s.Path())
			}
		})
	}
}

func TestOpenExistingFileKeepsThreshold(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	const content = "vram_threshold_gb = 16\nenabled = false\n"
	writeT(t, path, content, 0o600)

	s := openT(t, path, Options{DetectedVRAMGb: 8})
	got := s.Settings()
	if got.VRAMThresholdGb != 16 || got.Enabled {
		t.Errorf("Settings() = %+v, want threshold 16 (integer in file) and enabled=false", got)
	}
	if got.AutoUpdateIntervalSecs != DefaultAutoUpdateIntervalSecs || got.APIBaseURL != DefaultAPIBaseURL {
		t.Errorf("missing keys must take defaults: %+v", got)
	}
	if b := readT(t, path); string(b) != content {
		t.Errorf("Open modified an existing file:\n%s", b)
	}
}

func fullSettings(root string) Settings {
	return Settings{
		APIBaseURL: "http://127.0.0.1:9999/studio/", WorkerID: "w-123", AuthToken: "tok-abc",
		VRAMThresholdGb: 6.5, Enabled: false, AutoStart: false, StartMinimised: false, OnlyWhenIdle: true,
		AutoUpdateEnabled: false, AutoUpdateIntervalSecs: 3600, AutoUpdateFeed: "https://example.com/feeds/o/r",
		AutoUpdatePrerelease: true, ModelsRoot: filepath.Join(root, "m"), WSReconnectAttempts: 7,
		InstallID: "inst-1", RegistrationRequestID: "req-1", RegistrationSecret: "rsec-1", RegistrationRejected: "test rejection",
		NotifyJobCompleted: true, NotifyJobFailed: true,
	}
}

func TestRoundTripEveryField(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	want := fullSettings(t.TempDir())
	got, err := s.Update(func(cur *Settings) error { *cur = want; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got != want || s.Settings() != want {
		t.Errorf("Update returned %+v\nwant %+v", got, want)
	}
	again := openT(t, path, Options{})
	if got := again.Settings(); got != want {
		t.Errorf("reopened = %+v\nwant %+v", got, want)
	}
	if !again.Settings().Registered() {
		t.Error("reopened settings should be registered")
	}
	// Every key of the contract is in the file, in contract order.
	b := string(readT(t, path))
	last := -1
	for _, f := range fields {
		i := strings.Index(b, "\n"+f.key+" = ")
		if f.key == KeyAPIBaseURL {
			i = strings.Index(b, f.key+" = ")
		}
		if i < 0 {
			t.Errorf("key %s missing from file:\n%s", f.key, b)
			continue
		}
		if i < last {
			t.Errorf("key %s out of order", f.key)
		}
		last = i
	}
}

func TestOptionalKeysOmittedWhenEmpty(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	if _, err := s.Update(func(c *Settings) error { *c = fullSettings(t.TempDir()); return nil }); err != nil {
		t.Fatal(err)
	}
	// Clearing registration state (register --reset) must remove the keys, not write "".
	if _, err := s.Update(func(c *Settings) error {
		c.WorkerID, c.AuthToken, c.InstallID, c.RegistrationRequestID, c.RegistrationSecret = "", "", "", "", ""
		c.WSReconnectAttempts = 0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := fileMap(t, path)
	for _, k := range []string{KeyWorkerID, KeyAuthToken, KeyInstallID, KeyRegistrationRequestID, KeyRegistrationSecret, KeyWSReconnectAttempts} {
		if _, ok := m[k]; ok {
			t.Errorf("empty optional key %s still in file", k)
		}
	}
	if _, ok := m[KeyEnabled]; !ok {
		t.Error("false bools must still be written")
	}
}

func TestModelsRootTildeKept(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	if got := s.Settings().ModelsRoot; got != homeModels(t) {
		t.Fatalf("ModelsRoot = %q, want expanded %q", got, homeModels(t))
	}
	if _, err := s.Update(func(c *Settings) error { c.OnlyWhenIdle = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := fileMap(t, path)[KeyModelsRoot]; got != "~/models" {
		t.Errorf("unchanged models_root written as %v, want ~/models", got)
	}
	other := filepath.Join(t.TempDir(), "elsewhere")
	if _, err := s.Update(func(c *Settings) error { c.ModelsRoot = other; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := fileMap(t, path)[KeyModelsRoot]; got != other {
		t.Errorf("changed models_root written as %v, want %s", got, other)
	}
}

func TestUnknownKeysKept(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	writeT(t, path, `# written by a newer version
local_api_port = 4787
local_api_token = "abcdef"
api_base_url = "https://studio.example/"
Enabled = true
future_list = [1, 2, 3]

[some_table]
x = 1
name = "n"

[some_table.inner]
deep = true

[[plugins]]
id = "a"

[[plugins]]
id = "b"
`, 0o600)
	s := openT(t, path, Options{})
	if _, err := s.Update(func(c *Settings) error { c.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	m := fileMap(t, path)
	want := map[string]any{
		"local_api_port":  int64(4787),
		"local_api_token": "abcdef",
		"future_list":     []any{int64(1), int64(2), int64(3)},
		"some_table":      map[string]any{"x": int64(1), "name": "n", "inner": map[string]any{"deep": true}},
		"plugins":         []any{map[string]any{"id": "a"}, map[string]any{"id": "b"}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("unknown key %s = %#v, want %#v", k, m[k], v)
		}
	}
	if m["api_base_url"] != "https://studio.example/" || m["enabled"] != false {
		t.Errorf("known keys wrong: api=%v enabled=%v", m["api_base_url"], m["enabled"])
	}
	// Viper reads keys case-insensitively, so a differently cased known key must not survive.
	if _, ok := m["Enabled"]; ok {
		t.Error("stale differently-cased known key kept")
	}
	// The rewritten file is still readable by the package (and the value is what Update set).
	if got := openT(t, path, Options{}).Settings(); got.Enabled || got.APIBaseURL != "https://studio.example/" {
		t.Errorf("reopened = %+v", got)
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	env := envOf(map[string]string{
		"STUDIO_WORKER_VRAM_THRESHOLD_GB":     "4",
		"STUDIO_WORKER_ENABLED":               "false",
		"STUDIO_WORKER_AUTH_TOKEN":            "env-token",
		"STUDIO_WORKER_WORKER_ID":             "env-worker",
		"STUDIO_WORKER_WS_RECONNECT_ATTEMPTS": "3",
		"STUDIO_WORKER_API_BASE_URL":          "", // empty: ignored
	})
	s := openT(t, path, Options{LookupEnv: env})
	check := func(got Settings) {
		t.Helper()
		if got.VRAMThresholdGb != 4 || got.Enabled || got.AuthToken.Reveal() != "env-token" ||
			got.WorkerID != "env-worker" || got.WSReconnectAttempts != 3 || got.APIBaseURL != DefaultAPIBaseURL {
			t.Errorf("effective settings lack env overrides: %+v", got)
		}
	}
	check(s.Settings())

	got, err := s.Update(func(c *Settings) error {
		if c.VRAMThresholdGb != 12 || !c.Enabled || c.AuthToken != "" {
			t.Errorf("Update fn must see file-level values, got %+v", *c)
		}
		c.NotifyJobFailed = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check(got)
	if !got.NotifyJobFailed {
		t.Error("Update's change missing from result")
	}
	m := fileMap(t, path)
	if m[KeyVRAMThresholdGb] != 12.0 || m[KeyEnabled] != true || m[KeyNotifyJobFailed] != true {
		t.Errorf("file = %v", m)
	}
	for _, k := range []string{KeyAuthToken, KeyWorkerID, KeyWSReconnectAttempts} {
		if _, ok := m[k]; ok {
			t.Errorf("env value of %s written to file", k)
		}
	}
}

func TestEnvInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value, field string
	}{
		{"float", "STUDIO_WORKER_VRAM_THRESHOLD_GB", "lots", KeyVRAMThresholdGb},
		{"negative float", "STUDIO_WORKER_VRAM_THRESHOLD_GB", "-2", KeyVRAMThresholdGb},
		{"bool", "STUDIO_WORKER_ENABLED", "maybe", KeyEnabled},
		{"uint32 negative", "STUDIO_WORKER_WS_RECONNECT_ATTEMPTS", "-1", KeyWSReconnectAttempts},
		{"uint32 overflow", "STUDIO_WORKER_WS_RECONNECT_ATTEMPTS", "4294967296", KeyWSReconnectAttempts},
		{"uint64", "STUDIO_WORKER_AUTO_UPDATE_INTERVAL_SECS", "1.5", KeyAutoUpdateIntervalSecs},
		{"interval too small", "STUDIO_WORKER_AUTO_UPDATE_INTERVAL_SECS", "10", KeyAutoUpdateIntervalSecs},
		{"url", "STUDIO_WORKER_API_BASE_URL", "ftp://SECRETHOST/", KeyAPIBaseURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := configPath(t)
			_, err := Open(path, Options{LookupEnv: envOf(map[string]string{tc.key: tc.value}), Logger: quietLogger()})
			if err == nil {
				t.Fatal("Open succeeded with an invalid env value")
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name %s", err, tc.key)
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("error %q echoes the value", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("error %v: want *FieldError for %s", err, tc.field)
			}
		})
	}
}

func TestCorruptFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		line    int
	}{
		{"bad bool", "api_base_url = \"https://x.example/\"\nenabled = tru\n", 2},
		{"unquoted secret", "enabled = true\n\nauth_token = SUPERSECRET-abc\n", 3},
		{"bad number", "enabled = true\nvram_threshold_gb = 1.2.3SUPERSECRET\n", 2},
		{"unterminated string", "registration_secret = \"SUPERSECRET\n", 1},
		{"duplicate key", "enabled = true\nenabled = false\n", 0}, // go-toml gives no position
		{"bad table", "x = 1\n[broken\n", 2},
		{"float out of range", "enabled = true\nvram_threshold_gb = 1e99999\n", 2},
		{"bad char", "enabled = true\n\n\nauth_token = \"ok\" Q\n", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := configPath(t)
			writeT(t, path, tc.content, 0o644)
			_, err := Open(path, Options{LookupEnv: noEnv, Logger: quietLogger()})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Open = %v, want *ParseError", err)
			}
			if pe.Path != path || pe.Line != tc.line || (tc.line > 0 && pe.Column < 1) {
				t.Errorf("ParseError = %+v, want %s line %d", pe, path, tc.line)
			}
			prefix := fmt.Sprintf("%s:%d:%d: ", path, pe.Line, pe.Column)
			if tc.line == 0 {
				prefix = path + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) || pe.Msg == "" {
				t.Errorf("Error() = %q, want prefix %q and a reason", err, prefix)
			}
			t.Logf("%v", err)
			if strings.Contains(err.Error(), "SUPERSECRET") || strings.Contains(err.Error(), "99999") ||
				strings.Contains(err.Error(), "'Q'") {
				t.Errorf("parse error echoes file content: %q", err)
			}
			if got := readT(t, path); string(got) != tc.content {
				t.Errorf("file modified:\n%s", got)
			}
			checkMode(t, path, 0o644)
			onlyConfigIn(t, filepath.Dir(path))
		})
	}
}

func TestTypeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ content, key string }{
		{`vram_threshold_gb = "abc"`, KeyVRAMThresholdGb},
		{`enabled = "yes"`, KeyEnabled},
		{`auto_update_interval_secs = -5`, KeyAutoUpdateIntervalSecs},
		{`auto_update_interval_secs = 1800.0`, KeyAutoUpdateIntervalSecs},
		{`ws_reconnect_attempts = 5000000000`, KeyWSReconnectAttempts},
		{`auth_token = 12345`, KeyAuthToken},
		{"[api_base_url]\nx = 1", KeyAPIBaseURL},
		{`auto_update_interval_secs = 30`, KeyAutoUpdateIntervalSecs}, // parses, but invalid
		{`api_base_url = "file:///etc"`, KeyAPIBaseURL},
	}
	for _, tc := range tests {
		t.Run(tc.content, func(t *testing.T) {
			t.Parallel()
			path := configPath(t)
			writeT(t, path, tc.content+"\n", 0o600)
			_, err := Open(path, Options{LookupEnv: noEnv, Logger: quietLogger()})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.key {
				t.Fatalf("Open = %v, want *FieldError for %s", err, tc.key)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q must name the file and the key", err)
			}
			if got := readT(t, path); string(got) != tc.content+"\n" {
				t.Errorf("file modified:\n%s", got)
			}
		})
	}
}

func TestUpdateWritesNothingOnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name  string
		fn    func(*Settings) error
		field string // expected *FieldError field, "" = expect boom
	}{
		{"fn fails after editing", func(s *Settings) error { s.Enabled = false; return boom }, ""},
		{"bad url", func(s *Settings) error { s.APIBaseURL = "ftp://x/"; return nil }, KeyAPIBaseURL},
		{"negative vram", func(s *Settings) error { s.VRAMThresholdGb = -1; return nil }, KeyVRAMThresholdGb},
		{"short interval", func(s *Settings) error { s.AutoUpdateIntervalSecs = 59; return nil }, KeyAutoUpdateIntervalSecs},
		{"empty feed", func(s *Settings) error { s.AutoUpdateFeed = ""; return nil }, KeyAutoUpdateFeed},
		{"empty models root", func(s *Settings) error { s.ModelsRoot = ""; return nil }, KeyModelsRoot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := configPath(t)
			s := openT(t, path, Options{})
			before := readT(t, path)
			beforeInfo, _ := os.Stat(path)
			beforeSettings := s.Settings()

			got, err := s.Update(tc.fn)
			if tc.field == "" {
				if !errors.Is(err, boom) {
					t.Fatalf("Update = %v, want boom", err)
				}
			} else {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.field {
					t.Fatalf("Update = %v, want *FieldError for %s", err, tc.field)
				}
			}
			if got != beforeSettings || s.Settings() != beforeSettings {
				t.Error("settings changed by a failed Update")
			}
			afterInfo, _ := os.Stat(path)
			if !bytes.Equal(readT(t, path), before) || !os.SameFile(beforeInfo, afterInfo) {
				t.Error("file rewritten by a failed Update")
			}
			onlyConfigIn(t, filepath.Dir(path))
		})
	}
}

func TestUpdateRenameFailureLeavesFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	before := readT(t, path)
	s.rename = func(string, string) error { return errors.New("disk on fire") }
	if _, err := s.Update(func(c *Settings) error { c.Enabled = false; return nil }); err == nil {
		t.Fatal("Update succeeded despite a failed rename")
	}
	if !bytes.Equal(readT(t, path), before) {
		t.Error("old file changed")
	}
	if !s.Settings().Enabled {
		t.Error("in-memory settings changed by a failed save")
	}
	onlyConfigIn(t, filepath.Dir(path))
}

func TestUpdateCorruptFileWritesNothing(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	const bad = "enabled = \n"
	writeT(t, path, bad, 0o600)
	called := false
	_, err := s.Update(func(*Settings) error { called = true; return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("Update = %v, want *ParseError at line 1", err)
	}
	if called {
		t.Error("fn called on an unparseable file")
	}
	if string(readT(t, path)) != bad {
		t.Error("corrupt file overwritten")
	}
}

// TestUpdateRefusesEmptyFile: an editor that truncates and rewrites in
// place leaves an empty file for a moment; saving then would replace the
// registration with defaults.
func TestUpdateRefusesEmptyFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	if _, err := s.Update(func(c *Settings) error { c.WorkerID, c.AuthToken = "w-1", "tok"; return nil }); err != nil {
		t.Fatal(err)
	}
	writeT(t, path, "", 0o600)
	called := false
	if _, err := s.Update(func(*Settings) error { called = true; return nil }); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("Update over an empty file = %v, want a refusal", err)
	}
	if called || len(readT(t, path)) != 0 {
		t.Error("Update wrote over an empty file")
	}
	if !s.Settings().Registered() {
		t.Error("the registration in memory was lost")
	}
}

func TestModeBecomes0600AndNoTempLeft(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	writeT(t, path, "enabled = true\n", 0o644)
	s := openT(t, path, Options{})
	checkMode(t, path, 0o644) // Open alone never rewrites
	if _, err := s.Update(func(c *Settings) error { c.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	onlyConfigIn(t, filepath.Dir(path))
}

func TestUpdateRecreatesMissingFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{DetectedVRAMGb: 6})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	got, err := s.Update(func(c *Settings) error { c.OnlyWhenIdle = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !got.OnlyWhenIdle || got.VRAMThresholdGb != 6 {
		t.Errorf("got %+v", got)
	}
	checkMode(t, path, 0o600)
}

func TestTwoStoresShareFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	a := openT(t, path, Options{})
	b := openT(t, path, Options{}) // another process

	if changed, err := a.Reload(); changed || err != nil {
		t.Fatalf("Reload without a change = %v, %v", changed, err)
	}
	if _, err := b.Update(func(c *Settings) error { c.VRAMThresholdGb = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	// a has not reloaded yet; its Update must still keep b's change.
	if _, err := a.Update(func(c *Settings) error {
		if c.VRAMThresholdGb != 5 {
			t.Errorf("Update fn saw stale threshold %v", c.VRAMThresholdGb)
		}
		c.Enabled = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := fileMap(t, path)
	if m[KeyVRAMThresholdGb] != 5.0 || m[KeyEnabled] != false {
		t.Errorf("file = %v: a's Update reverted b's change", m)
	}

	// And b sees a's change with a single Reload.
	changed, err := b.Reload()
	if err != nil || !changed {
		t.Fatalf("b.Reload = %v, %v; want changed", changed, err)
	}
	if got := b.Settings(); got.Enabled || got.VRAMThresholdGb != 5 {
		t.Errorf("b.Settings() = %+v", got)
	}
	if changed, err := b.Reload(); changed || err != nil {
		t.Errorf("second Reload = %v, %v; want no change", changed, err)
	}
}

func TestReloadKeepsLastGoodSettings(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	s := openT(t, path, Options{})
	good := s.Settings()
	replaceT(t, path, "vram_threshold_gb = = 3\n")
	changed, err := s.Reload()
	var pe *ParseError
	if changed || !errors.As(err, &pe) {
		t.Fatalf("Reload = %v, %v; want *ParseError", changed, err)
	}
	if s.Settings() != good {
		t.Error("settings lost after a bad reload")
	}
	// Still an error while the file stays bad.
	if _, err := s.Reload(); !errors.As(err, &pe) {
		t.Errorf("second Reload = %v; want *ParseError", err)
	}
	// A rewrite that changes nothing effective reports no change.
	replaceT(t, path, "enabled = true\n")
	if changed, err := s.Reload(); changed || err != nil {
		t.Errorf("Reload of an equivalent file = %v, %v", changed, err)
	}
	// A truncated (empty) file is taken as a write in progress, not as "all defaults".
	if _, err := s.Update(func(c *Settings) error { c.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	replaceT(t, path, "")
	if changed, err := s.Reload(); changed || err != nil || s.Settings().Enabled {
		t.Errorf("Reload of an empty file = %v, %v, enabled=%v", changed, err, s.Settings().Enabled)
	}
	replaceT(t, path, "enabled = true\n")
	if changed, err := s.Reload(); !changed || err != nil {
		t.Errorf("Reload after the write completed = %v, %v", changed, err)
	}
	good = s.Settings()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reload of a missing file = %v", err)
	}
	if s.Settings() != good {
		t.Error("settings lost after the file vanished")
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	var logs syncBuffer
	a := openT(t, path, Options{Logger: jsonLogger(&logs)})
	b := openT(t, path, Options{})

	changes := make(chan Settings, 16)
	ticks := make(chan struct{}, 1)
	a.afterTick = func() {
		select {
		case ticks <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Watch(ctx, 5*time.Millisecond, func(s Settings) { changes <- s })
	}()
	defer func() {
		cancel()
		waitFor(t, done, "Watch to return")
	}()

	// Another process changes the file.
	if _, err := b.Update(func(c *Settings) error { c.VRAMThresholdGb = 3; c.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, changes, "external change"); got.VRAMThresholdGb != 3 || got.Enabled {
		t.Errorf("onChange got %+v", got)
	}

	// This Store's own Update is reported as well.
	if _, err := a.Update(func(c *Settings) error { c.Enabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, changes, "own change"); !got.Enabled {
		t.Errorf("onChange got %+v", got)
	}

	// A broken file: warned once however many ticks pass, last good settings kept.
	replaceT(t, path, "enabled = = true\n")
	for i := 0; i < 5; i++ {
		waitFor(t, ticks, "tick")
	}
	waitFor(t, ticks, "tick") // at least one full tick after the loop above
	if n := strings.Count(logs.String(), "config file unusable"); n != 1 {
		t.Errorf("warned %d times for one error, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"category":"config"`) {
		t.Error("warning lacks category=config")
	}
	if !a.Settings().Enabled || a.Settings().VRAMThresholdGb != 3 {
		t.Errorf("last good settings lost: %+v", a.Settings())
	}

	// Fixed again: the change arrives.
	if _, err := b.Update(func(c *Settings) error { c.VRAMThresholdGb = 9; return nil }); err == nil {
		t.Fatal("b.Update on a corrupt file should fail")
	}
	replaceT(t, path, "vram_threshold_gb = 9\n")
	if got := waitFor(t, changes, "change after repair"); got.VRAMThresholdGb != 9 {
		t.Errorf("onChange got %+v", got)
	}
	select {
	case extra := <-changes:
		t.Errorf("unexpected extra change %+v", extra)
	default:
	}
}

func TestWatchStopsOnCancelledContext(t *testing.T) {
	t.Parallel()
	s := openT(t, configPath(t), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, 0, nil) // default interval must not block shutdown
	}()
	waitFor(t, done, "Watch to return")
}

func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	var logs syncBuffer
	env := envOf(map[string]string{"STUDIO_WORKER_REGISTRATION_SECRET": "SUPERSECRET-env"})
	s := openT(t, path, Options{Logger: jsonLogger(&logs), LookupEnv: env})
	if _, err := s.Update(func(c *Settings) error {
		c.WorkerID, c.AuthToken = "w", "SUPERSECRET-tok"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	other := openT(t, path, Options{})
	if _, err := other.Update(func(c *Settings) error { c.AuthToken = "SUPERSECRET-tok2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(); !changed || err != nil {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	out := logs.String()
	if strings.Contains(out, "SUPERSECRET") {
		t.Errorf("secret in config logs:\n%s", out)
	}
	for _, want := range []string{"config loaded", "config saved", "config reloaded", "STUDIO_WORKER_REGISTRATION_SECRET"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}
