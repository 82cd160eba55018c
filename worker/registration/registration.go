package registration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// PollInterval is how often a pending request is polled.
const PollInterval = 30 * time.Second

// ErrStopped is returned when the context ends before approval: a clean stop,
// not a failure.
var ErrStopped = errors.New("stopped before registration completed")

// RejectedError means an operator refused the request. The worker stays
// stopped until the local state is reset.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string {
	return fmt.Sprintf("registration rejected by the studio operator: %s.  Run `studio-worker register --reset` to clear local state and submit a fresh request.", e.Reason)
}

// Store is the settings the gate reads and persists to.
type Store interface {
	Settings() config.Settings
	Update(fn func(*config.Settings) error) (config.Settings, error)
}

// Credentials are what approval yields.
type Credentials struct {
	WorkerID  string
	AuthToken string
}

// Gate runs the approval flow. Zero values for PollInterval, HTTPClient and
// Logger take the defaults.
type Gate struct {
	Store        Store
	Observers    *observers.Set
	Capabilities func() protocol.Capabilities
	UserAgent    string
	HTTPClient   *http.Client
	Logger       *slog.Logger
	PollInterval time.Duration

	since time.Time // first time the current request was seen pending
}

// Phase is the outcome of one Tick.
type Phase int

const (
	Pristine Phase = iota // no request on record (or it was forgotten): create next tick
	Pending
	Approved
	Rejected
)

