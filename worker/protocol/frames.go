package protocol

import (
	"encoding/json"
	"fmt"
	"time"
)

// Subprotocol is the WebSocket sub-protocol the studio expects and echoes.
const Subprotocol = "studio-worker-v1"

// APIPrefix is the path prefix of every worker route on the studio.
const APIPrefix = "/graphics/api"

// Frame type tags, exactly as they appear in the "type" field.
const (
	TypeHello        = "hello"
	TypeHeartbeat    = "heartbeat"
	TypeAccept       = "accept"
	TypeReject       = "reject"
	TypeCompleteJSON = "completeJson"
	TypeFail         = "fail"
	TypeLogBatch     = "logBatch"
	TypeReadyForMore = "readyForMore"

	TypeWelcome      = "welcome"
	TypeOffer        = "offer"
	TypeHeartbeatAck = "heartbeatAck"
	TypeCompleteAck  = "completeAck"
	TypeFailAck      = "failAck"
	TypeError        = "error"
)

// Frame is any application message; FrameType returns its "type" tag.
type Frame interface {
	FrameType() string
}

// WorkerFrame is a frame the worker sends to the studio.
type WorkerFrame interface {
	Frame
	workerFrame()
}

// ServerFrame is a frame the studio sends to the worker.
type ServerFrame interface {
	Frame
	serverFrame()
}

// ---- worker → studio ----

// Hello is sent once, right after the upgrade, before anything else.
type Hello struct {
	AuthToken    string       `json:"authToken"`
	Capabilities Capabilities `json:"capabilities"`
}

// Heartbeat is sent every HeartbeatInterval after welcome. CurrentJobID is
// omitted (not null) when no job runs, as the reference does.
type Heartbeat struct {
	Capabilities Capabilities `json:"capabilities"`
	CurrentJobID string       `json:"currentJobId,omitempty"`
}

// Accept tells the studio the worker runs the offered job.
type Accept struct {
	JobID string `json:"jobId"`
}

// RejectCode says why an offer was refused; the studio treats both codes as
// transient (requeue without counting an attempt).
type RejectCode string

const (
	RejectBusy   RejectCode = "busy"
	RejectPaused RejectCode = "paused"
)

// Reject refuses an offer. Code is optional on the wire (older workers omit it).
type Reject struct {
	JobID  string     `json:"jobId"`
	Reason string     `json:"reason"`
	Code   RejectCode `json:"code,omitempty"`
}

// Reject reasons the reference uses verbatim.
const (
	ReasonPaused = "worker paused by operator"
	ReasonBusy   = "worker already has an in-flight job"
)

// CompleteJSON delivers a JSON result. Prompt is always sent (the full prompt,
// "" when the task has none), never the UI preview.
type CompleteJSON struct {
	JobID  string          `json:"jobId"`
	Result json.RawMessage `json:"result"`
	Prompt string          `json:"prompt"`
}

// Fail reports a job that did not produce a result.
type Fail struct {
	JobID     string `json:"jobId"`
	Error     string `json:"error"`
	Retryable bool   `json:"retryable"`
}

// LogBatch ships queued log entries.
type LogBatch struct {
	Entries []LogEntry `json:"entries"`
}

// ReadyForMore exists for wire compatibility only. The worker never sends it:
// it raced the studio's own offer and got sessions killed.
type ReadyForMore struct{}

// LogLevel is the level of a shipped log entry.
type LogLevel string

const (
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

// LogEntry is one shipped log line.
type LogEntry struct {
	TS       Timestamp `json:"ts"`
	Level    LogLevel  `json:"level"`
	Category string    `json:"category"`
	Message  string    `json:"message"`
	JobID    string    `json:"jobId,omitempty"`
}

// Timestamp marshals as RFC 3339 in UTC with milliseconds and a "Z", and
// accepts any RFC 3339 time on input (the studio's own tests omit millis).
type Timestamp struct{ time.Time }

// TimestampLayout is the wire layout of a Timestamp.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

func (t Timestamp) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	if !rfc3339Year(u) {
		return nil, fmt.Errorf("timestamp: year %d outside RFC 3339 range 0000-9999", u.Year())
	}
	b := make([]byte, 0, len(TimestampLayout)+2)
	b = append(b, '"')
	b = u.AppendFormat(b, TimestampLayout)
	return append(b, '"'), nil
}

