package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

const binVersion = "9.8.7-test"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// headlessBinary builds the headless binary once per test process, from the
// module root found through `go env GOMOD`.
func headlessBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		buildDir, buildErr = os.MkdirTemp("", "studio-worker-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "studio-worker")
		cmd := exec.Command("go", "build", "-tags", "headless", "-ldflags", "-X main.version="+binVersion, "-o", binPath, "./")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build headless binary: %v", buildErr)
	}
	return binPath
}

// syncBuffer collects a child's output while the test reads it; changed
// is closed at the next write after it was handed out.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// has reports whether the output contains sub, and otherwise returns a
// channel closed at the next write.
func (s *syncBuffer) has(sub string) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(s.b.String(), sub) {
		return true, nil
	}
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return false, s.changed
}

type child struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan error
	config         string // --config of a child started by runRegistered
}

func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	c.cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("child stderr:\n%s\nchild stdout:\n%s", c.stderr.String(), c.stdout.String())
		}
	})
	return c
}

// exit signals the child and returns its exit code.
func (c *child) exit(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		c.done <- err
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit after the signal")
		return -1
	}
}

// waitOutput waits until buf contains sub (the child writes as it goes).
func waitOutput(t *testing.T, c *child, buf *syncBuffer, sub string) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		ok, changed := buf.has(sub)
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%q never appeared", sub)
		case err := <-c.done:
			c.done <- err
			if ok, _ := buf.has(sub); !ok {
				t.Fatalf("child exited (%v) before %q appeared", err, sub)
			}
		case <-changed:
		}
	}
}

func bannerLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "studio-worker booting") {
			return l
		}
	}
	return ""
}

func TestBinaryRunStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin := headlessBinary(t)
	st := studiotest.New(studiotest.Options{})
	url, err := st.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.AddWorker("w-bin", tokenValue)
	path := newConfig(t, func(s *config.Settings) {
		s.APIBaseURL, s.WorkerID, s.AuthToken = url, "w-bin", tokenValue
		s.AutoUpdateEnabled, s.AutoUpdateIntervalSecs, s.VRAMThresholdGb = false, 3600, 6
	})

	c := startChild(t, bin, "--config", path, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := st.WaitFrame(ctx, func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.ToWorker && r.Type == protocol.TypeWelcome
	}); err != nil {
		t.Fatalf("no welcomed session: %v", err)
	}
	// The welcome is recorded before the child's stderr has necessarily
	// been copied through the pipe; the welcome log line follows the banner.
	waitOutput(t, c, c.stderr, "server welcomed")
	banner := bannerLine(c.stderr.String())
	for _, w := range []string{"version=" + binVersion, "config_path=" + path, "api_base_url=" + url, "vram_threshold_gb=6",
		"auto_update_enabled=false", "auto_update_interval_secs=3600", "worker_id=w-bin"} {
		if !strings.Contains(banner, w) {
			t.Errorf("banner %q lacks %q", banner, w)
		}
	}

	if code := c.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if _, err := st.WaitFrame(ctx, func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.FromWorker && r.Type == studiotest.TypeClose && r.CloseCode == 1000
	}); err != nil {
		t.Errorf("the double recorded no close 1000 from the worker: %v", err)
	}
	if strings.Contains(c.stderr.String(), tokenValue) {
		t.Error("the token appears on stderr")
	}
}

func TestBinaryRunStopsBeforeApprovalOnSIGINT(t *testing.T) {
	t.Parallel()
	bin := headlessBinary(t)
	st := studiotest.New(studiotest.Options{})
	url, err := st.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	path := newConfig(t, func(s *config.Settings) { s.APIBaseURL = url })

	// No subcommand: `run` is the default of a headless build.
	c := startChild(t, bin, "--config", path)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := st.WaitRegisterRequest(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, c, c.stderr, "registration requested")
	if banner := bannerLine(c.stderr.String()); !strings.Contains(banner, "worker_id=(unregistered)") {
		t.Errorf("banner %q does not say (unregistered)", banner)
	}
	if code := c.exit(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d after SIGINT before approval, want 0", code)
	}
	if !strings.Contains(c.stderr.String(), "stopped before registration completed") {
		t.Error("no clean-stop message")
	}
	if s := settingsAt(t, path); s.RegistrationRequestID == "" {
		t.Error("pending request id not persisted")
	}
}

func TestBinaryDemoFinishesJobs(t *testing.T) {
	t.Parallel()
	bin := headlessBinary(t)
	c := startChild(t, bin, "demo", "--headless", "--jobs", "2", "--job-delay", "100ms")
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo --jobs 2 did not finish")
	}
	lines := 0
	for _, l := range strings.Split(c.stdout.String(), "\n") {
		if strings.HasPrefix(l, "job ") && strings.Contains(l, "completed") {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("%d completed job lines, want 2:\n%s", lines, c.stdout.String())
	}
}

