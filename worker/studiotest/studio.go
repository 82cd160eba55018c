package studiotest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Errors returned by the control methods.
var (
	// ErrClosed: the studio was closed (or closed while waiting).
	ErrClosed = errors.New("studiotest: studio closed")
	// ErrNoSession: there is no open session to act on (none yet, it ended,
	// it is closing, or an offer needs a welcomed one).
	ErrNoSession = errors.New("studiotest: no open session")
	// ErrSilent: the session was told to GoSilent, so nothing is sent.
	ErrSilent = errors.New("studiotest: session is silent")
	// ErrUnknownRequest: no registration request with that id.
	ErrUnknownRequest = errors.New("studiotest: unknown registration request")
)

const (
	// writeWait bounds every write so a peer that stops reading cannot
	// wedge a handler (and with it Close).
	writeWait = 5 * time.Second
	// closeGrace is how long a session waits for the worker's close reply
	// after the studio sent its close frame.
	closeGrace = time.Second
	// maxJSONBody bounds the registration request body.
	maxJSONBody = 1 << 20
	// maxUploadBody bounds a multipart upload.
	maxUploadBody = 64 << 20
)

// Options configure a Studio.
type Options struct {
	// AutoApprove approves a registration request on its first poll.
	AutoApprove bool
	// WorkerID is the id issued on the first approval; later approvals (and
	// all of them when empty) get "w-N" from a counter.
	WorkerID string
	// Logf, when set, receives a trace of what the studio does. Secrets
	// (tokens, registration secrets) are never passed to it.
	Logf func(format string, args ...any)
}

// Studio is the studio double. Create it with New, then Start it; Close
// stops every goroutine it started and waits for them.
type Studio struct {
	opts     Options
	upgrader websocket.Upgrader
	wg       sync.WaitGroup // every handler and the serve loop
	done     chan struct{}  // closed by Close

	mu      sync.Mutex
	changed chan struct{} // broadcast: closed and cleared on every change; nil when nobody waits
	closed  bool
	started bool
	srv     *http.Server
	baseURL string

	onFinished func(JobState)

	// registration
	requests      map[string]*regRequest // by request id
	byInstall     map[string]*regRequest // pending requests by installId
	reqSeq        int
	approvals     int
	regRecords    []RegisterRecord
	polls         []PollRecord
	failRegN      int
	failRegStatus int

	// workerID → current auth token ("" = id reserved, no valid token yet)
	workers map[string]string

	// sessions
	sessionSeq      int
	open            map[int]*session    // sessions whose handler still runs
	current         map[string]*session // newest session per worker
	latest          *session            // newest session of any worker
	upgradeAttempts int
	rejectUpgrades  int
	frames          []Recorded
	logs            []protocol.LogEntry

	// jobs
	jobs    map[string]*job
	requeue []protocol.JobOfferClaim // RunJobs claims to offer again

	// uploads
	uploads        []Upload
	uploadAttempts map[string]int
	failUpN        int
	failUpStatus   int
}

// New returns a studio that is not listening yet.
func New(opts Options) *Studio {
	return &Studio{
		opts: opts,
		upgrader: websocket.Upgrader{
			Subprotocols: []string{protocol.Subprotocol},
			// Workers are not browsers; there is no origin to defend.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		done:           make(chan struct{}),
		requests:       make(map[string]*regRequest),
		byInstall:      make(map[string]*regRequest),
		workers:        make(map[string]string),
		open:           make(map[int]*session),
		current:        make(map[string]*session),
		jobs:           make(map[string]*job),
		uploadAttempts: make(map[string]int),
	}
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves the worker routes.
// It returns the base URL to give the worker, like "http://127.0.0.1:PORT/".
func (s *Studio) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("start studio: %w", ErrClosed)
	}
	if s.started {
		return "", errors.New("start studio: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("start studio: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logWriter{s}, "", 0),
	}
	s.started = true
	s.baseURL = "http://" + ln.Addr().String() + "/"
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("studio: serve: %v", err)
		}
	}()
	s.logf("studio: listening on %s", s.baseURL)
	return s.baseURL, nil
}

