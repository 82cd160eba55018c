package studiotest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Direction says who sent a recorded frame.
type Direction int

const (
	FromWorker Direction = iota + 1 // sent by the worker
	ToWorker                        // sent by the studio
)

func (d Direction) String() string {
	switch d {
	case FromWorker:
		return "from-worker"
	case ToWorker:
		return "to-worker"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// TypeClose is the Type of a recorded close frame (either direction); its
// status and reason are in CloseCode and CloseReason.
const TypeClose = "close"

// Recorded is one WebSocket message as it went over the wire.
type Recorded struct {
	Session int // session number, from 1
	Dir     Direction
	// Type is the frame's "type" tag (also for a frame that failed to decode
	// when the tag could be read), TypeClose for close frames, "" otherwise.
	Type string
	Raw  []byte // payload as sent; read-only
	// Frame is the decoded frame (a pointer, e.g. *protocol.Hello), nil if
	// it did not decode or is not an application frame.
	Frame       protocol.Frame
	Binary      bool // a binary message
	CloseCode   int  // for TypeClose
	CloseReason string
	At          time.Time
}

// session is one WebSocket connection. Fields after wmu are guarded by
// Studio.mu; wmu serialises data writes so the frame order on the wire is
// the recorded order.
type session struct {
	id       int
	workerID string
	conn     *websocket.Conn
	wmu      sync.Mutex

	welcomed      bool
	closing       bool // no more frames are handled or offers made
	closeSent     bool
	ended         bool // handler returned, connection closed
	silent        bool
	autoEnabled   bool // from the last heartbeat
	needHeartbeat bool // after a transient reject: wait for a heartbeat before offering again
	caps          protocol.Capabilities
}

func (s *Studio) handleConnect(w http.ResponseWriter, r *http.Request, workerID string) {
	s.mu.Lock()
	s.upgradeAttempts++
	reject := s.rejectUpgrades
	s.notifyLocked()
	s.mu.Unlock()

	switch {
	case reject != 0:
		s.logf("studio: upgrade for %s answered %d (injected)", workerID, reject)
		writeError(w, reject, "upgrade rejected")
		return
	case !s.tokenOK(r, workerID):
		s.logf("studio: upgrade for %s: bad or missing token", workerID)
		writeError(w, http.StatusUnauthorized, "invalid worker token")
		return
	case !slices.Contains(websocket.Subprotocols(r), protocol.Subprotocol):
		s.logf("studio: upgrade for %s: sub-protocol %s not offered", workerID, protocol.Subprotocol)
		writeError(w, http.StatusBadRequest, "sub-protocol "+protocol.Subprotocol+" required")
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.logf("studio: upgrade for %s: %v", workerID, err)
		return // the upgrader has answered
	}
	conn.SetReadLimit(protocol.MaxFrameBytes)

	sess, old := s.openSession(workerID, conn)
	if sess == nil {
		_ = conn.Close()
		return
	}
	if old != nil {
		_ = s.closeSession(old, int(protocol.CloseDuplicateWorker), "replaced by a newer connection")
	}
	s.readLoop(sess)
	s.endSession(sess)
}

// openSession registers a new connection as the worker's current session and
// returns the session it replaces. It returns nil when the studio is closing.
func (s *Studio) openSession(workerID string, conn *websocket.Conn) (sess, old *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil
	}
	s.sessionSeq++
	sess = &session{id: s.sessionSeq, workerID: workerID, conn: conn}
	old = s.current[workerID]
	s.open[sess.id] = sess
	s.current[workerID] = sess
	s.latest = sess
	s.notifyLocked()
	s.logf("studio: session %d opened for %s", sess.id, workerID)
	return sess, old
}

func (s *Studio) readLoop(sess *session) {
	sess.conn.SetCloseHandler(func(code int, text string) error {
		s.mu.Lock()
		s.recordLocked(Recorded{Session: sess.id, Dir: FromWorker, Type: TypeClose, CloseCode: code, CloseReason: text, At: time.Now()})
		echo := !sess.closeSent && !sess.silent
		sess.closing = true
		if echo {
			sess.closeSent = true
			s.recordLocked(Recorded{Session: sess.id, Dir: ToWorker, Type: TypeClose, CloseCode: code, At: time.Now()})
		}
		s.mu.Unlock()
		if echo {
			_ = sess.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(writeWait))
		}
		return nil
	})
	sess.conn.SetPingHandler(func(data string) error {
		s.mu.Lock()
		silent := sess.silent
		s.mu.Unlock()
		if !silent {
			_ = sess.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		}
		return nil
	})
	for {
		mt, data, err := sess.conn.ReadMessage()
		if err != nil {
			s.logf("studio: session %d read ended: %v", sess.id, err)
			return
		}
		s.handleMessage(sess, mt, data)
	}
}

