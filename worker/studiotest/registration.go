package studiotest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Registration request states as the poll route reports them.
const (
	RegPending  = "pending"
	RegApproved = "approved"
	RegRejected = "rejected"
)

// RegisterRecord is one call of POST /workers/register-request, whatever
// its outcome (Status is the HTTP status answered; RequestID is empty
// unless it succeeded).
type RegisterRecord struct {
	InstallID    string
	SecretHash   string
	UserAgent    string
	Capabilities protocol.Capabilities
	RequestID    string
	Status       int
	At           time.Time
}

// PollRecord is one call of GET /workers/register-requests/{id}.
// Authorization is the raw header, so tests can check the worker sends the
// raw secret as its Bearer.
type PollRecord struct {
	RequestID     string
	Authorization string
	Status        int
	At            time.Time
}

type regRequest struct {
	id         string
	installID  string
	secretHash string
	status     string
	reason     string
	workerID   string
}

type registerBody struct {
	InstallID              string          `json:"installId"`
	RegistrationSecretHash string          `json:"registrationSecretHash"`
	Capabilities           json.RawMessage `json:"capabilities"`
	UserAgent              string          `json:"userAgent"`
}

func (s *Studio) handleRegisterRequest(w http.ResponseWriter, r *http.Request) {
	rec := RegisterRecord{At: time.Now()}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var req registerBody
	var caps protocol.Capabilities
	decodeErr := readErr
	if decodeErr == nil {
		decodeErr = json.Unmarshal(body, &req)
	}
	if decodeErr == nil {
		rec.InstallID, rec.SecretHash, rec.UserAgent = req.InstallID, req.RegistrationSecretHash, req.UserAgent
		if isJSONObject(req.Capabilities) {
			decodeErr = json.Unmarshal(req.Capabilities, &caps)
			rec.Capabilities = caps
		}
	}

	status, v := s.register(&rec, req, decodeErr)
	writeJSON(w, status, v)
}

// register decides the answer to a register-request and records the call.
func (s *Studio) register(rec *RegisterRecord, req registerBody, decodeErr error) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	answer := func(status int, v any) (int, any) {
		rec.Status = status
		s.regRecords = append(s.regRecords, *rec)
		return status, v
	}
	if s.failRegN > 0 {
		s.failRegN--
		s.logf("studio: register-request answered %d (injected)", s.failRegStatus)
		return answer(s.failRegStatus, map[string]string{"error": "injected failure"})
	}
	if decodeErr != nil {
		return answer(http.StatusBadRequest, map[string]string{"error": "bad request body: " + decodeErr.Error()})
	}
	if msg := validateRegister(req); msg != "" {
		s.logf("studio: register-request rejected: %s", msg)
		return answer(http.StatusBadRequest, map[string]string{"error": msg})
	}
	rr := s.byInstall[req.InstallID]
	if rr != nil {
		// A worker that lost the first answer retries with a fresh secret;
		// keep the request but trust the newest secret so its polls work.
		rr.secretHash = req.RegistrationSecretHash
	} else {
		s.reqSeq++
		rr = &regRequest{
			id:         fmt.Sprintf("rr-%d", s.reqSeq),
			installID:  req.InstallID,
			secretHash: req.RegistrationSecretHash,
			status:     RegPending,
		}
		s.requests[rr.id] = rr
		s.byInstall[rr.installID] = rr
	}
	rec.RequestID = rr.id
	s.logf("studio: register-request %s from install %s (%s)", rr.id, req.InstallID, req.UserAgent)
	return answer(http.StatusOK, map[string]string{"requestId": rr.id, "status": RegPending})
}

