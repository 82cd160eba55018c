package autostart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Name identifies the entry on every platform (file stem, registry value).
const Name = "studio-worker-ui"

// Entry is the command the login entry runs.
type Entry struct {
	Exe  string   // absolute path of the binary
	Args []string // e.g. ["ui"] or ["--config", path, "ui"]
}

// Current is this binary with the given arguments.
func Current(args ...string) (Entry, error) {
	exe, err := os.Executable()
	if err != nil {
		return Entry{}, fmt.Errorf("autostart: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	return Entry{Exe: exe, Args: args}, nil
}

// Apply installs the entry when enabled and removes it otherwise. It is
// idempotent: one fixed entry name, rewritten only when its content changed.
func Apply(enabled bool, e Entry) error {
	if err := apply(enabled, e); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// writeIfChanged writes data to path (0644 dirs 0755 as login items must be
// readable by the session manager) unless it already holds exactly data.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// XDGDir is the XDG autostart folder: $XDG_CONFIG_HOME/autostart, or
// ~/.config/autostart.
func XDGDir() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart"), nil
}

// ApplyXDG manages <dir>/studio-worker-ui.desktop.
func ApplyXDG(dir string, enabled bool, e Entry) error {
	path := filepath.Join(dir, Name+".desktop")
	if !enabled {
		return removeIfExists(path)
	}
	return writeIfChanged(path, []byte(DesktopFile(e)))
}

// DesktopFile is the XDG autostart entry for e.
func DesktopFile(e Entry) string {
	exec := make([]string, 0, len(e.Args)+1)
	for _, a := range append([]string{e.Exe}, e.Args...) {
		exec = append(exec, desktopQuote(a))
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=studio-worker\n" +
		"Comment=Runs AI generation jobs from a studio on this machine\n" +
		"Exec=" + strings.Join(exec, " ") + "\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// desktopQuote quotes one Exec argument as the Desktop Entry spec says:
// reserved characters force double quotes, inside which " ` $ \ are
// backslash-escaped; % is doubled because Exec expands field codes.
func desktopQuote(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`=") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range a {
		switch r {
		case '"', '`', '$', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// LaunchAgentPlist is the macOS LaunchAgent for e.
func LaunchAgentPlist(e Entry) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + LaunchAgentLabel + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{e.Exe}, e.Args...) {
		b.WriteString("\t\t<string>" + xmlEscape(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.String()
}

// LaunchAgentLabel is the plist label and file stem on macOS.
const LaunchAgentLabel = "gg.minis.studio-worker-ui"

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// ApplyLaunchAgent manages <dir>/gg.minis.studio-worker-ui.plist.
func ApplyLaunchAgent(dir string, enabled bool, e Entry) error {
	path := filepath.Join(dir, LaunchAgentLabel+".plist")
	if !enabled {
		return removeIfExists(path)
	}
	return writeIfChanged(path, []byte(LaunchAgentPlist(e)))
}

// WindowsCommand is the HKCU Run value for e.
func WindowsCommand(e Entry) string {
	parts := make([]string, 0, len(e.Args)+1)
	for _, a := range append([]string{e.Exe}, e.Args...) {
		if a == "" || strings.ContainsAny(a, " \t\"") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		parts = append(parts, a)
	}
	// The exe is always quoted: Windows paths often hold spaces.
	if !strings.HasPrefix(parts[0], `"`) {
		parts[0] = `"` + parts[0] + `"`
	}
	return strings.Join(parts, " ")
}
