package updater

import (
	"context"
	"fmt"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
)

// Run is the auto-update loop until ctx is done: every Tick it adds a tick
// to an accumulator and, once that reaches auto_update_interval_secs (read
// live, at least 60), checks and maybe installs. The first check is thus one
// interval after start, not at start.
func (u *Updater) Run(ctx context.Context) {
	ticks := u.opts.Ticks
	if ticks == nil {
		t := time.NewTicker(u.opts.Tick)
		defer t.Stop()
		ticks = t.C
	}
	var elapsed time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			elapsed = u.step(ctx, elapsed)
		}
	}
}

// step handles one tick and returns the new accumulator.
func (u *Updater) step(ctx context.Context, elapsed time.Duration) time.Duration {
	elapsed += u.opts.Tick
	secs := max(u.opts.Settings().AutoUpdateIntervalSecs, config.MinAutoUpdateIntervalSecs)
	if elapsed < time.Duration(secs)*time.Second {
		return elapsed
	}
	u.AutoUpdate(ctx)
	return 0
}

// AutoUpdate is one scheduled decision: check, and install when a newer
// release exists and no job runs. The outcome is logged and recorded. After
// a successful install it calls Restart with the job slot still held, so no
// offer is taken by a binary that is about to go away.
func (u *Updater) AutoUpdate(ctx context.Context) observers.UpdateCheck {
	c, release := u.decide(ctx)
	defer release()
	u.record(c)
	if c.Outcome == observers.UpdateUpdated && u.opts.Restart != nil {
		if err := u.opts.Restart(); err != nil {
			u.logger.Error(fmt.Sprintf("restart after update failed: %v", err))
		}
	}
	return c
}

// decide returns the outcome and, for UpdateUpdated, the still-held job
// slot's release (a no-op otherwise).
func (u *Updater) decide(ctx context.Context) (observers.UpdateCheck, func()) {
	noop := func() {}
	s := u.opts.Settings()
	c := observers.UpdateCheck{At: u.opts.Now(), Current: u.version}
	if !s.AutoUpdateEnabled {
		c.Outcome = observers.UpdateDisabled
		return c, noop
	}
	if u.opts.Slot != nil && u.opts.Slot.Busy() {
		c.Outcome, c.Detail = observers.UpdateSkippedBusy, "worker is busy on a job"
		return c, noop
	}
	checkCtx, cancel := context.WithTimeout(ctx, CheckTimeout)
	up, rel, chk, err := u.detect(checkCtx, s)
	cancel()
	c.Latest = chk.Latest
	if err != nil {
		c.Outcome, c.Detail = observers.UpdateCheckFailed, err.Error()
		return c, noop
	}
	if !chk.Available {
		c.Outcome = observers.UpdateUpToDate
		return c, noop
	}
	release := noop
	if u.opts.Slot != nil {
		r, ok := u.opts.Slot.TryReserveJob()
		if !ok {
			c.Outcome, c.Detail = observers.UpdateSkippedBusy, "update available but a job started; deferring install"
			return c, noop
		}
		release = r
	}
	installCtx, cancel := context.WithTimeout(ctx, InstallTimeout)
	err = u.install(installCtx, up, rel)
	cancel()
	if err != nil {
		release()
		c.Outcome, c.Detail = observers.UpdateUpdateFailed, err.Error()
		return c, noop
	}
	c.Outcome = observers.UpdateUpdated
	return c, release
}

// record logs an outcome with the reference's wording and stores it.
func (u *Updater) record(c observers.UpdateCheck) {
	switch c.Outcome {
	case observers.UpdateDisabled:
		u.logger.Info("auto-update is off (auto_update_enabled = false); not checking")
	case observers.UpdateSkippedBusy:
		if c.Latest == "" {
			u.logger.Info("skipping check: " + c.Detail)
		} else {
			u.logger.Info(c.Detail)
		}
	case observers.UpdateUpToDate:
		u.logger.Info("up to date at " + c.Current)
	case observers.UpdateCheckFailed:
		u.logger.Warn("check failed: " + c.Detail)
	case observers.UpdateUpdated:
		u.logger.Info(fmt.Sprintf("binary replaced (%s -> %s); restart pending", c.Current, c.Latest))
	case observers.UpdateUpdateFailed:
		u.logger.Error("update failed: " + c.Detail)
	}
	if u.opts.Recorder != nil {
		u.opts.Recorder.RecordUpdateCheck(c)
	}
}