// endSession closes the connection and releases what the session held: the
// real studio requeues a job whose session ends before its result.
func (s *Studio) endSession(sess *session) {
	_ = sess.conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.ended, sess.closing = true, true
	delete(s.open, sess.id)
	if s.current[sess.workerID] == sess {
		delete(s.current, sess.workerID)
	}
	for _, j := range s.jobs {
		if j.state.Session == sess.id && j.held() {
			j.state.Status = StatusReleased
			if j.auto {
				s.requeue = append(s.requeue, j.state.Claim)
			}
			s.logf("studio: job %s released (session %d ended)", j.state.JobID, sess.id)
		}
	}
	s.notifyLocked()
	s.logf("studio: session %d ended", sess.id)
}

// reaction is what handling a worker frame calls for once the studio's
// lock is released.
type reaction struct {
	ack       protocol.ServerFrame // sent while the write lock is still held
	violation string               // protocol_violation + 4002
	authFail  bool                 // auth_failed + 4001
	finished  *JobState            // for OnJobFinished
}

// handleMessage records a worker frame and applies it in one critical
// section, so a frame visible through Frames/WaitFrame has already changed
// the studio's state (jobs, logs, capabilities); its ack may still be in
// flight. Frames answered with an ack take the write lock first and keep it
// until the ack is written, so nothing (an offer) can overtake the ack.
func (s *Studio) handleMessage(sess *session, mt int, data []byte) {
	rec := Recorded{Session: sess.id, Dir: FromWorker, Raw: data, At: time.Now()}
	var frame protocol.WorkerFrame
	var decodeErr error
	if mt == websocket.BinaryMessage {
		rec.Binary = true
	} else {
		frame, decodeErr = protocol.DecodeWorker(data)
		if decodeErr != nil {
			if de, ok := errors.AsType[*protocol.DecodeError](decodeErr); ok {
				rec.Type = de.Type
			}
		} else {
			rec.Type, rec.Frame = frame.FrameType(), frame
		}
	}
	locked := false
	switch frame.(type) {
	case *protocol.Hello, *protocol.Heartbeat, *protocol.CompleteJSON, *protocol.Fail:
		sess.wmu.Lock()
		locked = true
	}
	s.mu.Lock()
	s.recordLocked(rec)
	var re reaction
	if !sess.closing {
		re = s.applyLocked(sess, rec, frame, decodeErr)
	}
	fn := s.onFinished
	s.mu.Unlock()
	if re.ack != nil {
		if err := s.writeFrameLocked(sess, re.ack); err != nil {
			s.logf("studio: session %d: %v", sess.id, err)
		}
	}
	if locked {
		sess.wmu.Unlock()
	}
	switch {
	case re.violation != "":
		s.violate(sess, re.violation)
	case re.authFail:
		s.logf("studio: session %d: hello with a wrong token", sess.id)
		_ = s.sendError(sess, protocol.ErrAuthFailed, "invalid auth token")
	}
	if re.finished != nil && fn != nil {
		fn(*re.finished)
	}
}

// applyLocked changes the studio's state for one worker frame. Callers hold
// s.mu (and sess.wmu for frames that are acked).
func (s *Studio) applyLocked(sess *session, rec Recorded, frame protocol.WorkerFrame, decodeErr error) reaction {
	switch {
	case rec.Binary:
		return reaction{violation: "binary frames are not part of the protocol"}
	case decodeErr != nil:
		return reaction{violation: "unparseable frame: " + decodeErr.Error()}
	}
	s.logf("studio: session %d ← %s", sess.id, rec.Type)
	if !sess.welcomed {
		hello, ok := frame.(*protocol.Hello)
		switch {
		case !ok:
			return reaction{violation: rec.Type + " before hello: session not authenticated"}
		case !sameSecret(hello.AuthToken, s.workers[sess.workerID]):
			return reaction{authFail: true}
		}
		sess.welcomed = true
		sess.caps = hello.Capabilities
		return reaction{ack: &protocol.Welcome{WorkerID: sess.workerID, ServerTime: time.Now().UTC().Format(time.RFC3339)}}
	}
	switch f := frame.(type) {
	case *protocol.Hello:
		return reaction{violation: "duplicate hello"}
	case *protocol.Heartbeat:
		sess.caps = f.Capabilities
		sess.autoEnabled = f.Capabilities.AutoEnabled
		sess.needHeartbeat = false
		return reaction{ack: &protocol.HeartbeatAck{}}
	case *protocol.Accept:
		return s.acceptLocked(sess, f)
	case *protocol.Reject:
		return s.rejectLocked(sess, f)
	case *protocol.CompleteJSON:
		return s.finishLocked(sess, f.JobID, protocol.TypeCompleteJSON, func(st *JobState) protocol.ServerFrame {
			st.Status = StatusCompleted
			st.Result = f.Result
			st.Prompt = f.Prompt
			return &protocol.CompleteAck{JobID: f.JobID}
		})
	case *protocol.Fail:
		return s.finishLocked(sess, f.JobID, protocol.TypeFail, func(st *JobState) protocol.ServerFrame {
			st.Status = StatusFailed
			st.Error = f.Error
			st.Retryable = f.Retryable
			return &protocol.FailAck{JobID: f.JobID}
		})
	case *protocol.LogBatch:
		s.logs = append(s.logs, f.Entries...)
	case *protocol.ReadyForMore:
		// Offers are server-driven; the real studio ignores the nudge too.
		s.logf("studio: session %d sent readyForMore (ignored)", sess.id)
	}
	return reaction{}
}

