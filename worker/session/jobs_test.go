package session_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func TestImageResultIsUploaded(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	prompt := strings.Repeat("a red lighthouse on a cliff, ", 12)
	h.offer(claim("img-1", protocol.KindImage, prompt, protocol.EngineSynthetic))
	up, err := h.studio.WaitUpload(h.ctx(), "img-1")
	if err != nil {
		t.Fatal(err)
	}
	if up.Prompt != prompt {
		t.Errorf("upload prompt = %q, want the full prompt", up.Prompt)
	}
	if up.Ext != "png" || up.FieldName != "image" || up.Filename != "img-1.png" || up.ContentType != "image/png" {
		t.Errorf("upload ext=%q field=%q filename=%q type=%q", up.Ext, up.FieldName, up.Filename, up.ContentType)
	}
	if up.Authorization != "Bearer "+testToken {
		t.Errorf("upload Authorization = %q", up.Authorization)
	}
	if !bytes.HasPrefix(up.Data, pngMagic) {
		t.Errorf("uploaded data is not a PNG (%d bytes)", len(up.Data))
	}
	if st := h.waitJob("img-1", studiotest.StatusCompleted); st.Prompt != prompt {
		t.Errorf("job prompt = %q", st.Prompt)
	}
	if n := h.studio.UploadAttempts("img-1"); n != 1 {
		t.Errorf("upload attempts = %d, want 1", n)
	}
	if rj := h.waitRecentJob("img-1"); rj.Outcome != observers.OutcomeCompleted {
		t.Errorf("recent job = %+v", rj)
	}
	// Binary results never travel as completeJson.
	h.roundTrip("after-img")
	for _, r := range h.studio.Frames() {
		if frameJobID(r) == "img-1" && r.Type != protocol.TypeAccept {
			t.Errorf("unexpected %s frame for an uploaded job", r.Type)
		}
	}
}

func TestUploadRetries(t *testing.T) {
	t.Parallel()
	t.Run("two 503 then success", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		h.studio.FailUploads(2, http.StatusServiceUnavailable)
		h.offer(claim("up-1", protocol.KindImage, "retry me", protocol.EngineSynthetic))
		h.waitJob("up-1", studiotest.StatusCompleted)
		if n := h.studio.UploadAttempts("up-1"); n != 3 {
			t.Errorf("upload attempts = %d, want 3", n)
		}
		if rj := h.waitRecentJob("up-1"); rj.Outcome != observers.OutcomeCompleted {
			t.Errorf("recent job = %+v", rj)
		}
	})
	t.Run("three 503 fail retryable", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		h.studio.FailUploads(3, http.StatusServiceUnavailable)
		h.offer(claim("up-2", protocol.KindImage, "never lands", protocol.EngineSynthetic))
		st := h.waitJob("up-2", studiotest.StatusFailed)
		if !st.Retryable || !strings.Contains(st.Error, "upload") || !strings.Contains(st.Error, "503") {
			t.Errorf("fail = %q retryable=%v, want a retryable upload failure naming 503", st.Error, st.Retryable)
		}
		if n := h.studio.UploadAttempts("up-2"); n != 3 {
			t.Errorf("upload attempts = %d, want 3 (one + two retries)", n)
		}
		if rj := h.waitRecentJob("up-2"); rj.Outcome != observers.OutcomeFailed {
			t.Errorf("recent job = %+v", rj)
		}
		if strings.Contains(st.Error, testToken) {
			t.Error("fail message leaks the token")
		}
	})
	t.Run("4xx is not retried", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		h.studio.FailUploads(1, http.StatusBadRequest)
		h.offer(claim("up-3", protocol.KindImage, "bad request", protocol.EngineSynthetic))
		st := h.waitJob("up-3", studiotest.StatusFailed)
		if !st.Retryable {
			t.Errorf("fail retryable = false, want true")
		}
		if n := h.studio.UploadAttempts("up-3"); n != 1 {
			t.Errorf("upload attempts = %d, want 1", n)
		}
	})
	t.Run("409 sends no fail", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		h.studio.FailUploads(1, http.StatusConflict)
		h.offer(claim("up-4", protocol.KindImage, "not ours any more", protocol.EngineSynthetic))
		if rj := h.waitRecentJob("up-4"); rj.Outcome != observers.OutcomeFailed {
			t.Errorf("recent job = %+v", rj)
		}
		// The studio no longer holds the job: a fail frame would be a
		// protocol violation. The barrier proves none was sent.
		h.roundTrip("after-409")
		for _, r := range h.studio.Frames() {
			if r.Type == protocol.TypeFail {
				t.Errorf("fail frame sent after a 409: %s", r.Raw)
			}
		}
	})
}

func TestEngineErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		claim     protocol.JobOfferClaim
		retryable bool
		errHas    string
	}{
		{"missing engine", claim("e-1", protocol.KindImage, "x", protocol.EngineSDCpp), false, "sd-cpp"},
		{"backend error", claim("e-2", protocol.KindLLM, "x", "failing"), true, errBackend.Error()},
		{"backend panic", claim("e-3", protocol.KindLLM, "x", "panicky"), true, "panicked"},
		{"unsupported kind", claim("e-4", protocol.KindImage, "x", "panicky"), false, "cannot serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t).start()
			h.waitConnected(1)
			h.offer(tc.claim)
			st := h.waitJob(tc.claim.JobID, studiotest.StatusFailed)
			if st.Retryable != tc.retryable || !strings.Contains(st.Error, tc.errHas) {
				t.Errorf("fail = %q retryable=%v, want retryable=%v containing %q", st.Error, st.Retryable, tc.retryable, tc.errHas)
			}
			rj := h.waitRecentJob(tc.claim.JobID)
			if rj.Outcome != observers.OutcomeFailed || rj.Reason == "" {
				t.Errorf("recent job = %+v", rj)
			}
			h.waitObs("slot released", func() bool { return !h.obs.Busy() })
			// The worker keeps serving on the same session.
			h.roundTrip("next-" + tc.claim.JobID)
			if n := h.studio.Sessions(); n != 1 {
				t.Errorf("sessions = %d, want 1", n)
			}
			h.running()
		})
	}
}

// An offer that names its job but lacks modelSource is answered with a
// terminal fail, never accepted. The double did not issue that offer itself
// (SendRaw), so it treats the fail as one for a job it does not hold and
// closes 4002; the test only checks what the worker sent.
func TestInvalidOfferFailsTerminally(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	raw := []byte(`{"type":"offer","claim":{"jobId":"inv-1","gameId":"g","assetName":"a","model":"m","vramGbEstimate":1,"task":{"kind":"llm","messages":[{"role":"user","content":"hi"}]}}}`)
	if err := h.studio.SendRaw(websocket.TextMessage, raw); err != nil {
		t.Fatal(err)
	}
	r := h.waitFrame("fail for the invalid offer", jobFrame(protocol.TypeFail, "inv-1"))
	f := r.Frame.(*protocol.Fail)
	if f.Retryable || !strings.Contains(f.Error, "modelSource") {
		t.Errorf("fail = %+v, want retryable:false naming modelSource", f)
	}
	if r.Session != 1 {
		t.Errorf("fail sent on session %d, want 1", r.Session)
	}
	for _, r := range h.studio.Frames() {
		if r.Type == protocol.TypeAccept {
			t.Errorf("the worker accepted an invalid offer: %s", r.Raw)
		}
	}
	if _, ok := h.obs.CurrentJob(); ok {
		t.Error("an invalid offer became the current job")
	}
}

