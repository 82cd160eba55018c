//go:build !unix

package updater

import "io/fs"

// devIno is unavailable from a FileInfo here; size and mtime decide.
func devIno(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
