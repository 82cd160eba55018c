// Command idlebench measures what a connected, idle headless worker costs:
// CPU time and peak RSS of the child process over N seconds against a studio
// double on loopback (Linux only: it reads /proc).
//
//	go run ./scripts/idlebench -bin bin/studio-worker-headless -seconds 60
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

func main() {
	bin := flag.String("bin", "", "headless studio-worker binary to measure (required)")
	seconds := flag.Int("seconds", 60, "how long to measure the idle worker")
	cpuTarget := flag.Float64("cpu-target", 0.1, "CPU seconds allowed over the whole window")
	rssTarget := flag.Float64("rss-target", 20, "peak RSS allowed, MiB")
	flag.Parse()
	if *bin == "" || *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "usage: idlebench -bin PATH [-seconds N]")
		os.Exit(2)
	}
	ok, err := run(*bin, time.Duration(*seconds)*time.Second, *cpuTarget, *rssTarget)
	if err != nil {
		fmt.Fprintf(os.Stderr, "idlebench: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// lockedBuffer keeps the child's stderr for an error report.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func run(bin string, window time.Duration, cpuTarget, rssTargetMiB float64) (bool, error) {
	studio := studiotest.New(studiotest.Options{})
	url, err := studio.Start("127.0.0.1:0")
	if err != nil {
		return false, err
	}
	defer studio.Close()
	const workerID, token = "w-idlebench", "idlebench-token-not-a-secret-0123456789"
	studio.AddWorker(workerID, token)

	dir, err := os.MkdirTemp("", "idlebench-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.toml")
	store, err := config.Open(path, config.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false, err
	}
	if _, err := store.Update(func(s *config.Settings) error {
		s.APIBaseURL, s.WorkerID, s.AuthToken = url, workerID, config.Secret(token)
		s.AutoUpdateEnabled = false
		return nil
	}); err != nil {
		return false, err
	}

	stderr := &lockedBuffer{}
	cmd := exec.Command(bin, "--config", path, "run")
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reaped := false
	defer func() {
		if !reaped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		// Stop waiting for the welcome if the child dies first.
		defer watch.Done()
		select {
		case err := <-exited:
			exited <- err
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err = studio.WaitFrame(ctx, func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.ToWorker && r.Type == protocol.TypeWelcome
	})
	cancel()
	watch.Wait()
	if err != nil {
		return false, fmt.Errorf("worker never got a welcomed session (%v); its stderr:\n%s", err, stderr.tail(4000))
	}

	hz := clockTicks()
	pid := cmd.Process.Pid
	start, err := cpuTicks(pid)
	if err != nil {
		return false, err
	}
	began := time.Now()
	select {
	case err := <-exited:
		reaped = true
		return false, fmt.Errorf("worker exited while idle: %v; its stderr:\n%s", err, stderr.tail(4000))
	case <-time.After(window):
	}
	elapsed := time.Since(began)
	end, err := cpuTicks(pid)
	if err != nil {
		return false, err
	}
	hwm, err := peakRSSKiB(pid)
	if err != nil {
		return false, err
	}
	heartbeats := 0
	for _, r := range studio.Frames() {
		if r.Dir == studiotest.FromWorker && r.Type == protocol.TypeHeartbeat && r.At.After(began) {
			heartbeats++
		}
	}

	stopAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return false, err
	}
	var exitErr error
	select {
	case exitErr = <-exited:
		reaped = true
	case <-time.After(30 * time.Second):
		return false, errors.New("worker did not exit within 30 s of SIGTERM")
	}
	stopTook := time.Since(stopAt)

	cpu := float64(end-start) / hz
	rss := float64(hwm) / 1024
	fmt.Printf("idle %s: cpu %.2f s (target < %g s), peak RSS %.1f MiB (target < %g MiB)\n",
		elapsed.Round(time.Second), cpu, cpuTarget, rss, rssTargetMiB)
	fmt.Printf("  %d heartbeats in the window; SIGTERM → exit in %s (%s)\n", heartbeats, stopTook.Round(time.Millisecond), exitStatus(exitErr))

	ok := true
	if cpu >= cpuTarget {
		fmt.Println("  FAIL: CPU over target")
		ok = false
	}
	if rss >= rssTargetMiB {
		fmt.Println("  FAIL: peak RSS over target")
		ok = false
	}
	if exitErr != nil {
		fmt.Printf("  FAIL: worker did not exit 0 after SIGTERM; its stderr:\n%s\n", stderr.tail(2000))
		ok = false
	}
	return ok, nil
}

func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}

// cpuTicks is utime + stime of pid, in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	// The command name (field 2) may contain spaces; fields restart after
	// its closing parenthesis with field 3 (state).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("read cpu time: unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("read cpu time: short /proc stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return utime + stime, nil
}

// peakRSSKiB is VmHWM of pid.
func peakRSSKiB(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read peak RSS: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read peak RSS: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("read peak RSS: no VmHWM line")
}