// violate answers a protocol violation the way the real studio does.
func (s *Studio) violate(sess *session, msg string) {
	s.logf("studio: session %d protocol violation: %s", sess.id, msg)
	_ = s.sendError(sess, protocol.ErrProtocolViolation, msg)
}

// writeFrameLocked encodes and writes f. Callers hold sess.wmu.
func (s *Studio) writeFrameLocked(sess *session, f protocol.ServerFrame) error {
	data, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	return s.writeLocked(sess, websocket.TextMessage, data, Recorded{Type: f.FrameType(), Frame: f})
}

// writeLocked records and writes one data message. Callers hold sess.wmu.
// The record is made before the write so that it precedes anything the
// worker sends in reply.
func (s *Studio) writeLocked(sess *session, mt int, data []byte, rec Recorded) error {
	s.mu.Lock()
	switch {
	case sess.ended:
		s.mu.Unlock()
		return fmt.Errorf("send %s on session %d: %w", rec.Type, sess.id, ErrNoSession)
	case sess.silent:
		s.mu.Unlock()
		return fmt.Errorf("send %s on session %d: %w", rec.Type, sess.id, ErrSilent)
	}
	rec.Session, rec.Dir, rec.Raw, rec.At = sess.id, ToWorker, data, time.Now()
	s.recordLocked(rec)
	s.mu.Unlock()
	s.logf("studio: session %d → %s", sess.id, rec.Type)
	_ = sess.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := sess.conn.WriteMessage(mt, data); err != nil {
		return fmt.Errorf("send %s on session %d: %w", rec.Type, sess.id, err)
	}
	return nil
}

// sendError sends an error frame and closes with the mapped close code.
func (s *Studio) sendError(sess *session, code protocol.ErrorCode, msg string) error {
	sess.wmu.Lock()
	defer sess.wmu.Unlock()
	s.mu.Lock()
	if sess.ended || sess.closeSent {
		s.mu.Unlock()
		return fmt.Errorf("send error on session %d: %w", sess.id, ErrNoSession)
	}
	sess.closing = true
	s.mu.Unlock()
	err := s.writeFrameLocked(sess, &protocol.Error{Code: code, Message: msg})
	if cerr := s.writeCloseLocked(sess, int(protocol.CloseCodeFor(code)), msg); err == nil {
		err = cerr
	}
	return err
}

// closeSession sends a close frame; the session ends when the worker
// answers it or after closeGrace.
func (s *Studio) closeSession(sess *session, code int, reason string) error {
	sess.wmu.Lock()
	defer sess.wmu.Unlock()
	return s.writeCloseLocked(sess, code, reason)
}

// writeCloseLocked sends the studio's close frame. A silent session sends
// nothing, so it is dropped instead. Callers hold sess.wmu.
func (s *Studio) writeCloseLocked(sess *session, code int, reason string) error {
	// A close frame's payload is at most 125 bytes: 2 for the code.
	if len(reason) > 123 {
		reason = strings.ToValidUTF8(reason[:123], "")
	}
	s.mu.Lock()
	if sess.ended || sess.closeSent {
		s.mu.Unlock()
		return fmt.Errorf("close session %d: %w", sess.id, ErrNoSession)
	}
	sess.closing = true
	silent := sess.silent
	if !silent {
		sess.closeSent = true
		s.recordLocked(Recorded{Session: sess.id, Dir: ToWorker, Type: TypeClose, CloseCode: code, CloseReason: reason, At: time.Now()})
	}
	s.notifyLocked()
	s.mu.Unlock()
	if silent {
		return sess.conn.Close()
	}
	s.logf("studio: session %d → close %d %q", sess.id, code, reason)
	err := sess.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
	// Give the worker time to answer the close, then give up on it.
	_ = sess.conn.SetReadDeadline(time.Now().Add(closeGrace))
	if err != nil {
		return fmt.Errorf("close session %d: %w", sess.id, err)
	}
	return nil
}

func (s *Studio) recordLocked(r Recorded) {
	s.frames = append(s.frames, r)
	s.notifyLocked()
}

