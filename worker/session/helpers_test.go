package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/logs"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/session"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

const (
	testWorkerID = "w-test"
	testToken    = "tok-0123456789-secret"
	// waitFor bounds every wait on the studio, the observers or Run: only a
	// broken worker takes this long.
	waitFor = 10 * time.Second
)

// testSchedule is the real session loop on millisecond timing. The read-idle
// timeout is generous so a loaded CI machine never trips it by accident;
// tests of the idle detection shorten it.
func testSchedule() session.Schedule {
	return session.Schedule{
		HeartbeatInterval: 20 * time.Millisecond,
		LogFlushInterval:  10 * time.Millisecond,
		ReadIdleTimeout:   5 * time.Second,
		ConnectTimeout:    5 * time.Second,
		WriteTimeout:      5 * time.Second,
		CloseTimeout:      300 * time.Millisecond,
		BackoffBase:       5 * time.Millisecond,
		BackoffMax:        40 * time.Millisecond,
		BackoffJitter:     0,
		CredentialsPoll:   5 * time.Millisecond,
		UploadRetries:     2,
		UploadRetryPause:  5 * time.Millisecond,
		UploadTimeout:     5 * time.Second,
		JobDrain:          200 * time.Millisecond,
	}
}

// harness is one studio double and one worker session running against it.
type harness struct {
	t      testing.TB
	studio *studiotest.Studio
	url    string
	obs    *observers.Set
	queue  *logs.ShipQueue
	rec    *logRecorder
	gate   *gatedBackend
	multi  *engine.Multi

	threshold atomic.Uint64 // float64 bits, read by the Capabilities func
	approved  atomic.Bool   // read by the Credentials func

	cfg    session.Config
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, valid once done is closed
}

// newHarness starts a studio that knows the test worker and builds the
// worker's Config; adjust it with the mutators, then call start.
func newHarness(t testing.TB, mutate ...func(*harness)) *harness {
	t.Helper()
	var logf func(string, ...any)
	if _, bench := t.(*testing.B); !bench {
		logf = t.Logf // benchmarks keep the double quiet
	}
	st := studiotest.New(studiotest.Options{Logf: logf})
	url, err := st.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.AddWorker(testWorkerID, testToken)

	h := &harness{
		t:      t,
		studio: st,
		url:    url,
		obs:    observers.New(),
		queue:  logs.NewShipQueue(0),
		gate:   newGatedBackend(),
	}
	h.rec = &logRecorder{t: t, obs: h.obs}
	h.multi = engine.NewMulti(engine.NewSynthetic(), h.gate, panicBackend{}, failingBackend{})
	h.threshold.Store(math.Float64bits(4))
	h.approved.Store(true)
	// Like production, the worker's own log lines also feed the ring and the
	// ship queue, so log batches flow in every test.
	logger := slog.New(fanout{h.rec, logs.NewHandler(nil, h.obs, h.queue)})
	h.cfg = session.Config{
		BaseURL: func() string { return url },
		Credentials: func() (session.Credentials, bool) {
			return session.Credentials{WorkerID: testWorkerID, AuthToken: testToken}, h.approved.Load()
		},
		Capabilities: h.capabilities,
		Engine:       h.multi,
		Observers:    h.obs,
		Logs:         h.queue,
		Logger:       logger,
		Schedule:     testSchedule(),
	}
	for _, m := range mutate {
		m(h)
	}
	return h
}

func (h *harness) capabilities() protocol.Capabilities {
	return protocol.Capabilities{
		MachineName:            "test-box",
		AgentVersion:           "0.0.0-test",
		Engine:                 "synthetic",
		VRAMTotalGb:            16,
		VRAMThresholdGb:        math.Float64frombits(h.threshold.Load()),
		SupportedModels:        h.multi.SupportedModels(),
		TaskKinds:              h.multi.TaskKinds(),
		SupportedModelsPerKind: h.multi.ModelsPerKind(),
	}
}

// start runs session.Run in a goroutine the test owns: cleanup cancels it
// and waits for it.
func (h *harness) start() *harness {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan struct{})
	cfg := h.cfg
	go func() {
		defer close(h.done)
		h.err = session.Run(ctx, cfg)
	}()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(waitFor):
			h.t.Errorf("session.Run did not return within %s of being cancelled", waitFor)
		}
	})
	return h
}

// wait returns Run's result; Run must end by itself within waitFor.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case <-h.done:
		return h.err
	case <-time.After(waitFor):
		h.t.Fatalf("session.Run did not return within %s", waitFor)
		return nil
	}
}