// A job belongs to the session that accepted it: when that session drops
// mid-job the result is dropped, never delivered on the next session.
func TestJobDroppedWhenItsSessionEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	h.offer(claim("mid-1", protocol.KindLLM, "interrupted", "gated"))
	h.gate.waitStarted(t, "mid-1")
	h.waitJob("mid-1", studiotest.StatusAccepted)
	if err := h.studio.DropConnection(); err != nil {
		t.Fatal(err)
	}
	h.waitConnected(2)
	h.gate.release() // a job that somehow kept running would now finish

	rj := h.waitRecentJob("mid-1")
	if rj.Outcome != observers.OutcomeFailed || !strings.HasPrefix(rj.Reason, "session ended") {
		t.Errorf("recent job = %+v, want failed \"session ended…\"", rj)
	}
	h.roundTrip("mid-2")
	if st, _ := h.studio.Job("mid-1"); st.Status != studiotest.StatusReleased {
		t.Errorf("studio job status = %q, want released", st.Status)
	}
	for _, r := range h.studio.Frames() {
		if r.Session >= 2 && frameJobID(r) == "mid-1" {
			t.Errorf("session %d carries %s for the old job: %s", r.Session, r.Type, r.Raw)
		}
		if r.Type == studiotest.TypeClose && r.CloseCode == int(protocol.CloseProtocolViolation) {
			t.Errorf("studio closed a session with 4002: %s", r.CloseReason)
		}
	}
	if n := h.studio.Sessions(); n != 2 {
		t.Errorf("sessions = %d, want 2", n)
	}
}

// An upload waiting to retry when its session drops is abandoned: no more
// attempts and no fail frame.
func TestUploadAbandonedWhenItsSessionEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.Schedule.UploadRetryPause = time.Hour // the retry would wait forever
	h.start()
	h.waitConnected(1)
	h.studio.FailUploads(1000, http.StatusBadGateway)
	h.offer(claim("upd-1", protocol.KindImage, "lost", protocol.EngineSynthetic))
	if err := h.studio.WaitUploadAttempts(h.ctx(), "upd-1", 1); err != nil {
		t.Fatal(err)
	}
	h.rec.wait("upload attempt 1 failed")
	if err := h.studio.DropConnection(); err != nil {
		t.Fatal(err)
	}
	h.waitConnected(2)
	rj := h.waitRecentJob("upd-1")
	if rj.Outcome != observers.OutcomeFailed || !strings.HasPrefix(rj.Reason, "session ended") {
		t.Errorf("recent job = %+v", rj)
	}
	h.studio.FailUploads(0, 0)
	h.roundTrip("upd-2")
	if n := h.studio.UploadAttempts("upd-1"); n != 1 {
		t.Errorf("upload attempts = %d, want 1", n)
	}
	for _, r := range h.studio.Frames() {
		if r.Type == protocol.TypeFail {
			t.Errorf("fail frame for an abandoned job: %s", r.Raw)
		}
	}
}