// currentLocked returns the newest session still open, or nil.
func (s *Studio) currentLocked() *session {
	if s.latest == nil || s.latest.ended {
		return nil
	}
	return s.latest
}

func (s *Studio) currentSession() (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.currentLocked()
	if sess == nil {
		return nil, ErrNoSession
	}
	return sess, nil
}

// Frames returns every recorded frame so far, oldest first.
func (s *Studio) Frames() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames)
}

// WaitFrame returns the first recorded frame, already present or future,
// for which match is true. match runs without the studio's lock, so it may
// call other Studio methods.
func (s *Studio) WaitFrame(ctx context.Context, match func(Recorded) bool) (Recorded, error) {
	next := 0
	for {
		s.mu.Lock()
		// Elements are never modified after append, so the tail can be read
		// outside the lock while new frames are appended.
		tail := s.frames[next:]
		closed := s.closed
		ch := s.changedLocked()
		s.mu.Unlock()
		for _, r := range tail {
			if match(r) {
				return r, nil
			}
		}
		next += len(tail)
		if closed {
			return Recorded{}, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Recorded{}, ctx.Err()
		}
	}
}

// Logs returns every log entry the worker shipped in logBatch frames.
func (s *Studio) Logs() []protocol.LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs)
}

// Sessions returns how many WebSocket sessions were opened so far. A session
// counts from just after the upgrade answer (so a client may see the upgrade
// succeed a moment before); every frame of it is handled after it counts.
func (s *Studio) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionSeq
}

// WaitSessions waits until at least n sessions were opened.
func (s *Studio) WaitSessions(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return s.sessionSeq >= n })
}

// UpgradeAttempts counts requests to the connect route, successful or not.
func (s *Studio) UpgradeAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upgradeAttempts
}

// WaitUpgradeAttempts waits until at least n connect requests were made.
func (s *Studio) WaitUpgradeAttempts(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return s.upgradeAttempts >= n })
}

// Connected reports whether a welcomed session is open (and not closing).
func (s *Studio) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.open {
		if sess.welcomed && !sess.closing {
			return true
		}
	}
	return false
}

// Capabilities returns the capabilities of workerID's current session, from
// its last heartbeat (or its hello before the first heartbeat).
func (s *Studio) Capabilities(workerID string) (protocol.Capabilities, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.current[workerID]
	if sess == nil || !sess.welcomed {
		return protocol.Capabilities{}, false
	}
	return sess.caps, true
}

// DropConnection closes the current session's TCP connection without a
// close frame.
func (s *Studio) DropConnection() error {
	sess, err := s.currentSession()
	if err != nil {
		return fmt.Errorf("drop connection: %w", err)
	}
	s.mu.Lock()
	sess.closing = true
	s.mu.Unlock()
	s.logf("studio: session %d dropped", sess.id)
	return sess.conn.Close()
}

// GoSilent makes the current session send nothing (no acks, pongs, offers
// or close frames) while still reading and recording; off restores it.
func (s *Studio) GoSilent(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.currentLocked()
	if sess == nil {
		return fmt.Errorf("go silent: %w", ErrNoSession)
	}
	sess.silent = on
	s.notifyLocked()
	return nil
}

// SendRaw writes an arbitrary message on the current session (malformed
// frames, binary frames, early offers…). It is recorded like any frame.
func (s *Studio) SendRaw(messageType int, data []byte) error {
	sess, err := s.currentSession()
	if err != nil {
		return fmt.Errorf("send raw: %w", err)
	}
	rec := Recorded{Binary: messageType == websocket.BinaryMessage}
	if messageType == websocket.TextMessage {
		f, derr := protocol.DecodeServer(data)
		if derr == nil {
			rec.Type, rec.Frame = f.FrameType(), f
		} else if de, ok := errors.AsType[*protocol.DecodeError](derr); ok {
			rec.Type = de.Type
		} else if f != nil {
			rec.Type = f.FrameType() // an invalid offer
		}
	}
	sess.wmu.Lock()
	defer sess.wmu.Unlock()
	return s.writeLocked(sess, messageType, data, rec)
}

// SendError sends an error frame on the current session and closes it with
// protocol.CloseCodeFor(code).
func (s *Studio) SendError(code protocol.ErrorCode, msg string) error {
	sess, err := s.currentSession()
	if err != nil {
		return fmt.Errorf("send error: %w", err)
	}
	return s.sendError(sess, code, msg)
}

// CloseSession sends a close frame with code and reason on the current
// session.
func (s *Studio) CloseSession(code int, reason string) error {
	sess, err := s.currentSession()
	if err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return s.closeSession(sess, code, reason)
}

// RejectUpgrades answers every following upgrade with HTTP status (0 = serve
// upgrades normally again).
func (s *Studio) RejectUpgrades(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectUpgrades = status
}