// URL returns the base URL ("" before Start).
func (s *Studio) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close stops listening, closes every WebSocket (after a best-effort 1001
// close frame) and returns once every goroutine the studio started has
// exited. Waiters (WaitFrame, RunJobs, …) return ErrClosed. It is idempotent.
func (s *Studio) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.notifyLocked()
	srv := s.srv
	sessions := make([]*session, 0, len(s.open))
	for _, sess := range s.open {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()

	var err error
	if srv != nil {
		// Closes the listener and every connection that was not hijacked;
		// WebSockets are hijacked, so they are closed below.
		if cerr := srv.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("close studio: %w", cerr)
		}
	}
	for _, sess := range sessions {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "studio shutting down")
		_ = sess.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
		_ = sess.conn.Close()
	}
	s.wg.Wait()
	s.logf("studio: closed")
	return err
}

// AddWorker registers a worker directly (tests that skip registration), or
// replaces the token of a known one. Open sessions are not affected.
func (s *Studio) AddWorker(workerID, authToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workers[workerID] = authToken
	s.notifyLocked()
}

// WorkerToken returns the token that currently authenticates workerID.
func (s *Studio) WorkerToken(workerID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.workers[workerID]
	return tok, ok && tok != ""
}

// OnJobFinished sets a callback run once per job that reaches a final state
// (completed, failed, or rejected without a transient code). Set it before
// Start. It runs on a studio goroutine, outside the studio's lock.
func (s *Studio) OnJobFinished(fn func(JobState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onFinished = fn
}

func (s *Studio) routes() http.Handler {
	mux := http.NewServeMux()
	p := protocol.APIPrefix + "/workers"
	mux.HandleFunc("POST "+p+"/register-request", s.track(s.handleRegisterRequest))
	// "register-requests/{id}" and "{workerId}/connect" overlap as patterns
	// (ServeMux refuses both), so one handler dispatches them.
	mux.HandleFunc("GET "+p+"/{first}/{second}", s.track(s.handleGet))
	mux.HandleFunc("POST "+p+"/{workerId}/jobs/{jobId}/complete", s.track(s.handleUpload))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route")
	})
	return mux
}

func (s *Studio) handleGet(w http.ResponseWriter, r *http.Request) {
	first, second := r.PathValue("first"), r.PathValue("second")
	switch {
	case first == "register-requests":
		s.handlePoll(w, r, second)
	case second == "connect":
		s.handleConnect(w, r, first)
	default:
		writeError(w, http.StatusNotFound, "no such route")
	}
}

// track counts a handler in the wait group so Close can wait for it. The
// closed check and Add happen under the lock Close takes, so no Add can race
// with Wait.
func (s *Studio) track(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, "studio closed")
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		h(w, r)
	}
}

// notifyLocked wakes every waiter. Callers hold s.mu.
func (s *Studio) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// changedLocked returns the channel closed at the next change.
func (s *Studio) changedLocked() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// waitUntil blocks until cond (called with s.mu held) is true, ctx ends or
// the studio closes.
func (s *Studio) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		closed := s.closed
		ch := s.changedLocked()
		s.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Studio) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// logWriter routes net/http's own error log to Logf.
type logWriter struct{ s *Studio }

func (l logWriter) Write(p []byte) (int, error) {
	l.s.logf("studio: http: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// bearer returns the credential of an "Authorization: Bearer X" header.
func bearer(r *http.Request) (string, bool) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return v, ok && v != ""
}

// sameSecret compares two secrets in constant time (hashing first so the
// comparison does not depend on their lengths). An empty want never matches.
func sameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// tokenOK reports whether the request's bearer is workerID's current token.
func (s *Studio) tokenOK(r *http.Request, workerID string) bool {
	got, ok := bearer(r)
	s.mu.Lock()
	want := s.workers[workerID]
	s.mu.Unlock()
	return ok && sameSecret(got, want)
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}
