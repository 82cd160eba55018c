//go:build darwin

package autostart

import (
	"os"
	"path/filepath"
)

func apply(enabled bool, e Entry) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	return ApplyLaunchAgent(filepath.Join(home, "Library", "LaunchAgents"), enabled, e)
}
