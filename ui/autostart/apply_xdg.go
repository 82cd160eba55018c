//go:build linux || freebsd || openbsd || netbsd || dragonfly

package autostart

func apply(enabled bool, e Entry) error {
	dir, err := XDGDir()
	if err != nil {
		return err
	}
	return ApplyXDG(dir, enabled, e)
}
