package worker

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/updater"
)

// RestartError is how Run reports that the binary was replaced (by the
// updater, `update` or a package manager): the caller restarts the process
// in place, after every deferred cleanup has run.
type RestartError struct{ Exe string }

func (e *RestartError) Error() string { return "restart requested: " + e.Exe + " was replaced" }

// Restart replaces this process with exe and the same arguments (exec on
// Unix; start and exit on Windows). It returns only on failure.
func (e *RestartError) Restart() error { return updater.ExecRestart(e.Exe, nil)() }

// IsDevBuild reports a version from a plain `go build` (no -ldflags stamp):
// such a binary never replaces itself from the release feed.
func IsDevBuild(version string) bool { return strings.HasSuffix(version, "-dev") }

// Updater is the auto-updater wired to this runtime's settings, job slot
// and observers; the CLI's check-update and the window use it too.
func (r *Runtime) Updater() *updater.Updater {
	return updater.New(updater.Options{
		Settings: r.Store.Settings,
		Version:  r.opts.Version,
		Slot:     r.Observers,
		Recorder: r.Observers,
		Logger:   r.Logger,
		Restart:  r.requestRestart,
	})
}

// CheckForUpdates is the tray's and About's "Check for updates": it reads
// the feed, never installs, and records the answer for the About tab.
func (r *Runtime) CheckForUpdates(ctx context.Context) (updater.Check, error) {
	c, err := r.Updater().CheckNow(ctx)
	rec := observers.UpdateCheck{Current: c.Current, Latest: c.Latest, Outcome: observers.UpdateUpToDate, Detail: "checked on request"}
	switch {
	case err != nil:
		rec.Outcome, rec.Detail = observers.UpdateCheckFailed, err.Error()
	case c.Available:
		rec.Detail = "update available; it installs at the next scheduled check when no job runs"
	}
	rec.At = r.now()
	r.Observers.RecordUpdateCheck(rec)
	return c, err
}

// requestRestart stops Run gracefully so that it reports a RestartError.
// It cancels the run before returning: the updater releases the job slot
// only after this returns, so the session sees the stop before any offer
// can take the slot (see session.offer).
func (r *Runtime) requestRestart() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exe == "" || r.stopRun == nil {
		return errors.New("restart: the worker is not running")
	}
	if r.restartExe == "" {
		r.Logger.Info("binary replaced; stopping gracefully to restart in place", "category", "auto-update", "exe", r.exe)
	}
	r.restartExe = r.exe
	r.stopRun()
	return nil
}

// startSelfUpdate runs the update loop and the executable watcher until ctx
// ends; wg owns both goroutines.
func (r *Runtime) startSelfUpdate(ctx context.Context, wg *sync.WaitGroup) {
	// Resolved once, now: after an install swapped the file, the running
	// binary's own path names the moved-away old one, which is gone.
	exe, err := updater.ResolveExecutable()
	if err != nil {
		r.Logger.Warn("cannot find this executable; self-update is off", "category", "auto-update", "error", err.Error())
		return
	}
	r.mu.Lock()
	r.exe = exe
	r.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := updater.WatchExecutable(ctx, exe, updater.WatchEvery, updater.WatchSettle, r.Observers.TryReserveJob, r.requestRestart); err != nil {
			r.Logger.Error("executable watcher stopped", "category", "auto-update", "error", err.Error())
		}
	}()
	if IsDevBuild(r.opts.Version) {
		r.Logger.Info("development build: auto-update is off (release builds are stamped with a version)", "category", "auto-update")
		return
	}
	u := r.Updater()
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.Run(ctx)
	}()
}
