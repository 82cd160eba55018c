package updater

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Production cadence of WatchExecutable (the reference tray's values).
const (
	WatchEvery  = time.Second
	WatchSettle = 3 * time.Second
)

// fileID is what "the executable was replaced" means: size, mtime and, on
// Unix, device and inode (a package manager's rename keeps size and may keep
// mtime, but never the inode).
type fileID struct {
	exists bool
	size   int64
	mtime  time.Time
	dev    uint64
	ino    uint64
}

func statID(path string) (fileID, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{}, nil // mid-replace: not settled, not an error
	}
	if err != nil {
		return fileID{}, err
	}
	id := fileID{exists: true, size: info.Size(), mtime: info.ModTime()}
	id.dev, id.ino = devIno(info)
	return id, nil
}

// settle decides when a changed file has held still long enough: an
// installer may write in several steps, and restarting into a half-written
// binary would be fatal.
type settle struct {
	baseline fileID
	last     fileID
	since    time.Time // when last was first seen
	wait     time.Duration
}

// observe feeds one poll; it reports whether the file differs from the
// baseline, exists, and has not changed for the settle time.
func (s *settle) observe(id fileID, now time.Time) bool {
	if id != s.last {
		s.last, s.since = id, now
	}
	return id.exists && id != s.baseline && now.Sub(s.since) >= s.wait
}

// WatchExecutable polls path every `every` and, once its identity (size,
// mtime, inode on Unix) changed and then held still for `settle`, restarts
// at the next poll where idle grants the job slot (reserved first, so no
// offer starts under the restart; released if restart returns). It blocks
// until ctx is done (nil) or restart was called (restart's error). A
// package manager or `studio-worker update` therefore never needs a manual
// restart.
func WatchExecutable(ctx context.Context, path string, every, settle time.Duration,
	idle func() (release func(), ok bool), restart func() error) error {
	return watchExecutable(ctx, path, every, settle, idle, restart, nil)
}

// watchExecutable is WatchExecutable with a hook run after every poll, so
// tests can wait for polls instead of sleeping.
func watchExecutable(ctx context.Context, path string, every, wait time.Duration,
	idle func() (func(), bool), restart func() error, polled func()) error {
	base, err := statID(path)
	if err != nil {
		return fmt.Errorf("watch executable: %w", err)
	}
	st := settle{baseline: base, last: base, since: time.Now(), wait: wait}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		id, err := statID(path)
		if err != nil {
			// A transient stat error (permissions mid-install) is treated
			// as "changing": the settle clock restarts.
			id = fileID{}
		}
		if st.observe(id, time.Now()) {
			if release, ok := idle(); ok {
				err := restart()
				release()
				if err != nil {
					return fmt.Errorf("restart after executable replaced: %w", err)
				}
				return nil
			}
		}
		if polled != nil {
			polled()
		}
	}
}
