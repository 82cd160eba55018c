//go:build !(linux || freebsd || openbsd || netbsd || dragonfly || darwin || windows)

package autostart

import "errors"

func apply(enabled bool, _ Entry) error {
	if !enabled {
		return nil
	}
	return errors.ErrUnsupported
}
