package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Synthetic is the backend for modelSource.engine "synthetic". It produces
// real, decodable outputs (PNG, JSON, WAV, GIF) derived only from the SHA-256
// of the task's prompt, so the same task always yields the same bytes: no
// randomness and no clock reach the output.
type Synthetic struct {
	delay time.Duration
}

// SyntheticOption configures NewSynthetic.
type SyntheticOption func(*Synthetic)

// WithDelay makes every run wait d (or until cancelled) before producing its
// output, so a demo shows jobs in the running state. d <= 0 means no wait.
func WithDelay(d time.Duration) SyntheticOption {
	return func(s *Synthetic) { s.delay = d }
}

// NewSynthetic returns the synthetic backend.
func NewSynthetic(opts ...SyntheticOption) *Synthetic {
	s := &Synthetic{}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name is the modelSource.engine value this backend serves.
func (s *Synthetic) Name() string { return protocol.EngineSynthetic }

// Models advertises "synthetic" and "synthetic-<kind>" for every kind.
func (s *Synthetic) Models() map[protocol.TaskKind][]string {
	m := make(map[protocol.TaskKind][]string, len(protocol.AllKinds))
	for _, k := range protocol.AllKinds {
		m[k] = []string{"synthetic", "synthetic-" + string(k)}
	}
	return m
}

// Serves reports whether Run handles kind: every protocol kind.
func (s *Synthetic) Serves(kind protocol.TaskKind) bool { return knownKind(kind) }

// Run produces the synthetic output for claim.Task. Bad task fields give an
// *InvalidTaskError; cancellation gives an error wrapping ctx.Err().
func (s *Synthetic) Run(ctx context.Context, claim protocol.JobOfferClaim) (Result, error) {
	t := claim.Task
	if !knownKind(t.Kind) {
		return Result{}, &UnsupportedTaskError{Engine: s.Name(), Kind: t.Kind}
	}
	if err := checkTaskBody(t); err != nil {
		return Result{}, err
	}
	if err := s.wait(ctx); err != nil {
		return Result{}, fmt.Errorf("synthetic %s: %w", t.Kind, err)
	}
	// Each output is keyed by the string the studio stores as the job's prompt
	// (protocol.Task.Prompt), taken from the Kind's own fields so a Task built
	// in code with stray fields of another kind cannot change the key.
	var (
		res Result
		err error
	)
	switch t.Kind {
	case protocol.KindImage:
		d := digestOf(t.Image.Prompt)
		res, err = synthImage(ctx, &d, t.Image)
	case protocol.KindLLM:
		prompt := protocol.Task{LLM: t.LLM}.Prompt()
		d := digestOf(prompt)
		res = synthLLM(&d, prompt)
	case protocol.KindAudioSTT:
		d := digestOf(t.STT.InputURL)
		res, err = synthSTT(&d, t.STT)
	case protocol.KindAudioTTS:
		d := digestOf(t.TTS.Text)
		res = synthTTS(&d, t.TTS)
	case protocol.KindVideo:
		d := digestOf(t.Video.Prompt)
		res, err = synthVideo(ctx, &d, t.Video)
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// wait sleeps for the configured delay unless ctx ends first; with no delay
// it still reports an already-cancelled ctx.
func (s *Synthetic) wait(ctx context.Context) error {
	if s.delay <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(s.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// digest is the SHA-256 of the input every synthetic output is keyed by.
type digest [sha256.Size]byte

func digestOf(s string) digest { return sha256.Sum256([]byte(s)) }

// hash16 is the first 16 hex characters of the digest, the tag that appears
// in JSON outputs.
func (d *digest) hash16() [16]byte {
	var out [16]byte
	hex.Encode(out[:], d[:8])
	return out
}
