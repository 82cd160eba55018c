package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Result is what a job produced: JSON (llm, audio_stt) goes back in a
// completeJson frame, Data (image, audio_tts, video) is uploaded as a file with
// extension Ext. Exactly one of JSON and Data is set.
type Result struct {
	JSON json.RawMessage
	Data []byte
	Ext  string
}

// IsBinary reports whether the result is a file to upload rather than JSON.
func (r Result) IsBinary() bool { return r.JSON == nil && r.Data != nil }

// Backend is one engine. Name is the modelSource.engine value it serves;
// Models lists the models it advertises per task kind (a kind with no models
// is a kind it cannot serve).
type Backend interface {
	Name() string
	Models() map[protocol.TaskKind][]string
	Run(ctx context.Context, claim protocol.JobOfferClaim) (Result, error)
}

// UnsupportedTaskError is a task kind the routed engine cannot serve. It is
// terminal: offering the same job again cannot succeed.
type UnsupportedTaskError struct {
	Engine string
	Kind   protocol.TaskKind
}

func (e *UnsupportedTaskError) Error() string {
	return fmt.Sprintf("%s engine cannot serve %s tasks", e.Engine, e.Kind)
}

// MissingEngineError is an offer for an engine this worker does not have.
// Terminal: under the no-fallback policy no other engine may stand in.
type MissingEngineError struct {
	Engine string
	Model  string
}

func (e *MissingEngineError) Error() string {
	return fmt.Sprintf("no `%s` engine in this worker (model `%s` requires it)", e.Engine, e.Model)
}

// InvalidTaskError is a task whose fields cannot be run as given (the kind's
// fields missing, a size out of range). Terminal: the same task fails again.
// Field is the task's JSON field name when one field is at fault.
type InvalidTaskError struct {
	Kind  protocol.TaskKind
	Field string
	Msg   string
}

func (e *InvalidTaskError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid %s task: %s", e.Kind, e.Msg)
	}
	return fmt.Sprintf("invalid %s task: %s: %s", e.Kind, e.Field, e.Msg)
}

// IsTerminal reports whether err (anywhere in its chain) means the job can
// never succeed, so the studio must not retry it (fail retryable:false).
// Every other error, cancellation included, is retryable.
func IsTerminal(err error) bool {
	var unsupported *UnsupportedTaskError
	var missing *MissingEngineError
	var invalid *InvalidTaskError
	return errors.As(err, &unsupported) || errors.As(err, &missing) || errors.As(err, &invalid)
}

// knownKind reports whether k is one of the protocol's task kinds.
func knownKind(k protocol.TaskKind) bool {
	for _, x := range protocol.AllKinds {
		if x == k {
			return true
		}
	}
	return false
}

// checkTaskBody returns an *InvalidTaskError when the task names a known kind
// but carries no fields for it. A Task built in code (not decoded) can be in
// that state, and a backend must not dereference the nil pointer.
func checkTaskBody(t protocol.Task) error {
	var missing bool
	switch t.Kind {
	case protocol.KindImage:
		missing = t.Image == nil
	case protocol.KindLLM:
		missing = t.LLM == nil
	case protocol.KindAudioSTT:
		missing = t.STT == nil
	case protocol.KindAudioTTS:
		missing = t.TTS == nil
	case protocol.KindVideo:
		missing = t.Video == nil
	}
	if missing {
		return &InvalidTaskError{Kind: t.Kind, Msg: fmt.Sprintf("no %s fields set", t.Kind)}
	}
	return nil
}
