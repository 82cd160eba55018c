package worker

import (
	"context"
	"fmt"
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

// requestRestart asks Run to stop gracefully and report a RestartError.
func (r *Runtime) requestRestart() error {
	exe, err := updater.ResolveExecutable()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	select {
	case r.restart <- exe:
	default: // one request is enough
	}
	return nil
}

// startSelfUpdate runs the update loop and the executable watcher until ctx
// ends; wg owns both goroutines.
func (r *Runtime) startSelfUpdate(ctx context.Context, wg *sync.WaitGroup) {
	exe, err := updater.ResolveExecutable()
	if err != nil {
		r.Logger.Warn("cannot find this executable; self-update is off", "category", "auto-update", "error", err.Error())
		return
	}
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.Updater().Run(ctx)
	}()
}