func isJSONObject(raw json.RawMessage) bool {
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{"))
}

// validateRegister returns why a request is invalid, or "".
func validateRegister(req registerBody) string {
	switch {
	case strings.TrimSpace(req.InstallID) == "":
		return "installId is required"
	case !isSHA256Hex(req.RegistrationSecretHash):
		return "registrationSecretHash must be 64 lowercase hex characters"
	case !isJSONObject(req.Capabilities):
		return "capabilities object is required"
	case !strings.HasPrefix(req.UserAgent, "studio-worker/"):
		return `userAgent must start with "studio-worker/"`
	}
	return ""
}

func isSHA256Hex(v string) bool {
	if len(v) != 64 {
		return false
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Studio) handlePoll(w http.ResponseWriter, r *http.Request, requestID string) {
	auth := r.Header.Get("Authorization")
	status, v := s.poll(requestID, auth)
	writeJSON(w, status, v)
}

// poll decides the answer to a registration poll and records it.
func (s *Studio) poll(requestID, auth string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	answer := func(status int, v any) (int, any) {
		s.polls = append(s.polls, PollRecord{RequestID: requestID, Authorization: auth, Status: status, At: time.Now()})
		return status, v
	}
	rr := s.requests[requestID]
	if rr == nil {
		return answer(http.StatusNotFound, map[string]string{"error": "unknown registration request"})
	}
	secret, ok := strings.CutPrefix(auth, "Bearer ")
	sum := sha256.Sum256([]byte(secret))
	if !ok || subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(rr.secretHash)) != 1 {
		return answer(http.StatusUnauthorized, map[string]string{"error": "registration secret mismatch"})
	}
	if s.opts.AutoApprove && rr.status == RegPending {
		s.approveLocked(rr)
	}
	switch rr.status {
	case RegApproved:
		// The real studio mints a fresh token on every approved poll, which
		// makes a repeated poll idempotent for the worker.
		tok := newToken()
		s.workers[rr.workerID] = tok
		s.logf("studio: register-request %s approved as %s (new token issued)", rr.id, rr.workerID)
		return answer(http.StatusOK, map[string]string{"status": RegApproved, "workerId": rr.workerID, "authToken": tok})
	case RegRejected:
		return answer(http.StatusOK, map[string]string{"status": RegRejected, "reason": rr.reason})
	default:
		return answer(http.StatusOK, map[string]string{"status": RegPending})
	}
}

// Approve approves a pending request; its next poll returns the worker id
// and a token. Approving an approved request is a no-op.
func (s *Studio) Approve(requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := s.requests[requestID]
	switch {
	case rr == nil:
		return fmt.Errorf("approve %s: %w", requestID, ErrUnknownRequest)
	case rr.status == RegApproved:
		return nil
	case rr.status != RegPending:
		return fmt.Errorf("approve %s: request is %s", requestID, rr.status)
	}
	s.approveLocked(rr)
	s.notifyLocked()
	return nil
}

func (s *Studio) approveLocked(rr *regRequest) {
	rr.status = RegApproved
	rr.workerID = s.issueWorkerIDLocked()
	s.workers[rr.workerID] = "" // reserved; the first approved poll mints the token
	delete(s.byInstall, rr.installID)
	s.logf("studio: approved %s as %s", rr.id, rr.workerID)
}

func (s *Studio) issueWorkerIDLocked() string {
	s.approvals++
	if s.approvals == 1 && s.opts.WorkerID != "" {
		if _, taken := s.workers[s.opts.WorkerID]; !taken {
			return s.opts.WorkerID
		}
	}
	for n := s.approvals; ; n++ {
		id := fmt.Sprintf("w-%d", n)
		if _, taken := s.workers[id]; !taken && id != s.opts.WorkerID {
			return id
		}
	}
}

// Reject rejects a pending request with a reason the worker shows.
func (s *Studio) Reject(requestID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := s.requests[requestID]
	switch {
	case rr == nil:
		return fmt.Errorf("reject %s: %w", requestID, ErrUnknownRequest)
	case rr.status != RegPending:
		return fmt.Errorf("reject %s: request is %s", requestID, rr.status)
	}
	rr.status, rr.reason = RegRejected, reason
	delete(s.byInstall, rr.installID)
	s.logf("studio: rejected %s", rr.id)
	s.notifyLocked()
	return nil
}

// Forget drops a request as if the studio had purged it: later polls get 404
// and the same installId may register again.
func (s *Studio) Forget(requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := s.requests[requestID]
	if rr == nil {
		return fmt.Errorf("forget %s: %w", requestID, ErrUnknownRequest)
	}
	delete(s.requests, requestID)
	if s.byInstall[rr.installID] == rr {
		delete(s.byInstall, rr.installID)
	}
	s.notifyLocked()
	return nil
}

// RequestStatus reports the state of a request (RegPending, RegApproved or
// RegRejected) and, once approved, the worker id it was given.
func (s *Studio) RequestStatus(requestID string) (status, workerID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := s.requests[requestID]
	if rr == nil {
		return "", "", false
	}
	return rr.status, rr.workerID, true
}

// FailRegisterRequests makes the next n register-request calls answer status.
func (s *Studio) FailRegisterRequests(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRegN, s.failRegStatus = n, status
}

// RegisterRequests returns every register-request call so far, oldest first.
func (s *Studio) RegisterRequests() []RegisterRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RegisterRecord(nil), s.regRecords...)
}

// Polls returns every poll so far, oldest first.
func (s *Studio) Polls() []PollRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PollRecord(nil), s.polls...)
}

// WaitRegisterRequest waits until at least n register-request calls (of any
// outcome) have been answered.
func (s *Studio) WaitRegisterRequest(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return len(s.regRecords) >= n })
}

// WaitPolls waits until at least n polls have been answered.
func (s *Studio) WaitPolls(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return len(s.polls) >= n })
}