// stop cancels Run and returns its result.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	return h.wait()
}

// running fails the test if Run has returned.
func (h *harness) running() {
	h.t.Helper()
	select {
	case <-h.done:
		h.t.Fatalf("session.Run returned %v; it should still be running", h.err)
	default:
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	h.t.Cleanup(cancel)
	return ctx
}

// waitFrame waits for a recorded frame matching m.
func (h *harness) waitFrame(what string, m func(studiotest.Recorded) bool) studiotest.Recorded {
	h.t.Helper()
	r, err := h.studio.WaitFrame(h.ctx(), m)
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
	return r
}

// waitConnected waits until session n is welcomed and the worker knows it:
// the worker sends its first heartbeat only after handling welcome.
func (h *harness) waitConnected(n int) {
	h.t.Helper()
	h.waitFrame(fmt.Sprintf("first heartbeat of session %d", n), fromWorker(n, protocol.TypeHeartbeat))
}

func (h *harness) waitJob(jobID string, statuses ...string) studiotest.JobState {
	h.t.Helper()
	st, err := h.studio.WaitJob(h.ctx(), jobID, statuses...)
	if err != nil {
		got, _ := h.studio.Job(jobID)
		h.t.Fatalf("waiting for job %s to be %v: %v (state %+v)", jobID, statuses, err, got)
	}
	return st
}

func (h *harness) offer(c protocol.JobOfferClaim) {
	h.t.Helper()
	if err := h.studio.Offer(c); err != nil {
		h.t.Fatalf("offer %s: %v", c.JobID, err)
	}
}

// roundTrip runs a quick llm job to completion. Frames on one connection
// arrive in order, so once it completes everything the worker sent on that
// session before it has been recorded.
func (h *harness) roundTrip(jobID string) {
	h.t.Helper()
	h.offer(claim(jobID, protocol.KindLLM, "barrier", protocol.EngineSynthetic))
	h.waitJob(jobID, studiotest.StatusCompleted)
}

// waitObs waits until cond holds on the observers.
func (h *harness) waitObs(what string, cond func() bool) {
	h.t.Helper()
	ctx := h.ctx()
	for {
		ch := h.obs.Changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			h.t.Fatalf("waiting for %s: %v (session %+v)", what, ctx.Err(), h.obs.Session())
		}
	}
}

func (h *harness) recentJob(jobID string) (observers.RecentJob, bool) {
	for _, j := range h.obs.RecentJobs() {
		if j.JobID == jobID {
			return j, true
		}
	}
	return observers.RecentJob{}, false
}

func (h *harness) waitRecentJob(jobID string) observers.RecentJob {
	h.t.Helper()
	var got observers.RecentJob
	h.waitObs("recent job "+jobID, func() bool {
		var ok bool
		got, ok = h.recentJob(jobID)
		return ok
	})
	return got
}

// framesOf returns the recorded frames of one session and direction.
func (h *harness) framesOf(sess int, dir studiotest.Direction) []studiotest.Recorded {
	var out []studiotest.Recorded
	for _, r := range h.studio.Frames() {
		if r.Session == sess && r.Dir == dir {
			out = append(out, r)
		}
	}
	return out
}

func fromWorker(sess int, typ string) func(studiotest.Recorded) bool {
	return func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.FromWorker && r.Type == typ && (sess == 0 || r.Session == sess)
	}
}

// jobFrame matches a worker frame of type typ about jobID.
func jobFrame(typ, jobID string) func(studiotest.Recorded) bool {
	return func(r studiotest.Recorded) bool {
		if r.Dir != studiotest.FromWorker || r.Type != typ {
			return false
		}
		return frameJobID(r) == jobID
	}
}

func frameJobID(r studiotest.Recorded) string {
	switch f := r.Frame.(type) {
	case *protocol.Accept:
		return f.JobID
	case *protocol.Reject:
		return f.JobID
	case *protocol.CompleteJSON:
		return f.JobID
	case *protocol.Fail:
		return f.JobID
	}
	return ""
}

// claim is a valid synthetic-style claim routed to engineName.
func claim(jobID string, kind protocol.TaskKind, prompt, engineName string) protocol.JobOfferClaim {
	c := studiotest.SyntheticClaim(jobID, kind, prompt)
	c.ModelSource.Engine = engineName
	return c
}

func rawJSON(t testing.TB, r studiotest.Recorded) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Raw, &m); err != nil {
		t.Fatalf("frame %s is not a JSON object: %v", r.Type, err)
	}
	return m
}

// ---- engines ----

