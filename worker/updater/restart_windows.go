//go:build windows

package updater

import (
	"fmt"
	"os"
	"os/exec"
)

// ExecRestart returns the production Restart: run before (close the studio
// session gracefully, flush logs), then start exe with the same arguments and
// exit, since Windows has no exec. It returns only on failure. before must
// not wait for the goroutine that calls Restart to finish.
func ExecRestart(exe string, before func()) func() error {
	return func() error {
		if before != nil {
			before()
		}
		cmd := exec.Command(exe, os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = os.Environ()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("restart: start %s: %w", exe, err)
		}
		os.Exit(0)
		return nil
	}
}
