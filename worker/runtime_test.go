package worker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/registration"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// The Run tests are not parallel: worker.New installs its logger as the
// process-wide slog default.

func TestRunRegistersConnectsAndFollowsSettings(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{AutoApprove: true, WorkerID: "w-e2e"})
	r := startRuntime(t, url, nil)
	waitWelcomed(t, st)

	s := readConfig(t, r.path)
	if s.WorkerID != "w-e2e" || s.RegistrationRequestID != "" || s.RegistrationSecret != "" {
		t.Fatalf("after approval: worker %q, request %q, secret set %t", s.WorkerID, s.RegistrationRequestID, s.RegistrationSecret != "")
	}
	if tok, _ := st.WorkerToken("w-e2e"); s.AuthToken.Reveal() != tok {
		t.Fatal("persisted auth token is not the one the studio issued")
	}

	// A job offered on the session completes.
	if err := st.Offer(studiotest.SyntheticClaim("job-1", protocol.KindLLM, "hello there")); err != nil {
		t.Fatal(err)
	}
	job, err := st.WaitJob(waitCtx(t, 10*time.Second), "job-1", studiotest.StatusCompleted, studiotest.StatusFailed, studiotest.StatusRejected)
	if err != nil || job.Status != studiotest.StatusCompleted || job.Prompt != "hello there" {
		t.Fatalf("job-1: %+v, %v; want completed with the full prompt", job, err)
	}

	// The state file says connected, with this process's pid.
	rs, alive, err := worker.ReadState(r.path)
	if err != nil || !alive || rs.Session != "connected" || rs.PID != os.Getpid() {
		t.Fatalf("ReadState = %+v, alive %t, %v; want connected, pid %d", rs, alive, err, os.Getpid())
	}

	// Another Store on the same file (the CLI) pauses the worker: within 2 s
	// heartbeats say autoEnabled:false and offers are rejected paused.
	writeConfig(t, r.path, func(s *config.Settings) { s.Enabled = false })
	if _, err := waitHeartbeat(waitCtx(t, 2*time.Second), st, func(hb *protocol.Heartbeat) bool { return !hb.Capabilities.AutoEnabled }); err != nil {
		t.Fatalf("no autoEnabled:false heartbeat within 2 s: %v", err)
	}
	if err := st.Offer(studiotest.SyntheticClaim("job-2", protocol.KindLLM, "paused?")); err != nil {
		t.Fatal(err)
	}
	job, err = st.WaitJob(waitCtx(t, 2*time.Second), "job-2", studiotest.StatusRejected, studiotest.StatusAccepted, studiotest.StatusCompleted)
	if err != nil || job.Status != studiotest.StatusRejected || job.RejectCode != string(protocol.RejectPaused) {
		t.Fatalf("job-2 while disabled: %+v, %v; want rejected paused", job, err)
	}

	// The threshold reaches a later heartbeat the same way.
	writeConfig(t, r.path, func(s *config.Settings) { s.VRAMThresholdGb = 5.5 })
	if _, err := waitHeartbeat(waitCtx(t, 2*time.Second), st, func(hb *protocol.Heartbeat) bool { return hb.Capabilities.VRAMThresholdGb == 5.5 }); err != nil {
		t.Fatalf("no heartbeat with vramThresholdGb 5.5 within 2 s: %v", err)
	}
	// And re-enabling takes offers again.
	writeConfig(t, r.path, func(s *config.Settings) { s.Enabled = true })
	if _, err := waitHeartbeat(waitCtx(t, 2*time.Second), st, func(hb *protocol.Heartbeat) bool { return hb.Capabilities.AutoEnabled }); err != nil {
		t.Fatalf("no autoEnabled:true heartbeat within 2 s: %v", err)
	}
	if n := st.Sessions(); n != 1 {
		t.Fatalf("%d sessions; settings changes must not reconnect", n)
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if _, err := st.WaitFrame(waitCtx(t, 5*time.Second), func(rec studiotest.Recorded) bool {
		return rec.Dir == studiotest.FromWorker && rec.Type == studiotest.TypeClose && rec.CloseCode == 1000
	}); err != nil {
		t.Errorf("no close 1000 from the worker: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(r.path), worker.StateFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file still there after Run returned (stat err %v)", err)
	}
	if _, alive, err := worker.ReadState(r.path); alive || err != nil {
		t.Errorf("ReadState after stop: alive %t, %v", alive, err)
	}
}

