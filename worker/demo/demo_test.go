package demo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/demo"
)

// lineBuffer records output and lets a test wait for a line without polling.
type lineBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wait blocks until the output contains sub or ctx ends.
func (l *lineBuffer) wait(ctx context.Context, sub string) error {
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), sub) {
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func jobLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "job ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// configDir is the demo's temp dir, from its first output line.
func configDir(t *testing.T, out string) string {
	t.Helper()
	_, after, ok := strings.Cut(out, "worker config in ")
	if !ok {
		t.Fatalf("no config path in %q", out)
	}
	path, _, _ := strings.Cut(after, "\n")
	return filepath.Dir(path)
}

func TestRunFinishesRequestedJobs(t *testing.T) {
	t.Parallel()
	var out, stderr lineBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := demo.Run(ctx, demo.Options{Out: &out, Stderr: &stderr, Version: "1.2.3", Jobs: 3, JobDelay: 10 * time.Millisecond, Pause: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only because the test's deadline passed")
	}
	lines := jobLines(out.String())
	if len(lines) != 3 {
		t.Fatalf("%d job lines, want 3:\n%s", len(lines), out.String())
	}
	kinds := []string{"image", "llm", "image"} // RunJobs counts from 1; odd seq → image
	for i, l := range lines {
		if !strings.HasPrefix(l, "job "+string(rune('1'+i))+" demo-") || !strings.Contains(l, " completed in ") || !strings.Contains(l, " "+kinds[i]+" ") {
			t.Errorf("line %d %q: want job %d, a %s job, completed", i, l, i+1, kinds[i])
		}
	}
	if !strings.Contains(stderr.String(), "registration approved") {
		t.Error("the worker did not go through registration")
	}
	if _, err := os.Stat(configDir(t, out.String())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir left behind (stat err %v)", err)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	var out, stderr lineBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{Out: &out, Stderr: &stderr, JobDelay: 10 * time.Millisecond, Pause: 10 * time.Millisecond})
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := out.wait(wctx, "job 1 "); err != nil {
		t.Fatalf("no job finished: %v", err)
	}
	dir := configDir(t, out.String())
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("temp dir missing while running: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-wctx.Done():
		t.Fatal("Run did not return after cancel")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed (stat err %v)", dir, err)
	}
}
