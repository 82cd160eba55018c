package registration_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/registration"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

const userAgent = "studio-worker/1.2.3"

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a studio double behind a loopback proxy that counts every request
// and can fail polls with 5xx (the double itself cannot), plus a gate on a
// fresh settings file pointed at the proxy.
type env struct {
	studio    *studiotest.Studio
	store     *config.Store
	path      string
	obs       *observers.Set
	gate      *registration.Gate
	logs      *syncBuffer
	requests  atomic.Int64
	failPolls atomic.Int64 // HTTP status for polls; 0 = pass through
}

func caps() protocol.Capabilities {
	return protocol.Capabilities{
		MachineName:            "test-box",
		Username:               "tester",
		AgentVersion:           "1.2.3",
		Engine:                 "multi",
		VRAMThresholdGb:        8,
		AutoEnabled:            true,
		SupportedModels:        []string{"synthetic-llm"},
		TaskKinds:              []protocol.TaskKind{protocol.KindLLM},
		SupportedModelsPerKind: map[protocol.TaskKind][]string{protocol.KindLLM: {"synthetic-llm"}},
	}
}

func newEnv(t *testing.T, opts studiotest.Options) *env {
	t.Helper()
	e := &env{studio: studiotest.New(opts), obs: observers.New(), logs: &syncBuffer{}}
	studioURL, err := e.studio.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.studio.Close() })
	target, err := url.Parse(studioURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		if st := e.failPolls.Load(); st != 0 && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/register-requests/") {
			http.Error(w, "injected poll failure", int(st))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	e.path = filepath.Join(t.TempDir(), "config.toml")
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	e.store, err = config.Open(e.path, config.Options{Logger: logger, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Update(func(s *config.Settings) error { s.APIBaseURL = srv.URL + "/"; return nil }); err != nil {
		t.Fatal(err)
	}
	e.gate = &registration.Gate{
		Store:        e.store,
		Observers:    e.obs,
		Capabilities: caps,
		UserAgent:    userAgent,
		Logger:       logger,
		PollInterval: 10 * time.Millisecond,
	}
	return e
}

// onDisk re-reads the settings file, so the assertions are about what was
// persisted, not what the store holds in memory.
func (e *env) onDisk(t *testing.T) config.Settings {
	t.Helper()
	s, err := config.Open(e.path, config.Options{Logger: slog.New(slog.DiscardHandler), LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return s.Settings()
}

func (e *env) tick(t *testing.T) (registration.Phase, registration.Credentials, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.gate.Tick(ctx)
}

// pending makes the first request and returns its id and the raw secret.
func (e *env) pending(t *testing.T) (requestID, secret string) {
	t.Helper()
	phase, _, err := e.tick(t)
	if err != nil || phase != registration.Pending {
		t.Fatalf("first tick = %v, %v; want Pending, nil", phase, err)
	}
	s := e.onDisk(t)
	return s.RegistrationRequestID, s.RegistrationSecret.Reveal()
}

func TestFirstTickCreatesARequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	phase, creds, err := e.tick(t)
	if err != nil || phase != registration.Pending || creds != (registration.Credentials{}) {
		t.Fatalf("Tick = %v, %+v, %v; want Pending, no credentials, nil", phase, creds, err)
	}

	s := e.onDisk(t)
	id, err := uuid.Parse(s.InstallID)
	if err != nil || id.Version() != 4 {
		t.Errorf("install_id %q: parse err %v, version %v; want a UUIDv4", s.InstallID, err, id.Version())
	}
	secret := s.RegistrationSecret.Reveal()
	if !hex64.MatchString(secret) {
		t.Errorf("registration_secret is %d chars, want 64 lowercase hex", len(secret))
	}
	if s.RegistrationRequestID == "" {
		t.Error("registration_request_id not persisted")
	}
	if s.Registered() {
		t.Error("registered after the first tick")
	}

	recs := e.studio.RegisterRequests()
	if len(recs) != 1 {
		t.Fatalf("%d register-requests, want 1", len(recs))
	}
	r := recs[0]
	if r.Status != http.StatusOK || r.RequestID != s.RegistrationRequestID {
		t.Errorf("studio answered %d with %q; persisted request id %q", r.Status, r.RequestID, s.RegistrationRequestID)
	}
	if r.InstallID != s.InstallID {
		t.Errorf("installId %q, persisted %q", r.InstallID, s.InstallID)
	}
	if want := registration.HashSecret(secret); r.SecretHash != want {
		t.Errorf("registrationSecretHash %q, want sha256hex(secret) %q", r.SecretHash, want)
	}
	if r.UserAgent != userAgent {
		t.Errorf("userAgent %q, want %q", r.UserAgent, userAgent)
	}
	if r.Capabilities.MachineName != "test-box" || r.Capabilities.Engine != "multi" || len(r.Capabilities.TaskKinds) != 1 {
		t.Errorf("capabilities %+v, want the gate's", r.Capabilities)
	}
	if dump := fmt.Sprintf("%#v", recs); strings.Contains(dump, secret) {
		t.Error("the raw registration secret reached the register-request")
	}

	reg := e.obs.Registration()
	if reg.Phase != observers.RegistrationPending || reg.RequestID != s.RegistrationRequestID || reg.Since.IsZero() {
		t.Errorf("observers registration %+v, want pending with the request id and a since", reg)
	}
}

func TestPollSendsTheRawSecretOnlyAsBearer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	rid, secret := e.pending(t)
	for range 2 {
		if phase, _, err := e.tick(t); phase != registration.Pending || err != nil {
			t.Fatalf("poll = %v, %v; want Pending", phase, err)
		}
	}
	polls := e.studio.Polls()
	if len(polls) != 2 {
		t.Fatalf("%d polls, want 2", len(polls))
	}
	for i, p := range polls {
		if p.RequestID != rid || p.Authorization != "Bearer "+secret || p.Status != http.StatusOK {
			t.Errorf("poll %d: %s %d auth ok=%t; want %s 200 with Bearer <secret>", i, p.RequestID, p.Status, p.Authorization == "Bearer "+secret, rid)
		}
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the registration secret was logged")
	}
}

func TestPendingKeepsRequestAndSince(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	rid, _ := e.pending(t)
	first := e.obs.Registration()
	for i := range 3 {
		if phase, _, err := e.tick(t); phase != registration.Pending || err != nil {
			t.Fatalf("poll %d = %v, %v; want Pending", i, phase, err)
		}
		got := e.obs.Registration()
		if got.RequestID != rid || !got.Since.Equal(first.Since) || got.Phase != observers.RegistrationPending {
			t.Fatalf("poll %d: registration %+v; want request %s pending since %v", i, got, rid, first.Since)
		}
	}
	if s := e.onDisk(t); s.RegistrationRequestID != rid || s.RegistrationSecret == "" {
		t.Errorf("pending lost the request: id %q, secret set %t", s.RegistrationRequestID, s.RegistrationSecret != "")
	}
	if n := len(e.studio.RegisterRequests()); n != 1 {
		t.Errorf("%d register-requests while pending, want 1", n)
	}
}

// TestPollOutcomes drives a pending request through each answer the studio
// can give and checks the phase, the error and what stays on disk.
func TestPollOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		studio     func(e *env, rid string) error
		wantPhase  registration.Phase
		wantErr    func(error) bool
		keepsReq   bool // request id + secret still persisted
		registered bool
	}{
		{
			name:      "pending",
			studio:    func(*env, string) error { return nil },
			wantPhase: registration.Pending, wantErr: isNil, keepsReq: true,
		},
		{
			name:      "approved",
			studio:    func(e *env, rid string) error { return e.studio.Approve(rid) },
			wantPhase: registration.Approved, wantErr: isNil, registered: true,
		},
		{
			name:      "rejected",
			studio:    func(e *env, rid string) error { return e.studio.Reject(rid, "not one of ours") },
			wantPhase: registration.Rejected,
			wantErr: func(err error) bool {
				var re *registration.RejectedError
				return errors.As(err, &re) && re.Reason == "not one of ours" &&
					strings.Contains(err.Error(), "not one of ours") && strings.Contains(err.Error(), "studio-worker register --reset")
			},
		},
		{
			name:      "forgotten (404)",
			studio:    func(e *env, rid string) error { return e.studio.Forget(rid) },
			wantPhase: registration.Pristine, wantErr: isNil,
		},
		{
			name:      "poll 5xx",
			studio:    func(e *env, _ string) error { e.failPolls.Store(http.StatusServiceUnavailable); return nil },
			wantPhase: registration.Pending,
			wantErr: func(err error) bool {
				var he *protocol.HTTPError
				return errors.As(err, &he) && he.Status == http.StatusServiceUnavailable
			},
			keepsReq: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, studiotest.Options{})
			rid, secret := e.pending(t)
			before := e.onDisk(t)
			if err := tc.studio(e, rid); err != nil {
				t.Fatal(err)
			}
			phase, creds, err := e.tick(t)
			if phase != tc.wantPhase || !tc.wantErr(err) {
				t.Fatalf("Tick = %v, %v; want phase %v", phase, err, tc.wantPhase)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Error("error contains the registration secret")
			}
			s := e.onDisk(t)
			if tc.keepsReq {
				if s.RegistrationRequestID != rid || s.RegistrationSecret.Reveal() != secret {
					t.Errorf("request id %q (want %q), secret kept %t", s.RegistrationRequestID, rid, s.RegistrationSecret.Reveal() == secret)
				}
			} else if s.RegistrationRequestID != "" || s.RegistrationSecret != "" {
				t.Errorf("request state not cleared: id %q, secret set %t", s.RegistrationRequestID, s.RegistrationSecret != "")
			}
			if s.InstallID != before.InstallID {
				t.Errorf("install id changed from %q to %q", before.InstallID, s.InstallID)
			}
			if s.Registered() != tc.registered {
				t.Errorf("registered = %t, want %t", s.Registered(), tc.registered)
			}
			if tc.registered {
				_, wid, _ := e.studio.RequestStatus(rid)
				tok, _ := e.studio.WorkerToken(wid)
				if s.WorkerID != wid || s.AuthToken.Reveal() != tok || creds.WorkerID != wid || creds.AuthToken != tok {
					t.Errorf("persisted/returned worker %q/%q, studio issued %q (token match %t/%t)",
						s.WorkerID, creds.WorkerID, wid, s.AuthToken.Reveal() == tok, creds.AuthToken == tok)
				}
				if reg := e.obs.Registration(); reg.Phase != observers.RegistrationApproved || reg.WorkerID != wid {
					t.Errorf("observers %+v, want approved as %s", reg, wid)
				}
			} else if creds != (registration.Credentials{}) {
				t.Errorf("credentials %+v without approval", creds)
			}
			if tc.wantPhase == registration.Rejected {
				if reg := e.obs.Registration(); reg.Phase != observers.RegistrationRejected || reg.Reason != "not one of ours" {
					t.Errorf("observers %+v, want rejected with the reason", reg)
				}
			}
			if tc.name == "forgotten (404)" {
				// The next tick starts over with a fresh request and secret.
				phase, _, err := e.tick(t)
				if phase != registration.Pending || err != nil {
					t.Fatalf("tick after 404 = %v, %v; want Pending", phase, err)
				}
				recs := e.studio.RegisterRequests()
				again := e.onDisk(t)
				if len(recs) != 2 || again.RegistrationRequestID == "" || again.RegistrationRequestID == rid {
					t.Errorf("after 404: %d register-requests, request id %q (old %q); want a new request", len(recs), again.RegistrationRequestID, rid)
				}
				if again.RegistrationSecret.Reveal() == secret || recs[1].SecretHash != registration.HashSecret(again.RegistrationSecret.Reveal()) {
					t.Error("the recreated request did not use a fresh secret")
				}
			}
		})
	}
}