// Ensure blocks until the worker has credentials: at once when it already
// has them, otherwise by creating a request and polling it every
// PollInterval. It returns ErrStopped if ctx ends first and *RejectedError
// when an operator refuses.
func (g *Gate) Ensure(ctx context.Context) (Credentials, error) {
	g.defaults()
	for {
		if ctx.Err() != nil {
			g.log().Info("stopped before registration completed; exiting cleanly")
			return Credentials{}, ErrStopped
		}
		phase, creds, err := g.Tick(ctx)
		switch {
		case phase == Approved:
			return creds, nil
		case phase == Rejected:
			return Credentials{}, err
		case err != nil && ctx.Err() == nil:
			g.log().Warn("registration step failed; retrying", "error", err.Error(), "retry_in", g.PollInterval.String())
		}
		t := time.NewTimer(g.PollInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// Tick does one step with at most one HTTP call.
func (g *Gate) Tick(ctx context.Context) (Phase, Credentials, error) {
	g.defaults()
	s := g.Store.Settings()
	if s.Registered() {
		g.set(observers.RegistrationState{Phase: observers.RegistrationApproved, WorkerID: s.WorkerID})
		return Approved, Credentials{WorkerID: s.WorkerID, AuthToken: s.AuthToken.Reveal()}, nil
	}
	if s.RegistrationRejected != "" {
		// Refused before, maybe in an earlier run: asking again is the
		// operator's decision (register --reset), not a restart's.
		g.set(observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: s.RegistrationRejected})
		return Rejected, Credentials{}, &RejectedError{Reason: s.RegistrationRejected}
	}
	if s.InstallID == "" || (s.RegistrationRequestID == "" && s.RegistrationSecret == "") {
		var err error
		s, err = g.Store.Update(func(f *config.Settings) error {
			if f.InstallID == "" {
				f.InstallID = uuid.NewString()
			}
			if f.RegistrationRequestID == "" && f.RegistrationSecret == "" {
				secret, err := newSecret()
				if err != nil {
					return err
				}
				f.RegistrationSecret = config.Secret(secret)
			}
			return nil
		})
		if err != nil {
			g.set(observers.RegistrationState{Phase: observers.RegistrationInitialising})
			return Pristine, Credentials{}, fmt.Errorf("save install id: %w", err)
		}
	}
	if s.RegistrationRequestID != "" && s.RegistrationSecret != "" {
		return g.poll(ctx, s)
	}
	return g.create(ctx, s)
}

func (g *Gate) create(ctx context.Context, s config.Settings) (Phase, Credentials, error) {
	g.set(observers.RegistrationState{Phase: observers.RegistrationInitialising})
	body, err := json.Marshal(struct {
		InstallID              string                `json:"installId"`
		RegistrationSecretHash string                `json:"registrationSecretHash"`
		Capabilities           protocol.Capabilities `json:"capabilities"`
		UserAgent              string                `json:"userAgent"`
	}{s.InstallID, HashSecret(s.RegistrationSecret.Reveal()), g.Capabilities(), g.UserAgent})
	if err != nil {
		return Pristine, Credentials{}, fmt.Errorf("register request: %w", err)
	}
	u, err := protocol.Endpoint(s.APIBaseURL, "workers", "register-request")
	if err != nil {
		return Pristine, Credentials{}, err
	}
	var out struct {
		RequestID string `json:"requestId"`
		Status    string `json:"status"`
	}
	if err := g.do(ctx, "register request", http.MethodPost, u.String(), "", body, &out); err != nil {
		return Pristine, Credentials{}, err
	}
	if out.RequestID == "" {
		return Pristine, Credentials{}, errors.New("register request: answer has no requestId")
	}
	if _, err := g.Store.Update(func(f *config.Settings) error {
		f.RegistrationRequestID = out.RequestID
		return nil
	}); err != nil {
		g.log().Error("could not save the registration request id; a new request will be made", "error", err.Error())
		return Pristine, Credentials{}, fmt.Errorf("save request id: %w", err)
	}
	g.since = time.Now()
	g.log().Info("registration requested; waiting for an operator to approve this worker", "request_id", out.RequestID, "install_id", s.InstallID)
	g.set(observers.RegistrationState{Phase: observers.RegistrationPending, RequestID: out.RequestID, Since: g.since})
	return Pending, Credentials{}, nil
}

func (g *Gate) poll(ctx context.Context, s config.Settings) (Phase, Credentials, error) {
	if g.since.IsZero() {
		g.since = time.Now()
	}
	pending := observers.RegistrationState{Phase: observers.RegistrationPending, RequestID: s.RegistrationRequestID, Since: g.since}
	u, err := protocol.Endpoint(s.APIBaseURL, "workers", "register-requests", s.RegistrationRequestID)
	if err != nil {
		return Pending, Credentials{}, err
	}
	var out struct {
		Status    string `json:"status"`
		WorkerID  string `json:"workerId"`
		AuthToken string `json:"authToken"`
		Reason    string `json:"reason"`
	}
	err = g.do(ctx, "registration poll", http.MethodGet, u.String(), s.RegistrationSecret.Reveal(), nil, &out)
	var he *protocol.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		g.log().Warn("the studio no longer knows this registration request; submitting a fresh one", "request_id", s.RegistrationRequestID)
		g.since = time.Time{}
		_, err := g.Store.Update(func(f *config.Settings) error {
			f.RegistrationRequestID = ""
			f.RegistrationSecret = ""
			return nil
		})
		g.set(observers.RegistrationState{Phase: observers.RegistrationInitialising})
		if err != nil {
			return Pristine, Credentials{}, fmt.Errorf("clear stale request: %w", err)
		}
		return Pristine, Credentials{}, nil
	case err != nil:
		g.set(pending)
		return Pending, Credentials{}, err
	}
	switch out.Status {
	case "pending":
		g.set(pending)
		return Pending, Credentials{}, nil
	case "approved":
		if out.WorkerID == "" || out.AuthToken == "" {
			g.set(pending)
			return Pending, Credentials{}, errors.New("registration poll: approval without workerId or authToken")
		}
		creds := Credentials{WorkerID: out.WorkerID, AuthToken: out.AuthToken}
		if _, err := g.Store.Update(func(f *config.Settings) error {
			f.WorkerID = out.WorkerID
			f.AuthToken = config.Secret(out.AuthToken)
			f.RegistrationRequestID = ""
			f.RegistrationSecret = ""
			return nil
		}); err != nil {
			// Keep working on the credentials in memory; the next start
			// polls again and the studio mints a fresh token.
			g.log().Error("approved, but the credentials could not be saved; registered in memory only", "error", err.Error())
		}
		g.log().Info("registration approved", "worker_id", out.WorkerID)
		g.set(observers.RegistrationState{Phase: observers.RegistrationApproved, WorkerID: out.WorkerID})
		return Approved, creds, nil
	case "rejected":
		kept := out.Reason
		if kept == "" {
			kept = "no reason given"
		}
		if _, err := g.Store.Update(func(f *config.Settings) error {
			f.RegistrationRequestID = ""
			f.RegistrationSecret = ""
			f.RegistrationRejected = kept
			return nil
		}); err != nil {
			g.log().Error("could not clear the rejected request", "error", err.Error())
		}
		g.set(observers.RegistrationState{Phase: observers.RegistrationRejected, Reason: out.Reason, RequestID: s.RegistrationRequestID})
		rej := &RejectedError{Reason: out.Reason}
		g.log().Error(rej.Error())
		return Rejected, Credentials{}, rej
	}
	g.set(pending)
	return Pending, Credentials{}, fmt.Errorf("registration poll: unknown status %q", out.Status)
}

// do sends one request; bearer (the raw registration secret) goes only into
// the Authorization header, never into an error.
func (g *Gate) do(ctx context.Context, op, method, url, bearer string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", g.UserAgent)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := g.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		snippet := string(bytes.TrimSpace(data))
		if len(snippet) > 512 {
			snippet = snippet[:512]
		}
		g.log().Warn(op+" failed", "endpoint", req.URL.Path, "status", resp.StatusCode, "elapsed_ms", time.Since(start).Milliseconds(), "body", snippet)
		return &protocol.HTTPError{Op: op, Status: resp.StatusCode, Body: snippet}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: answer is not the expected JSON: %w", op, err)
	}
	return nil
}

func (g *Gate) defaults() {
	if g.PollInterval <= 0 {
		g.PollInterval = PollInterval
	}
	if g.HTTPClient == nil {
		g.HTTPClient = &http.Client{}
	}
}

func (g *Gate) log() *slog.Logger {
	l := g.Logger
	if l == nil {
		l = slog.Default()
	}
	return l.With("category", "registration")
}

func (g *Gate) set(st observers.RegistrationState) {
	if g.Observers != nil {
		g.Observers.SetRegistration(st)
	}
}

// newSecret is 32 bytes from crypto/rand as 64 lowercase hex characters.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("registration secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// HashSecret is what leaves the machine instead of the secret: the lowercase
// hex SHA-256 of it.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
