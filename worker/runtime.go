package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/logs"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/registration"
	"github.com/minis-gg/studio-worker/worker/session"
)

// SettingsPoll is how often a running worker looks for settings another
// process (the CLI, the window) wrote.
const SettingsPoll = time.Second

// Options configure a Runtime. Zero values take production defaults.
type Options struct {
	ConfigPath       string // "" → config.DefaultPath()
	Version          string
	HasUI            bool
	Stderr           io.Writer // where log lines go; nil → os.Stderr
	LogLevel         slog.Level
	Engine           *engine.Multi // nil → synthetic only
	Host             *Host         // nil → probe this machine
	Session          session.Schedule
	RegistrationPoll time.Duration
	SettingsPoll     time.Duration
	HTTPClient       *http.Client
	// StayAfterStop keeps Run alive after the worker stopped on its own
	// (rejected, auth failed, fatal) until ResetRegistration or Retry; the
	// UI uses it so the window can offer the way out.
	StayAfterStop bool
	// SelfUpdate runs the auto-updater and restarts when the executable is
	// replaced (run and ui; not demo or tests).
	SelfUpdate bool
	// Now is the clock of recorded outcomes; nil → time.Now.
	Now func() time.Time
}

// Runtime is one worker: everything the session, the UI and the updater
// share. Create it with New, run it with Run.
type Runtime struct {
	Store     *config.Store
	Observers *observers.Set
	Logs      *logs.ShipQueue
	Engine    *engine.Multi
	Logger    *slog.Logger
	Host      Host

	opts Options

	mu    sync.Mutex
	creds *session.Credentials // approved in memory when saving them failed
	wake  chan struct{}        // ResetRegistration / Retry → Run (StayAfterStop)

	// Self-update restart (selfupdate.go), under mu.
	exe        string             // this binary, resolved at start
	stopRun    context.CancelFunc // ends the current Run
	restartExe string             // set when a restart was requested
}

// New sets up logging, probes the machine and loads (or creates) the
// settings file. A file that does not parse is an error; it is not touched.
func New(opts Options) (*Runtime, error) {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.SettingsPoll <= 0 {
		opts.SettingsPoll = SettingsPoll
	}
	if opts.Session == (session.Schedule{}) {
		opts.Session = session.DefaultSchedule()
	}
	if opts.Engine == nil {
		opts.Engine = engine.NewMulti(engine.NewSynthetic())
	}
	obs := observers.New()
	q := logs.NewShipQueue(logs.ShipQueueCap)
	base := slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: opts.LogLevel})
	logger := slog.New(logs.NewHandler(base, obs, q))
	slog.SetDefault(logger)

	host := ProbeHost
	if opts.Host != nil {
		h := *opts.Host
		host = func() Host { return h }
	}
	h := host()
	path := opts.ConfigPath
	if path == "" {
		p, err := config.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	store, err := config.Open(path, config.Options{DetectedVRAMGb: h.VRAMTotalGb, Logger: logger})
	if err != nil {
		return nil, err
	}
	s := store.Settings()
	obs.SetEnabled(s.Enabled)
	obs.SetVRAM(h.VRAMTotalGb, s.VRAMThresholdGb)
	return &Runtime{Store: store, Observers: obs, Logs: q, Engine: opts.Engine, Logger: logger, Host: h, opts: opts,
		wake: make(chan struct{}, 1)}, nil
}

// Capabilities describes the worker from the settings as they are now.
func (r *Runtime) Capabilities() protocol.Capabilities {
	return BuildCapabilities(r.Store.Settings(), r.Engine, r.Host, r.opts.Version, r.Observers.Enabled(), r.opts.HasUI)
}

// LogStartupBanner writes the one line an operator looks for first.
func (r *Runtime) LogStartupBanner() {
	s := r.Store.Settings()
	id := s.WorkerID
	if id == "" {
		id = "(unregistered)"
	}
	r.Logger.Info("studio-worker booting", "category", "startup",
		"version", r.opts.Version, "config_path", r.Store.Path(), "api_base_url", protocol.RedactURL(s.APIBaseURL),
		"vram_threshold_gb", s.VRAMThresholdGb, "auto_update_enabled", s.AutoUpdateEnabled,
		"auto_update_interval_secs", s.AutoUpdateIntervalSecs, "auto_update_prerelease", s.AutoUpdatePrerelease,
		"auto_update_feed", protocol.RedactURL(s.AutoUpdateFeed), "worker_id", id)
}