func isNil(err error) bool { return err == nil }

func TestCreateFailureStaysPristine(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, studiotest.Options{})
			e.studio.FailRegisterRequests(1, status)
			phase, _, err := e.tick(t)
			var he *protocol.HTTPError
			if phase != registration.Pristine || !errors.As(err, &he) || he.Status != status {
				t.Fatalf("Tick = %v, %v; want Pristine with HTTPError %d", phase, err, status)
			}
			s := e.onDisk(t)
			if s.InstallID == "" {
				t.Error("install id not persisted")
			}
			if s.RegistrationRequestID != "" || s.Registered() {
				t.Errorf("after a failed create: request id %q, registered %t; want neither", s.RegistrationRequestID, s.Registered())
			}
			if reg := e.obs.Registration(); reg.Phase == observers.RegistrationPending {
				t.Errorf("observers say pending after a failed create: %+v", reg)
			}
			// The retry reuses the install id (and the secret generated for it).
			if phase, _, err := e.tick(t); phase != registration.Pending || err != nil {
				t.Fatalf("retry = %v, %v; want Pending", phase, err)
			}
			again := e.onDisk(t)
			recs := e.studio.RegisterRequests()
			if again.InstallID != s.InstallID || len(recs) != 2 || recs[1].InstallID != s.InstallID {
				t.Errorf("retry changed the install id or did not reach the studio: %d records", len(recs))
			}
			if recs[1].SecretHash != registration.HashSecret(again.RegistrationSecret.Reveal()) {
				t.Error("the retry's hash does not match the persisted secret")
			}
		})
	}
}

func TestRegisteredMakesNoHTTPCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	if _, err := e.store.Update(func(s *config.Settings) error {
		s.WorkerID, s.AuthToken = "w-7", "tok-7"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	phase, creds, err := e.tick(t)
	if phase != registration.Approved || err != nil || creds != (registration.Credentials{WorkerID: "w-7", AuthToken: "tok-7"}) {
		t.Fatalf("Tick = %v, %+v, %v; want Approved w-7", phase, creds, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := e.gate.Ensure(ctx); err != nil || got.WorkerID != "w-7" {
		t.Fatalf("Ensure = %+v, %v", got, err)
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d HTTP requests for a registered worker, want 0", n)
	}
	if s := e.onDisk(t); s.InstallID != "" {
		t.Errorf("a registered worker was given an install id %q", s.InstallID)
	}
}

func TestEnsureCancelledIsStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.gate.Ensure(ctx); !errors.Is(err, registration.ErrStopped) {
		t.Fatalf("Ensure = %v, want ErrStopped", err)
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d HTTP requests after cancel, want 0", n)
	}
}

func TestEnsureStopsWhileWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	e.gate.PollInterval = time.Hour // only the cancel can end the wait
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := e.gate.Ensure(ctx); done <- err }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := e.studio.WaitRegisterRequest(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, registration.ErrStopped) {
			t.Fatalf("Ensure = %v, want ErrStopped", err)
		}
	case <-wctx.Done():
		t.Fatal("Ensure did not return after cancel")
	}
}

