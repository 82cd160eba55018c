package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/logs"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Runner runs one job; engine.Multi is the production one.
type Runner interface {
	Run(ctx context.Context, claim protocol.JobOfferClaim) (engine.Result, error)
}

// Credentials are the worker's identity on the studio.
type Credentials struct {
	WorkerID  string
	AuthToken string
}

// Config is everything a session needs. BaseURL and Credentials are called
// for every connection and Capabilities for every heartbeat, so settings
// edited while the worker runs take effect without a restart (a new studio
// URL at the next connection: a session and its jobs stay with theirs).
type Config struct {
	BaseURL func() string // api_base_url

	Credentials       func() (Credentials, bool) // false: not approved yet
	Capabilities      func() protocol.Capabilities
	Engine            Runner
	Observers         *observers.Set
	Logs              *logs.ShipQueue
	Logger            *slog.Logger
	Schedule          Schedule
	ReconnectAttempts int // 0 = unlimited
	HTTPClient        *http.Client
	Dialer            *websocket.Dialer
}

// Run keeps a session with the studio until ctx is cancelled (returns nil
// after a graceful close) or the studio ends it for good (*AuthFailedError,
// *FatalError). Transport failures reconnect with backoff.
func Run(ctx context.Context, cfg Config) error {
	r := newRunner(cfg)
	return r.loop(ctx)
}

type runner struct {
	cfg Config
	obs *observers.Set
	log *slog.Logger
}

func newRunner(cfg Config) *runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment}
	}
	if cfg.Schedule == (Schedule{}) {
		cfg.Schedule = DefaultSchedule()
	}
	cfg.Schedule = cfg.Schedule.withDefaults()
	return &runner{cfg: cfg, obs: cfg.Observers, log: cfg.Logger.With("category", "ws")}
}

func (r *runner) setState(phase observers.SessionPhase, attempt int, reason string) {
	r.obs.SetSession(observers.SessionState{Phase: phase, Attempt: attempt, Reason: reason, Since: time.Now()})
}

func (r *runner) loop(ctx context.Context) error {
	attempt := 0
	waitingLogged := false
	for {
		if ctx.Err() != nil {
			r.setState(observers.SessionStopped, 0, "")
			return nil
		}
		creds, ok := r.cfg.Credentials()
		if !ok {
			r.setState(observers.SessionWaitingForApproval, 0, "")
			if !waitingLogged {
				r.log.Info("waiting for operator approval before opening the session")
				waitingLogged = true
			}
			sleep(ctx, r.cfg.Schedule.CredentialsPoll)
			continue
		}
		waitingLogged = false
		r.setState(observers.SessionConnecting, attempt, "")
		base := r.cfg.BaseURL()
		r.log.Info("connecting", "api", protocol.RedactURL(base))
		welcomed, err := r.connectOnce(ctx, base, creds)
		switch {
		case err == nil:
			r.setState(observers.SessionStopped, 0, "")
			return nil
		case Terminal(err):
			var af *AuthFailedError
			if errors.As(err, &af) {
				r.setState(observers.SessionAuthFailed, 0, af.Reason)
				r.log.Error(fmt.Sprintf("auth failed: %s. Re-register the worker.", af.Reason))
			} else {
				var fe *FatalError
				errors.As(err, &fe)
				r.setState(observers.SessionFatal, 0, fe.Reason)
				r.log.Error("session ended by the studio; not reconnecting", "reason", fe.Reason)
			}
			return err
		}
		if welcomed {
			attempt = 0
		}
		attempt++
		if max := r.cfg.ReconnectAttempts; max > 0 && attempt > max {
			reason := fmt.Sprintf("gave up after %d reconnect attempts", max)
			r.setState(observers.SessionFatal, attempt, reason)
			r.log.Error(reason, "last_error", err.Error())
			return &FatalError{Reason: reason}
		}
		pause := r.cfg.Schedule.Backoff(attempt)
		r.setState(observers.SessionReconnecting, attempt, err.Error())
		r.log.Warn(fmt.Sprintf("session error: %v; reconnect attempt %d in %dms", err, attempt, pause.Milliseconds()))
		sleep(ctx, pause)
	}
}

// sleep waits d or until ctx is done; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