// rfc3339Year reports whether t's year fits the four digits RFC 3339 allows;
// AppendFormat would otherwise write "-0001" or "10000", which no parser
// (ours included) accepts.
func rfc3339Year(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", s, err)
	}
	// The offset can move a valid local time across year 0 or 9999 in UTC,
	// where MarshalJSON could not write it back.
	if !rfc3339Year(v.UTC()) {
		return fmt.Errorf("timestamp %q: year outside 0000-9999 in UTC", s)
	}
	t.Time = v
	return nil
}

// ---- studio → worker ----

// Welcome authenticates the session; nothing but hello goes out before it.
type Welcome struct {
	WorkerID   string `json:"workerId"`
	ServerTime string `json:"serverTime"`
}

// Offer pushes one job to the worker.
type Offer struct {
	Claim JobOfferClaim `json:"claim"`
}

// JobOfferClaim is the job inside an offer. Task and ModelSource are required.
type JobOfferClaim struct {
	JobID          string      `json:"jobId"`
	GameID         string      `json:"gameId"`
	AssetName      string      `json:"assetName"`
	Model          string      `json:"model"`
	VRAMGbEstimate float64     `json:"vramGbEstimate"`
	Task           Task        `json:"task"`
	ModelSource    ModelSource `json:"modelSource"`
}

// HeartbeatAck confirms a heartbeat.
type HeartbeatAck struct{}

// CompleteAck confirms a completeJson (or a multipart upload).
type CompleteAck struct {
	JobID string `json:"jobId"`
}

// FailAck confirms a fail.
type FailAck struct {
	JobID string `json:"jobId"`
}

// ErrorCode is the snake_case code of an error frame.
type ErrorCode string

const (
	ErrAuthFailed        ErrorCode = "auth_failed"
	ErrProtocolViolation ErrorCode = "protocol_violation"
	ErrDuplicateWorker   ErrorCode = "duplicate_worker"
	ErrWorkerDeleted     ErrorCode = "worker_deleted"
	ErrInternalError     ErrorCode = "internal_error"
)

// Error is the studio telling the worker why it is about to close the session.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// CloseCode is a WebSocket close status the studio uses.
type CloseCode int

const (
	CloseNormal            CloseCode = 1000
	CloseAuthFailed        CloseCode = 4001
	CloseProtocolViolation CloseCode = 4002
	CloseDuplicateWorker   CloseCode = 4003
	CloseWorkerDeleted     CloseCode = 4004
)

// CloseCodeFor maps an error code to the close code the studio sends after it
// (must match the studio's closeCodeForError).
func CloseCodeFor(c ErrorCode) CloseCode {
	switch c {
	case ErrAuthFailed:
		return CloseAuthFailed
	case ErrProtocolViolation:
		return CloseProtocolViolation
	case ErrDuplicateWorker:
		return CloseDuplicateWorker
	case ErrWorkerDeleted:
		return CloseWorkerDeleted
	default:
		return CloseNormal
	}
}

func (Hello) FrameType() string        { return TypeHello }
func (Heartbeat) FrameType() string    { return TypeHeartbeat }
func (Accept) FrameType() string       { return TypeAccept }
func (Reject) FrameType() string       { return TypeReject }
func (CompleteJSON) FrameType() string { return TypeCompleteJSON }
func (Fail) FrameType() string         { return TypeFail }
func (LogBatch) FrameType() string     { return TypeLogBatch }
func (ReadyForMore) FrameType() string { return TypeReadyForMore }
func (Welcome) FrameType() string      { return TypeWelcome }
func (Offer) FrameType() string        { return TypeOffer }
func (HeartbeatAck) FrameType() string { return TypeHeartbeatAck }
func (CompleteAck) FrameType() string  { return TypeCompleteAck }
func (FailAck) FrameType() string      { return TypeFailAck }
func (Error) FrameType() string        { return TypeError }

func (Hello) workerFrame()        {}
func (Heartbeat) workerFrame()    {}
func (Accept) workerFrame()       {}
func (Reject) workerFrame()       {}
func (CompleteJSON) workerFrame() {}
func (Fail) workerFrame()         {}
func (LogBatch) workerFrame()     {}
func (ReadyForMore) workerFrame() {}
func (Welcome) serverFrame()      {}
func (Offer) serverFrame()        {}
func (HeartbeatAck) serverFrame() {}
func (CompleteAck) serverFrame()  {}
func (FailAck) serverFrame()      {}
func (Error) serverFrame()        {}