func TestRunStopsCleanlyBeforeApproval(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{})
	r := startRuntime(t, url, nil)
	ctx := waitCtx(t, 10*time.Second)
	if err := st.WaitPolls(ctx, 2); err != nil {
		t.Fatal(err)
	}
	rs, alive, err := worker.ReadState(r.path)
	if err != nil || !alive || rs.Session != "waiting_for_approval" {
		t.Errorf("ReadState while pending = %+v, alive %t, %v; want waiting_for_approval", rs, alive, err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil for a stop before approval", err)
	}
	if st.Sessions() != 0 {
		t.Error("a session was opened without approval")
	}
	if s := readConfig(t, r.path); s.RegistrationRequestID == "" || s.InstallID == "" {
		t.Errorf("pending request not kept for the next start: %+v", s.RegistrationRequestID)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(r.path), worker.StateFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left behind (stat err %v)", err)
	}
}

func TestRunRejectedRegistration(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{})
	r := startRuntime(t, url, nil)
	ctx := waitCtx(t, 10*time.Second)
	if err := st.WaitPolls(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.Reject(st.RegisterRequests()[0].RequestID, "unknown machine"); err != nil {
		t.Fatal(err)
	}
	err := r.wait(t)
	var re *registration.RejectedError
	if !errors.As(err, &re) || re.Reason != "unknown machine" {
		t.Fatalf("Run = %v, want *registration.RejectedError", err)
	}
	if !strings.Contains(r.stderr.String(), "register --reset") {
		t.Error("the rejection and its --reset hint were not logged")
	}
	if st.Sessions() != 0 {
		t.Error("a rejected worker opened a session")
	}
}