// TestBinaryDemoSIGINTDrainsTheRunningJob: SIGINT while a 1 s job runs still
// delivers that job and exits 0.
func TestBinaryDemoSIGINTDrainsTheRunningJob(t *testing.T) {
	t.Parallel()
	bin := headlessBinary(t)
	c := startChild(t, bin, "demo", "--headless", "--job-delay", "1s")
	waitOutput(t, c, c.stderr, "offer received")
	if code := c.exit(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	if !strings.Contains(c.stdout.String(), "job 1 ") || !strings.Contains(c.stdout.String(), "completed") {
		t.Errorf("the running job was not finished before exit:\n%s", c.stdout.String())
	}
}

// buildVersion builds the headless binary stamped with version into dir.
func buildVersion(t *testing.T, version, out string) {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-tags", "headless", "-ldflags", "-X main.version="+version, "-o", out, "./")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", version, err, b)
	}
}

// TestBinaryRestartsWhenReplaced is what a package manager or `update` does
// to a running worker: the executable is replaced on disk. The worker must
// notice, close its session with 1000 and come back as the new version in
// the same process, without anyone restarting it.
func TestBinaryRestartsWhenReplaced(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "studio-worker")
	buildVersion(t, "1.0.0", exe)
	next := filepath.Join(dir, ".next")
	buildVersion(t, "1.0.1", next)

	st, c := runRegistered(t, exe, func(s *config.Settings) {
		s.AutoUpdateEnabled = false // only the executable watcher acts here
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := os.Rename(next, exe); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WaitFrame(ctx, helloFrom("1.0.1")); err != nil {
		t.Fatalf("the replaced binary never came back as 1.0.1: %v", err)
	}
	if _, err := st.WaitFrame(ctx, func(r studiotest.Recorded) bool {
		return r.Session == 1 && r.Dir == studiotest.FromWorker && r.Type == studiotest.TypeClose && r.CloseCode == 1000
	}); err != nil {
		t.Errorf("the first session was not closed with 1000 before the restart: %v", err)
	}
	c.stillRunning(t) // in place: the process we started now runs 1.0.1
	if code := c.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// releaseFeed serves a self-hosted go-selfupdate feed with one release: the
// headless archive of bin for this platform, checksums.txt and the manifest.
func releaseFeed(t *testing.T, tag string, bin []byte) string {
	t.Helper()
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "studio-worker", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		t.Fatal(err)
	}
	archive := fmt.Sprintf("studio-worker-headless_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
	sum := sha256.Sum256(tgz.Bytes())
	files := map[string][]byte{
		archive:         tgz.Bytes(),
		"checksums.txt": []byte(hex.EncodeToString(sum[:]) + "  " + archive + "\n"),
	}
	manifest := fmt.Sprintf("releases:\n  - id: 1\n    tag_name: %q\n    draft: false\n    prerelease: false\n    assets:\n"+
		"      - id: 10\n        name: %q\n        size: %d\n        url: %q\n"+
		"      - id: 11\n        name: \"checksums.txt\"\n        size: %d\n        url: \"checksums.txt\"\n",
		tag, archive, len(files[archive]), archive, len(files["checksums.txt"]))
	files["manifest.yaml"] = []byte(manifest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/acme/studio-worker/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/acme/studio-worker"
}

// TestBinaryRestartsAfterUpdate: `studio-worker update` installs through
// go-selfupdate, which moves the running file aside and deletes it. The
// running worker must still find its executable and come back, in the same
// process, as the installed version.
func TestBinaryRestartsAfterUpdate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "studio-worker")
	buildVersion(t, "1.0.0", exe)
	next := filepath.Join(t.TempDir(), "next")
	buildVersion(t, "1.0.1", next)
	nextBytes, err := os.ReadFile(next)
	if err != nil {
		t.Fatal(err)
	}
	feedURL := releaseFeed(t, "v1.0.1", nextBytes)

	st, c := runRegistered(t, exe, func(s *config.Settings) { s.AutoUpdateFeed = feedURL })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	out, err := exec.Command(exe, "--config", c.config, "update").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1.0.0 -> 1.0.1") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if _, err := st.WaitFrame(ctx, helloFrom("1.0.1")); err != nil {
		t.Fatalf("the running worker never came back as 1.0.1 after update: %v", err)
	}
	c.stillRunning(t)
	if code := c.exit(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// runRegistered starts `run` of exe as the registered worker w-up of a new
// studio double and waits for its 1.0.0 hello; edit adjusts the config.
func runRegistered(t *testing.T, exe string, edit func(*config.Settings)) (*studiotest.Studio, *child) {
	t.Helper()
	st := studiotest.New(studiotest.Options{})
	url, err := st.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.AddWorker("w-up", tokenValue)
	path := newConfig(t, func(s *config.Settings) {
		s.APIBaseURL, s.WorkerID, s.AuthToken = url, "w-up", tokenValue
		edit(s)
	})
	c := startChild(t, exe, "--config", path, "run")
	c.config = path
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.WaitFrame(ctx, helloFrom("1.0.0")); err != nil {
		t.Fatalf("no hello from 1.0.0: %v", err)
	}
	return st, c
}

// helloFrom matches the hello of a worker of the given version.
func helloFrom(version string) func(studiotest.Recorded) bool {
	return func(r studiotest.Recorded) bool {
		h, ok := r.Frame.(*protocol.Hello)
		return ok && h.Capabilities.AgentVersion == version
	}
}

// stillRunning fails the test if the child has exited.
func (c *child) stillRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		t.Fatalf("the worker process exited (%v) instead of restarting in place", err)
	default:
	}
}