// gatedBackend ("gated") runs a job only once the test opens its gate, so a
// test decides exactly how long a job is in flight. It honours cancellation,
// like every real engine should, and then delegates to the synthetic engine.
type gatedBackend struct {
	synth   *engine.Synthetic
	started chan string // job ids, as their Run begins
	open    chan struct{}
	once    sync.Once
}

func newGatedBackend() *gatedBackend {
	return &gatedBackend{synth: engine.NewSynthetic(), started: make(chan string, 16), open: make(chan struct{})}
}

func (g *gatedBackend) Name() string { return "gated" }

func (g *gatedBackend) Models() map[protocol.TaskKind][]string {
	m := make(map[protocol.TaskKind][]string)
	for _, k := range protocol.AllKinds {
		m[k] = []string{"gated-" + string(k)}
	}
	return m
}

func (g *gatedBackend) Run(ctx context.Context, c protocol.JobOfferClaim) (engine.Result, error) {
	g.started <- c.JobID
	select {
	case <-g.open:
	case <-ctx.Done():
		return engine.Result{}, fmt.Errorf("gated %s: %w", c.JobID, ctx.Err())
	}
	return g.synth.Run(ctx, c)
}

// release lets every gated job (current and future) run.
func (g *gatedBackend) release() { g.once.Do(func() { close(g.open) }) }

// waitStarted waits until the engine runs jobID.
func (g *gatedBackend) waitStarted(t testing.TB, jobID string) {
	t.Helper()
	select {
	case id := <-g.started:
		if id != jobID {
			t.Fatalf("gated engine started %s, want %s", id, jobID)
		}
	case <-time.After(waitFor):
		t.Fatalf("gated engine never started %s", jobID)
	}
}

// panicBackend ("panicky") panics in Run.
type panicBackend struct{}

func (panicBackend) Name() string { return "panicky" }
func (panicBackend) Models() map[protocol.TaskKind][]string {
	return map[protocol.TaskKind][]string{protocol.KindLLM: {"panicky-llm"}}
}
func (panicBackend) Run(context.Context, protocol.JobOfferClaim) (engine.Result, error) {
	panic("backend blew up")
}

// failingBackend ("failing") returns a plain, retryable error.
type failingBackend struct{}

var errBackend = errors.New("backend out of memory")

func (failingBackend) Name() string { return "failing" }
func (failingBackend) Models() map[protocol.TaskKind][]string {
	return map[protocol.TaskKind][]string{protocol.KindLLM: {"failing-llm"}}
}
func (failingBackend) Run(context.Context, protocol.JobOfferClaim) (engine.Result, error) {
	return engine.Result{}, fmt.Errorf("failing engine: %w", errBackend)
}

// ---- logs ----

// logLine is one record the worker logged, with the observers' session
// state at that instant (the record is handled synchronously by the
// goroutine that changed the state just before logging).
type logLine struct {
	Level   slog.Level
	Text    string // message plus " key=value" attributes
	Session observers.SessionState
}

// logRecorder is an slog.Handler keeping every record for assertions and
// echoing it to t.Log.
type logRecorder struct {
	t   testing.TB
	obs *observers.Set

	mu      sync.Mutex
	lines   []logLine
	changed chan struct{}
}

func (r *logRecorder) add(l logLine) {
	r.mu.Lock()
	r.lines = append(r.lines, l)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.mu.Unlock()
}

// find returns the first line containing substr.
func (r *logRecorder) find(substr string) (logLine, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l.Text, substr) {
			return l, true
		}
	}
	return logLine{}, false
}

func (r *logRecorder) all() []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// wait waits for a line containing substr.
func (r *logRecorder) wait(substr string) logLine {
	r.t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		if l, ok := r.find(substr); ok {
			return l
		}
		select {
		case <-ch:
		case <-deadline.C:
			r.t.Fatalf("no log line containing %q", substr)
		}
	}
}

type recHandler struct {
	r     *logRecorder
	attrs string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(ctx context.Context, rec slog.Record) error {
	return recHandler{r: r}.Handle(ctx, rec)
}
func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return recHandler{r: r}.WithAttrs(as)
}
func (r *logRecorder) WithGroup(string) slog.Handler { return recHandler{r: r} }

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	b.WriteString(h.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	text := b.String()
	h.r.add(logLine{Level: rec.Level, Text: text, Session: h.r.obs.Session()})
	h.r.t.Logf("worker %s: %s", rec.Level, text)
	return nil
}
func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b bytes.Buffer
	b.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return recHandler{r: h.r, attrs: b.String()}
}
func (h recHandler) WithGroup(string) slog.Handler { return h }

// fanout sends every record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