func TestEnsurePollsUntilApproved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		creds registration.Credentials
		err   error
	}
	done := make(chan result, 1)
	go func() { c, err := e.gate.Ensure(ctx); done <- result{c, err} }()

	// Several polls on the 10 ms interval prove it keeps polling while pending.
	if err := e.studio.WaitPolls(ctx, 3); err != nil {
		t.Fatal(err)
	}
	rid := e.studio.RegisterRequests()[0].RequestID
	if err := e.studio.Approve(rid); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("Ensure did not return after approval")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	_, wid, _ := e.studio.RequestStatus(rid)
	tok, _ := e.studio.WorkerToken(wid)
	if r.creds.WorkerID != wid || r.creds.AuthToken != tok {
		t.Errorf("Ensure returned %q (token match %t), studio issued %q", r.creds.WorkerID, r.creds.AuthToken == tok, wid)
	}
	if n := len(e.studio.RegisterRequests()); n != 1 {
		t.Errorf("%d register-requests, want 1 (then polls)", n)
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Error("the auth token was logged")
	}
}

func TestEnsureReturnsRejection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, studiotest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := e.gate.Ensure(ctx); done <- err }()
	if err := e.studio.WaitPolls(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.studio.Reject(e.studio.RegisterRequests()[0].RequestID, "duplicate machine"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var re *registration.RejectedError
		if !errors.As(err, &re) || re.Reason != "duplicate machine" {
			t.Fatalf("Ensure = %v, want *RejectedError", err)
		}
	case <-ctx.Done():
		t.Fatal("Ensure did not return after rejection")
	}
}

func TestHashSecret(t *testing.T) {
	t.Parallel()
	// sha256("abc") from FIPS 180-2.
	if got := registration.HashSecret("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashSecret(abc) = %s", got)
	}
}

// TestRejectionSurvivesARestart: a rejected worker must not ask again on
// its own when it starts next (a service manager restarting `run`, a login
// autostart); only a reset clears the refusal.
func TestRejectionSurvivesARestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ reason, kept string }{
		{"unknown machine", "unknown machine"},
		{"", "no reason given"},
	} {
		e := newEnv(t, studiotest.Options{})
		id, _ := e.pending(t)
		if err := e.studio.Reject(id, tc.reason); err != nil {
			t.Fatal(err)
		}
		if phase, _, err := e.tick(t); phase != registration.Rejected || err == nil {
			t.Fatalf("poll after the rejection = %v, %v", phase, err)
		}
		if got := e.onDisk(t).RegistrationRejected; got != tc.kept {
			t.Fatalf("stored rejection = %q, want %q", got, tc.kept)
		}

		before := e.requests.Load()
		next := *e.gate // a new process: nothing in memory
		next.Observers = observers.New()
		phase, _, err := next.Tick(context.Background())
		var re *registration.RejectedError
		if phase != registration.Rejected || !errors.As(err, &re) || re.Reason != tc.kept {
			t.Fatalf("Tick after a restart = %v, %v; want Rejected %q", phase, err, tc.kept)
		}
		if n := e.requests.Load() - before; n != 0 {
			t.Errorf("a rejected worker made %d HTTP requests after a restart, want 0", n)
		}
		if reg := next.Observers.Registration(); reg.Phase != observers.RegistrationRejected || reg.Reason != tc.kept {
			t.Errorf("observers after a restart = %+v", reg)
		}
	}
}
