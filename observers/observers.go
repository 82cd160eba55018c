package observers

import (
	"sync"
	"time"
)

// Capacities shared with the reference worker.
const (
	RecentJobsCap      = 50
	LogRingCap         = 1000
	PromptPreviewChars = 200
)

// signal is a broadcast edge: the channel handed out by wait is closed by the
// next fire. A channel exists only while someone holds it, so fire costs a nil
// check when nobody is listening (log appends run at hundreds of thousands per
// second with no UI attached). The owner's mutex guards it.
type signal struct {
	ch chan struct{}
}

func (g *signal) wait() <-chan struct{} {
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) fire() {
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// Set is the shared state of one worker process. The zero value is not ready
// for use; call New. All methods are safe for concurrent use.
type Set struct {
	// mu guards every slot except the log ring, which has its own lock so a
	// flood of log lines never contends with the UI reading job state.
	mu      sync.Mutex
	changed signal

	current    CurrentJob
	hasCurrent bool
	recent     jobRing

	heartbeat    HeartbeatStatus
	hasHeartbeat bool

	registration RegistrationState
	session      SessionState

	enabled bool
	busy    bool

	vramTotalGb     float64
	vramThresholdGb float64

	updateChecks []UpdateCheck // newest first, at most UpdateChecksCap (update.go)

	logMu       sync.Mutex
	logsChanged signal
	logs        logRing
}

// New returns a Set that is enabled, idle, with registration "initialising"
// and no session phase yet.
func New() *Set {
	return &Set{
		enabled:      true,
		registration: RegistrationState{Phase: RegistrationInitialising},
	}
}

// Changed returns a channel closed at the next state change after the call
// (any slot except the log ring). Call it again after each wake-up.
func (s *Set) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed.wait()
}

// LogsChanged returns a channel closed at the next log append after the call.
func (s *Set) LogsChanged() <-chan struct{} {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logsChanged.wait()
}

// update runs fn under the state lock and wakes Changed waiters.
func (s *Set) update(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
	s.changed.fire()
}

// HeartbeatOutcome is the result of the last heartbeat attempt.
type HeartbeatOutcome string

const (
	HeartbeatOK  HeartbeatOutcome = "ok"
	HeartbeatErr HeartbeatOutcome = "err"
)

// HeartbeatStatus is what the UI shows about heartbeats; it judges staleness
// from LastAttemptAt.
type HeartbeatStatus struct {
	Outcome       HeartbeatOutcome
	Reason        string
	LastAttemptAt time.Time
}

// SetHeartbeat records the latest heartbeat attempt.
func (s *Set) SetHeartbeat(h HeartbeatStatus) {
	s.update(func() { s.heartbeat, s.hasHeartbeat = h, true })
}

// Heartbeat returns the latest heartbeat attempt; false when none was made yet.
func (s *Set) Heartbeat() (HeartbeatStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeat, s.hasHeartbeat
}

// RegistrationPhase is where the worker is in the self-registration flow.
type RegistrationPhase string

const (
	RegistrationInitialising RegistrationPhase = "initialising"
	RegistrationPending      RegistrationPhase = "pending"
	RegistrationApproved     RegistrationPhase = "approved"
	RegistrationRejected     RegistrationPhase = "rejected"
)

// RegistrationState is the registration slot. RequestID identifies the
// pending request; it is not a secret.
type RegistrationState struct {
	Phase     RegistrationPhase
	RequestID string
	Since     time.Time
	Reason    string
	WorkerID  string
}

// SetRegistration replaces the registration slot.
func (s *Set) SetRegistration(r RegistrationState) {
	s.update(func() { s.registration = r })
}

// Registration returns the registration slot.
func (s *Set) Registration() RegistrationState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registration
}

// SessionPhase is the state of the studio WebSocket session.
type SessionPhase string

const (
	SessionWaitingForApproval SessionPhase = "waiting_for_approval"
	SessionConnecting         SessionPhase = "connecting"
	SessionConnected          SessionPhase = "connected"
	SessionReconnecting       SessionPhase = "reconnecting"
	SessionAuthFailed         SessionPhase = "auth_failed"
	SessionFatal              SessionPhase = "fatal"
	SessionStopped            SessionPhase = "stopped"
)

// SessionState is the session slot. Attempt counts reconnect attempts since
// the last welcomed session.
type SessionState struct {
	Phase   SessionPhase
	Attempt int
	Reason  string
	Since   time.Time
}

// SetSession replaces the session slot.
func (s *Set) SetSession(st SessionState) {
	s.update(func() { s.session = st })
}

// Session returns the session slot; Phase is empty until a session reports.
func (s *Set) Session() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session
}

// SetEnabled sets whether the worker takes offers.
func (s *Set) SetEnabled(v bool) {
	s.update(func() { s.enabled = v })
}

// Enabled reports whether the worker takes offers.
func (s *Set) Enabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enabled
}

// SetVRAM records the detected VRAM and the configured per-job threshold.
func (s *Set) SetVRAM(totalGb, thresholdGb float64) {
	s.update(func() { s.vramTotalGb, s.vramThresholdGb = totalGb, thresholdGb })
}

// VRAM returns the detected VRAM and the per-job threshold, in GB.
func (s *Set) VRAM() (totalGb, thresholdGb float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vramTotalGb, s.vramThresholdGb
}
