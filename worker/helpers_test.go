package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/session"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fastSchedule runs the real session loop on millisecond timings.
func fastSchedule() session.Schedule {
	return session.Schedule{
		HeartbeatInterval: 20 * time.Millisecond,
		LogFlushInterval:  20 * time.Millisecond,
		ReadIdleTimeout:   10 * time.Second,
		ConnectTimeout:    5 * time.Second,
		WriteTimeout:      5 * time.Second,
		CloseTimeout:      300 * time.Millisecond,
		BackoffBase:       10 * time.Millisecond,
		BackoffMax:        50 * time.Millisecond,
		CredentialsPoll:   10 * time.Millisecond,
		UploadRetries:     2,
		UploadRetryPause:  10 * time.Millisecond,
		UploadTimeout:     5 * time.Second,
		JobDrain:          2 * time.Second,
	}
}

func noEnv(string) (string, bool) { return "", false }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// writeConfig creates (or edits) the settings file at path through its own
// Store, the way another process would.
func writeConfig(t *testing.T, path string, fn func(*config.Settings)) {
	t.Helper()
	st, err := config.Open(path, config.Options{Logger: quiet(), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(func(s *config.Settings) error { fn(s); return nil }); err != nil {
		t.Fatal(err)
	}
}

func readConfig(t *testing.T, path string) config.Settings {
	t.Helper()
	st, err := config.Open(path, config.Options{Logger: quiet(), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	return st.Settings()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startStudio(t *testing.T, opts studiotest.Options) (*studiotest.Studio, string) {
	t.Helper()
	st := studiotest.New(opts)
	url, err := st.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, url
}

func testHost() *worker.Host {
	return &worker.Host{MachineName: "test-box", Username: "tester", VRAMTotalGb: 8}
}

// running is a Runtime whose Run executes in a goroutine owned by the test.
type running struct {
	rt     *worker.Runtime
	path   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRuntime runs a worker on a config in a temp dir pointed at url.
// edit (optional) adjusts the config before the worker starts.
func startRuntime(t *testing.T, url string, edit func(*config.Settings)) *running {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, func(s *config.Settings) {
		s.APIBaseURL = url
		s.AutoUpdateEnabled = false
		if edit != nil {
			edit(s)
		}
	})
	return runAt(t, path)
}

// runAt runs a worker on the existing config at path.
func runAt(t *testing.T, path string) *running {
	t.Helper()
	r := &running{path: path, stderr: &syncBuffer{}, done: make(chan error, 1)}
	rt, err := worker.New(worker.Options{
		ConfigPath:       path,
		Version:          "1.2.3",
		Stderr:           r.stderr,
		Host:             testHost(),
		Session:          fastSchedule(),
		RegistrationPoll: 10 * time.Millisecond,
		SettingsPoll:     20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// stop cancels Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitWelcomed waits for the studio to welcome a session.
func waitWelcomed(t *testing.T, st *studiotest.Studio) {
	t.Helper()
	if _, err := st.WaitFrame(waitCtx(t, 10*time.Second), func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.ToWorker && r.Type == protocol.TypeWelcome
	}); err != nil {
		t.Fatalf("no welcomed session: %v", err)
	}
}

// waitHeartbeat waits for a worker heartbeat matching ok.
func waitHeartbeat(ctx context.Context, st *studiotest.Studio, ok func(*protocol.Heartbeat) bool) (*protocol.Heartbeat, error) {
	r, err := st.WaitFrame(ctx, func(r studiotest.Recorded) bool {
		hb, is := r.Frame.(*protocol.Heartbeat)
		return r.Dir == studiotest.FromWorker && is && ok(hb)
	})
	if err != nil {
		return nil, err
	}
	return r.Frame.(*protocol.Heartbeat), nil
}

func countLines(s, substr string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