// Run is the worker until ctx is cancelled: registration gate, then the
// studio session, with a settings watcher alongside. It returns nil on a
// clean stop and an error when the worker stopped for good on its own
// (rejected, auth failed, fatal).
func (r *Runtime) Run(ctx context.Context) error {
	r.LogStartupBanner()
	var wg sync.WaitGroup
	// ctx is the caller's; runCtx also ends when a restart was requested.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	r.mu.Lock()
	r.stopRun, r.restartExe = stopRun, ""
	r.mu.Unlock()
	if r.opts.SelfUpdate {
		r.startSelfUpdate(runCtx, &wg)
	}
	watchCtx, stopWatch := context.WithCancel(runCtx)
	defer stopWatch()
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.Store.Watch(watchCtx, r.opts.SettingsPoll, r.applySettings)
	}()
	go func() {
		defer wg.Done()
		r.publishState(watchCtx)
	}()

	err := r.loop(runCtx)
	stopRun()
	wg.Wait()
	r.mu.Lock()
	exe := r.restartExe
	r.stopRun = nil
	r.mu.Unlock()
	if exe != "" {
		return &RestartError{Exe: exe}
	}
	return err
}

// loop runs the gate and the session, and with StayAfterStop goes round
// again when the window resets the registration or retries.
func (r *Runtime) loop(ctx context.Context) error {
	for {
		select { // a Retry made while running is moot
		case <-r.wake:
		default:
		}
		err := r.runOnce(ctx)
		if err == nil || !r.opts.StayAfterStop {
			return err
		}
		// The window shows why the worker stopped and offers a way out
		// (reset registration, retry); wait for the operator's choice.
		r.Logger.Info("worker stopped; waiting for a registration reset or a retry", "category", "worker", "reason", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
	}
}

// runOnce is one pass through the registration gate and the session.
func (r *Runtime) runOnce(ctx context.Context) error {
	gate := &registration.Gate{
		Store: r.Store, Observers: r.Observers, Capabilities: r.Capabilities,
		UserAgent: "studio-worker/" + r.opts.Version, HTTPClient: r.opts.HTTPClient,
		Logger: r.Logger, PollInterval: r.opts.RegistrationPoll,
	}
	r.Observers.SetSession(observers.SessionState{Phase: observers.SessionWaitingForApproval, Since: time.Now()})
	creds, err := gate.Ensure(ctx)
	if errors.Is(err, registration.ErrStopped) {
		r.Observers.SetSession(observers.SessionState{Phase: observers.SessionStopped, Since: time.Now()})
		return nil
	}
	if err != nil {
		r.Observers.SetSession(observers.SessionState{Phase: observers.SessionStopped, Reason: err.Error(), Since: time.Now()})
		return err
	}
	r.mu.Lock()
	r.creds = &session.Credentials{WorkerID: creds.WorkerID, AuthToken: creds.AuthToken}
	r.mu.Unlock()

	s := r.Store.Settings()
	return session.Run(ctx, session.Config{
		BaseURL:           func() string { return r.Store.Settings().APIBaseURL },
		Credentials:       r.credentials,
		Capabilities:      r.Capabilities,
		Engine:            r.Engine,
		Observers:         r.Observers,
		Logs:              r.Logs,
		Logger:            r.Logger,
		Schedule:          r.opts.Session,
		ReconnectAttempts: int(s.WSReconnectAttempts),
		HTTPClient:        r.opts.HTTPClient,
	})
}

// credentials prefers what is on disk, so a worker re-registered by another
// process uses the new identity on its next connection.
func (r *Runtime) credentials() (session.Credentials, bool) {
	if s := r.Store.Settings(); s.Registered() {
		return session.Credentials{WorkerID: s.WorkerID, AuthToken: s.AuthToken.Reveal()}, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.creds != nil {
		return *r.creds, true
	}
	return session.Credentials{}, false
}

// applySettings publishes settings changed on disk; the session reads
// enabled and the threshold from there on its next offer or heartbeat.
func (r *Runtime) applySettings(s config.Settings) {
	if r.Observers.Enabled() != s.Enabled {
		r.Logger.Info(fmt.Sprintf("enabled changed to %t in %s", s.Enabled, r.Store.Path()), "category", "config")
	}
	r.Observers.SetEnabled(s.Enabled)
	r.Observers.SetVRAM(r.Host.VRAMTotalGb, s.VRAMThresholdGb)
}

// SetEnabled persists the take-new-jobs switch and applies it at once.
func (r *Runtime) SetEnabled(on bool) error {
	s, err := r.Store.Update(func(s *config.Settings) error { s.Enabled = on; return nil })
	if err != nil {
		return fmt.Errorf("set enabled: %w", err)
	}
	r.applySettings(s)
	return nil
}

// ResetRegistration forgets the worker's identity and any pending request,
// exactly like `register --reset`, and wakes a runtime that stopped after a
// rejection or an auth failure so it asks for approval afresh.
func (r *Runtime) ResetRegistration() error {
	if _, err := r.Store.Update(func(s *config.Settings) error { clearRegistration(s); return nil }); err != nil {
		return fmt.Errorf("reset registration: %w", err)
	}
	r.mu.Lock()
	r.creds = nil
	r.mu.Unlock()
	r.Observers.SetRegistration(observers.RegistrationState{Phase: observers.RegistrationInitialising})
	r.Retry()
	return nil
}

// Retry wakes a runtime that stopped on its own (StayAfterStop) to try again
// with the settings as they are now.
func (r *Runtime) Retry() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runtime) now() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now()
	}
	return time.Now()
}
