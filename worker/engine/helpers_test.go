package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// decodeTask builds a Task the way an offer does, so protocol defaults apply.
func decodeTask(t testing.TB, js string) protocol.Task {
	t.Helper()
	var task protocol.Task
	if err := json.Unmarshal([]byte(js), &task); err != nil {
		t.Fatalf("decode task %s: %v", js, err)
	}
	return task
}

func claimFor(engineName string, task protocol.Task) protocol.JobOfferClaim {
	return protocol.JobOfferClaim{
		JobID:       "job-1",
		Model:       "model-x",
		Task:        task,
		ModelSource: protocol.ModelSource{Engine: engineName},
	}
}

// wantHash16 recomputes the tag independently of the code under test.
func wantHash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

func runSynthetic(t testing.TB, task protocol.Task) Result {
	t.Helper()
	res, err := NewSynthetic().Run(context.Background(), claimFor(protocol.EngineSynthetic, task))
	if err != nil {
		t.Fatalf("synthetic %s: %v", task.Kind, err)
	}
	return res
}

// stubBackend is a stand-in for a real engine (sd-cpp, llama-cpp) that
// records whether it ran.
type stubBackend struct {
	name   string
	models map[protocol.TaskKind][]string
	run    func(ctx context.Context, claim protocol.JobOfferClaim) (Result, error)
	calls  atomic.Int32
}

func (s *stubBackend) Name() string                           { return s.name }
func (s *stubBackend) Models() map[protocol.TaskKind][]string { return s.models }
func (s *stubBackend) Run(ctx context.Context, claim protocol.JobOfferClaim) (Result, error) {
	s.calls.Add(1)
	if s.run == nil {
		return Result{JSON: json.RawMessage(`{"stub":"` + s.name + `"}`)}, nil
	}
	return s.run(ctx, claim)
}

// countdownCtx reports cancellation from the (allow+1)-th Err call on, so a
// test can prove work checks ctx between steps without racing a timer.
type countdownCtx struct {
	context.Context
	left atomic.Int32
	once sync.Once
	done chan struct{}
}

func newCountdownCtx(allow int32) *countdownCtx {
	c := &countdownCtx{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(allow)
	return c
}

func (c *countdownCtx) Done() <-chan struct{} { return c.done }

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) >= 0 {
		return nil
	}
	c.once.Do(func() { close(c.done) })
	return context.Canceled
}
