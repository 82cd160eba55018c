//go:build unix

package updater

import (
	"fmt"
	"os"
	"syscall"
)

// ExecRestart returns the production Restart: run before (close the studio
// session gracefully, flush logs), then replace this process with exe and
// the same arguments and environment. It returns only on failure. before
// must not wait for the goroutine that calls Restart (the updater loop or
// the exe watcher) to finish.
func ExecRestart(exe string, before func()) func() error {
	return func() error {
		if before != nil {
			before()
		}
		if err := syscall.Exec(exe, os.Args, os.Environ()); err != nil {
			return fmt.Errorf("restart: exec %s: %w", exe, err)
		}
		return nil
	}
}