func TestGracefulStop(t *testing.T) {
	t.Parallel()
	workerClose := func(sess int) func(studiotest.Recorded) bool {
		return func(r studiotest.Recorded) bool {
			return r.Session == sess && r.Dir == studiotest.FromWorker && r.Type == studiotest.TypeClose
		}
	}
	checkClose := func(t *testing.T, r studiotest.Recorded) {
		t.Helper()
		if r.CloseCode != websocket.CloseNormalClosure {
			t.Errorf("worker closed with %d %q, want 1000", r.CloseCode, r.CloseReason)
		}
	}

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		if err := h.stop(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		checkClose(t, h.waitFrame("the worker's close frame", workerClose(1)))
		if st := h.obs.Session(); st.Phase != observers.SessionStopped {
			t.Errorf("session phase = %q, want stopped", st.Phase)
		}
		if n := h.studio.Sessions(); n != 1 {
			t.Errorf("sessions = %d, want 1", n)
		}
	})

	// The worker waits for the studio's close reply, not for CloseTimeout:
	// with an hour-long timeout Run still returns at once.
	t.Run("close handshake", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.cfg.Schedule.CloseTimeout = time.Hour
		h.start()
		h.waitConnected(1)
		if err := h.stop(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		checkClose(t, h.waitFrame("the worker's close frame", workerClose(1)))
	})

	t.Run("short job is delivered", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.cfg.Schedule.JobDrain = waitFor // the job finishes as soon as the gate opens
		h.start()
		h.waitConnected(1)
		h.offer(claim("s-1", protocol.KindLLM, "finish me", "gated"))
		h.gate.waitStarted(t, "s-1")
		h.cancel()
		h.rec.wait("stop requested")
		// Offers that race the stop are refused, not run.
		h.offer(claim("s-2", protocol.KindLLM, "too late", protocol.EngineSynthetic))
		if st := h.waitJob("s-2", studiotest.StatusRejected); st.RejectCode != string(protocol.RejectBusy) {
			t.Errorf("offer during stop: reject code %q, want busy", st.RejectCode)
		}
		h.gate.release()
		if err := h.wait(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		done := h.waitFrame("completeJson", jobFrame(protocol.TypeCompleteJSON, "s-1"))
		cl := h.waitFrame("close", workerClose(1))
		checkClose(t, cl)
		if cl.At.Before(done.At) {
			t.Error("the worker closed before delivering the job")
		}
		if st := h.waitJob("s-1", studiotest.StatusCompleted); st.Prompt != "finish me" {
			t.Errorf("job = %+v", st)
		}
	})

	t.Run("long job fails retryable", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t).start()
		h.waitConnected(1)
		h.offer(claim("l-1", protocol.KindLLM, "never finishes", "gated"))
		h.gate.waitStarted(t, "l-1")
		start := time.Now()
		h.cancel()
		if err := h.wait(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		elapsed := time.Since(start)
		fail := h.waitFrame("fail", jobFrame(protocol.TypeFail, "l-1"))
		f := fail.Frame.(*protocol.Fail)
		if !f.Retryable || !strings.Contains(f.Error, "stopped") {
			t.Errorf("fail = %+v, want retryable, saying the worker stopped", f)
		}
		cl := h.waitFrame("close", workerClose(1))
		checkClose(t, cl)
		if cl.At.Before(fail.At) {
			t.Error("the worker closed before failing the job")
		}
		rj := h.waitRecentJob("l-1")
		if rj.Outcome != observers.OutcomeFailed {
			t.Errorf("recent job = %+v", rj)
		}
		// Bounded, not timed: the drain plus the close handshake, with
		// seconds of slack for a loaded machine.
		sched := h.cfg.Schedule
		if limit := sched.JobDrain + sched.CloseTimeout + 5*time.Second; elapsed > limit {
			t.Errorf("stop took %s, more than %s", elapsed, limit)
		}
		t.Logf("stop with a long job took %s (drain %s)", elapsed, sched.JobDrain)
	})
}

// Run returns promptly when cancelled while the studio refuses upgrades
// (stop during backoff) and before approval.
func TestStopWhileNotConnected(t *testing.T) {
	t.Parallel()
	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.cfg.Schedule.BackoffBase = time.Hour
		h.cfg.Schedule.BackoffMax = time.Hour
		h.studio.RejectUpgrades(http.StatusServiceUnavailable)
		h.start()
		h.waitObs("reconnecting", func() bool { return h.obs.Session().Phase == observers.SessionReconnecting })
		if err := h.stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if p := h.obs.Session().Phase; p != observers.SessionStopped {
			t.Errorf("phase = %q, want stopped", p)
		}
	})
	t.Run("waiting for approval", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.cfg.Schedule.CredentialsPoll = time.Hour
		h.approved.Store(false)
		h.start()
		h.waitObs("waiting", func() bool { return h.obs.Session().Phase == observers.SessionWaitingForApproval })
		if err := h.stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if p := h.obs.Session().Phase; p != observers.SessionStopped {
			t.Errorf("phase = %q, want stopped", p)
		}
	})
}
