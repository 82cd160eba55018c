package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestXDGWriterNeverDuplicates(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	dir, err := XDGDir()
	if err != nil || dir != filepath.Join(home, "autostart") {
		t.Fatalf("XDGDir = %q, %v", dir, err)
	}
	e := Entry{Exe: "/opt/studio worker/bin/studio-worker", Args: []string{"--config", "/home/a/100%/config.toml", "ui"}}
	for range 3 {
		if err := ApplyXDG(dir, true, e); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "studio-worker-ui.desktop" {
		t.Fatalf("autostart dir holds %v (%v)", entries, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	want := `Exec="/opt/studio worker/bin/studio-worker" --config /home/a/100%%/config.toml ui`
	if !strings.Contains(string(b), want+"\n") || !strings.HasPrefix(string(b), "[Desktop Entry]\n") {
		t.Errorf("desktop file:\n%s\nwant line %s", b, want)
	}
	// A changed binary path rewrites the one entry.
	e.Exe = "/usr/bin/studio-worker"
	if err := ApplyXDG(dir, true, e); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "studio-worker-ui.desktop"))
	if !strings.Contains(string(b), "Exec=/usr/bin/studio-worker --config") {
		t.Errorf("not rewritten:\n%s", b)
	}
	for range 2 {
		if err := ApplyXDG(dir, false, e); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("disabled autostart left %v", entries)
	}
}

func TestQuoting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"ui", "ui"},
		{"", `""`},
		{`a"b`, `"a\"b"`},
		{`$HOME`, `"\$HOME"`},
		{`back\slash`, `"back\\slash"`},
	} {
		if got := desktopQuote(tc.in); got != tc.want {
			t.Errorf("desktopQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := WindowsCommand(Entry{Exe: `C:\Program Files\sw.exe`, Args: []string{"ui"}}); got != `"C:\Program Files\sw.exe" ui` {
		t.Errorf("WindowsCommand = %q", got)
	}
	if got := WindowsCommand(Entry{Exe: `C:\sw.exe`, Args: []string{"--config", `C:\a b\c.toml`, "ui"}}); got != `"C:\sw.exe" --config "C:\a b\c.toml" ui` {
		t.Errorf("WindowsCommand = %q", got)
	}
	p := LaunchAgentPlist(Entry{Exe: "/Applications/A&B/sw", Args: []string{"ui"}})
	if !strings.Contains(p, "<string>/Applications/A&amp;B/sw</string>") || !strings.Contains(p, "<key>RunAtLoad</key>\n\t<true/>") || !strings.Contains(p, LaunchAgentLabel) {
		t.Errorf("plist:\n%s", p)
	}
}

func TestLaunchAgentWriter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := Entry{Exe: "/usr/local/bin/studio-worker", Args: []string{"ui"}}
	for range 2 {
		if err := ApplyLaunchAgent(dir, true, e); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != LaunchAgentLabel+".plist" {
		t.Fatalf("entries %v", entries)
	}
	if err := ApplyLaunchAgent(dir, false, e); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}
