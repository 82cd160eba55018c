//go:build !unix && !windows

package updater

import (
	"errors"
	"fmt"
)

// ExecRestart cannot restart in place on this platform; the error says so.
func ExecRestart(exe string, before func()) func() error {
	return func() error {
		return fmt.Errorf("restart %s: %w", exe, errors.ErrUnsupported)
	}
}
