//go:build unix

package updater

import (
	"io/fs"
	"syscall"
)

func devIno(info fs.FileInfo) (dev, ino uint64) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) // Dev is int32 on darwin
	}
	return 0, 0
}