// TestCapabilitySummaryOncePerSession: one summary line per session (a
// dropped connection makes a second session, heartbeats add none) and a
// warning when the threshold exceeds detected VRAM (8 GB host, 12 GB set).
func TestCapabilitySummaryOncePerSession(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{})
	st.AddWorker("w-caps", "tok-caps")
	r := startRuntime(t, url, func(s *config.Settings) {
		s.WorkerID, s.AuthToken, s.VRAMThresholdGb = "w-caps", "tok-caps", 12
	})
	waitWelcomed(t, st)
	hb, err := waitHeartbeat(waitCtx(t, 10*time.Second), st, func(*protocol.Heartbeat) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if hb.Capabilities.VRAMTotalGb != 8 || hb.Capabilities.VRAMThresholdGb != 12 {
		t.Errorf("heartbeat vram %g/%g, want 8/12", hb.Capabilities.VRAMTotalGb, hb.Capabilities.VRAMThresholdGb)
	}
	if err := st.DropConnection(); err != nil {
		t.Fatal(err)
	}
	// Three heartbeats on the second session: none may log the summary again.
	n := 0
	if _, err := st.WaitFrame(waitCtx(t, 10*time.Second), func(rec studiotest.Recorded) bool {
		if rec.Session == 2 && rec.Type == protocol.TypeHeartbeat && rec.Dir == studiotest.FromWorker {
			n++
		}
		return n >= 3
	}); err != nil {
		t.Fatalf("second session: %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := r.stderr.String()
	if got := countLines(out, "advertising engine=multi"); got != 2 {
		t.Errorf("%d capability summary lines over 2 sessions, want 2:\n%s", got, out)
	}
	if got := countLines(out, "vram_threshold_gb 12 is above the 8 GB"); got != 2 {
		t.Errorf("%d threshold warnings over 2 sessions, want 2", got)
	}
}

func TestFirstRunClampsThresholdToDetectedVRAM(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vram, want float64
	}{
		{8, 8},
		{24, 12}, // never raised above the default
		{0, 12},  // unknown VRAM keeps the default
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "sub", "config.toml")
		rt, err := worker.New(worker.Options{ConfigPath: path, Stderr: &syncBuffer{}, Host: &worker.Host{VRAMTotalGb: tc.vram}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rt.Store.Settings().VRAMThresholdGb; got != tc.want {
			t.Errorf("VRAM %g: new config threshold %g, want %g", tc.vram, got, tc.want)
		}
		if got := readConfig(t, path).VRAMThresholdGb; got != tc.want {
			t.Errorf("VRAM %g: file threshold %g, want %g", tc.vram, got, tc.want)
		}
		// An existing file is never clamped again.
		writeConfig(t, path, func(s *config.Settings) { s.VRAMThresholdGb = 20 })
		rt, err = worker.New(worker.Options{ConfigPath: path, Stderr: &syncBuffer{}, Host: &worker.Host{VRAMTotalGb: tc.vram}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rt.Store.Settings().VRAMThresholdGb; got != 20 {
			t.Errorf("VRAM %g: existing threshold changed to %g", tc.vram, got)
		}
	}
}

func TestNewRefusesAFileThatDoesNotParse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	bad := []byte("api_base_url = \"http://x/\"\nenabled = = true\n")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := worker.New(worker.Options{ConfigPath: path, Stderr: &syncBuffer{}, Host: testHost()})
	var pe *config.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(err.Error(), path) {
		t.Fatalf("New = %v, want a ParseError naming %s line 2", err, path)
	}
	if got := readFile(t, path); string(got) != string(bad) {
		t.Error("a file that does not parse was modified")
	}
}

func TestRuntimeSetEnabledAppliesAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	rt, err := worker.New(worker.Options{ConfigPath: path, Stderr: &syncBuffer{}, Host: testHost()})
	if err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		if err := rt.SetEnabled(on); err != nil {
			t.Fatal(err)
		}
		if rt.Observers.Enabled() != on || readConfig(t, path).Enabled != on || rt.Capabilities().AutoEnabled != on {
			t.Errorf("SetEnabled(%t): observers %t, file %t, caps %t", on, rt.Observers.Enabled(), readConfig(t, path).Enabled, rt.Capabilities().AutoEnabled)
		}
	}
}

// TestStayAfterStopResetRegistration is the window's way out of a rejection:
// Run stays up, ResetRegistration submits a fresh request, and approval of
// that one connects the worker without a restart.
func TestStayAfterStopResetRegistration(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{})
	path := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, path, func(s *config.Settings) { s.APIBaseURL = url })
	rt, err := worker.New(worker.Options{
		ConfigPath: path, Version: "1.2.3", Stderr: &syncBuffer{}, Host: testHost(),
		Session: fastSchedule(), RegistrationPoll: 10 * time.Millisecond, SettingsPoll: 20 * time.Millisecond,
		StayAfterStop: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wctx := waitCtx(t, 10*time.Second)
	if err := st.WaitPolls(wctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.Reject(st.RegisterRequests()[0].RequestID, "unknown machine"); err != nil {
		t.Fatal(err)
	}
	for rt.Observers.Registration().Phase != observers.RegistrationRejected {
		select {
		case <-rt.Observers.Changed():
		case <-wctx.Done():
			t.Fatal("registration never showed rejected")
		case err := <-done:
			t.Fatalf("Run returned %v; StayAfterStop should keep it up", err)
		}
	}
	if err := rt.ResetRegistration(); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitRegisterRequest(wctx, 2); err != nil {
		t.Fatal("no fresh registration request after the reset:", err)
	}
	reqs := st.RegisterRequests()
	second := reqs[len(reqs)-1]
	if second.InstallID == reqs[0].InstallID {
		t.Error("reset kept the install id")
	}
	if err := st.Approve(second.RequestID); err != nil {
		t.Fatal(err)
	}
	waitWelcomed(t, st)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after a clean stop = %v", err)
	}
	done <- nil
}
