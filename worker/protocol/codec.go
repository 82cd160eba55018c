package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxFrameBytes bounds the size of a frame the worker reads. Offers are a few
// KiB; anything near this limit is a broken or hostile peer.
const MaxFrameBytes = 1 << 20

// DecodeError says why a text frame could not be decoded. Type is the frame's
// "type" tag when it could be read.
type DecodeError struct {
	Type string
	Err  error
}

func (e *DecodeError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("decode frame: %v", e.Err)
	}
	return fmt.Sprintf("decode %q frame: %v", e.Type, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// InvalidOfferError is an offer that parsed far enough to name its job but
// cannot be run (no task or modelSource, or a bad task). The worker answers it
// with a terminal fail instead of dropping the session.
type InvalidOfferError struct {
	JobID  string
	Reason string
}

func (e *InvalidOfferError) Error() string {
	return fmt.Sprintf("invalid offer for job %q: %s", e.JobID, e.Reason)
}

// ErrUnknownType is wrapped by DecodeError for a "type" tag outside the protocol.
var ErrUnknownType = errors.New("unknown frame type")

// Encode marshals a frame with its "type" tag first.
func Encode(f Frame) ([]byte, error) {
	// A nil frame (interface or pointer) would panic in FrameType, whose
	// value receivers dereference it, and take the session's writer down.
	if f == nil {
		return nil, errors.New("encode frame: nil frame")
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", f.FrameType(), err)
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("encode %T frame: not a JSON object (nil pointer?)", f)
	}
	return spliceType("type", f.FrameType(), b), nil
}

// spliceType prepends `"key":"value"` to a marshalled JSON object. The value
// is a protocol constant, never user text, so it needs no escaping.
func spliceType(key, value string, obj []byte) []byte {
	out := make([]byte, 0, len(obj)+len(key)+len(value)+8)
	out = append(out, `{"`...)
	out = append(out, key...)
	out = append(out, `":"`...)
	out = append(out, value...)
	out = append(out, '"')
	if len(obj) > 2 {
		out = append(out, ',')
		out = append(out, obj[1:]...)
	} else {
		out = append(out, '}')
	}
	return out
}

func readType(b []byte) (string, error) {
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", &DecodeError{Err: err}
	}
	if head.Type == nil {
		return "", &DecodeError{Err: errors.New(`missing "type"`)}
	}
	return *head.Type, nil
}

// DecodeServer decodes a frame the studio sent. An offer that names its job
// but lacks what it needs returns the partially decoded *Offer together with
// an *InvalidOfferError.
func DecodeServer(b []byte) (ServerFrame, error) {
	typ, err := readType(b)
	if err != nil {
		return nil, err
	}
	var f ServerFrame
	switch typ {
	case TypeWelcome:
		f = &Welcome{}
	case TypeOffer:
		return decodeOffer(b)
	case TypeHeartbeatAck:
		f = &HeartbeatAck{}
	case TypeCompleteAck:
		f = &CompleteAck{}
	case TypeFailAck:
		f = &FailAck{}
	case TypeError:
		f = &Error{}
	default:
		return nil, &DecodeError{Type: typ, Err: ErrUnknownType}
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, &DecodeError{Type: typ, Err: err}
	}
	return f, nil
}

func decodeOffer(b []byte) (ServerFrame, error) {
	var raw struct {
		Claim *struct {
			JobID       string          `json:"jobId"`
			Task        json.RawMessage `json:"task"`
			ModelSource json.RawMessage `json:"modelSource"`
		} `json:"claim"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &DecodeError{Type: TypeOffer, Err: err}
	}
	if raw.Claim == nil {
		return nil, &DecodeError{Type: TypeOffer, Err: errors.New(`missing "claim"`)}
	}
	jobID := raw.Claim.JobID
	if jobID == "" {
		return nil, &DecodeError{Type: TypeOffer, Err: errors.New(`missing "claim.jobId"`)}
	}
	partial := &Offer{Claim: JobOfferClaim{JobID: jobID}}
	if isAbsent(raw.Claim.Task) {
		return partial, &InvalidOfferError{JobID: jobID, Reason: `missing "task"`}
	}
	if isAbsent(raw.Claim.ModelSource) {
		return partial, &InvalidOfferError{JobID: jobID, Reason: `missing "modelSource"`}
	}
	var o Offer
	if err := json.Unmarshal(b, &o); err != nil {
		return partial, &InvalidOfferError{JobID: jobID, Reason: err.Error()}
	}
	return &o, nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// DecodeWorker decodes a frame a worker sent; the studio double uses it.
func DecodeWorker(b []byte) (WorkerFrame, error) {
	typ, err := readType(b)
	if err != nil {
		return nil, err
	}
	var f WorkerFrame
	switch typ {
	case TypeHello:
		f = &Hello{}
	case TypeHeartbeat:
		f = &Heartbeat{}
	case TypeAccept:
		f = &Accept{}
	case TypeReject:
		f = &Reject{}
	case TypeCompleteJSON:
		f = &CompleteJSON{}
	case TypeFail:
		f = &Fail{}
	case TypeLogBatch:
		f = &LogBatch{}
	case TypeReadyForMore:
		f = &ReadyForMore{}
	default:
		return nil, &DecodeError{Type: typ, Err: ErrUnknownType}
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, &DecodeError{Type: typ, Err: err}
	}
	return f, nil
}
