package session_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/session"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// The studio double only serves /graphics/api/workers/<id>/connect and only
// upgrades with the right Bearer token and the studio-worker-v1
// sub-protocol, so a welcomed session proves URL and headers; the upload of
// an image job proves the HTTP route is built from the same base.
func TestConnectURLVariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		suffix string // appended to "http://127.0.0.1:PORT"
	}{
		{"no trailing slash", ""},
		{"trailing slash", "/"},
		{"prefix present", "/graphics/api"},
		{"prefix with slash", "/graphics/api/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			base := strings.TrimSuffix(h.url, "/") + tc.suffix
			h.cfg.BaseURL = func() string { return base }
			h.start()
			h.waitConnected(1)
			h.offer(claim("img-1", protocol.KindImage, "a lighthouse", protocol.EngineSynthetic))
			if _, err := h.studio.WaitUpload(h.ctx(), "img-1"); err != nil {
				t.Fatalf("upload for base %q: %v", base, err)
			}
			if err := h.stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := h.studio.UpgradeAttempts(); n != 1 {
				t.Errorf("upgrade attempts = %d, want 1", n)
			}
		})
	}
}

func TestWrongTokenIsAuthFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.studio.AddWorker(testWorkerID, "another-token")
	h.start()
	err := h.wait()
	if _, ok := err.(*session.AuthFailedError); !ok {
		t.Fatalf("Run = %v (%T), want *AuthFailedError", err, err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q leaks the token", err)
	}
}

// rawFrame is one message a hand-written studio received.
type rawFrame struct {
	typ  int
	data []byte
}

// A studio that never welcomes: the worker must send hello and nothing else
// (no heartbeat, no log batch, no answer to an early offer) although its
// queue holds entries and many heartbeat intervals pass before its read-idle
// timeout ends the connection.
func TestNothingBeforeWelcome(t *testing.T) {
	t.Parallel()
	type upgrade struct {
		path, auth, proto string
		frames            []rawFrame
	}
	first := make(chan upgrade, 1)
	var once sync.Once
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := upgrade{path: r.URL.Path, auth: r.Header.Get("Authorization"), proto: r.Header.Get("Sec-WebSocket-Protocol")}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		typ, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		got.frames = append(got.frames, rawFrame{typ, data})
		offer, _ := protocol.Encode(&protocol.Offer{Claim: claim("early", protocol.KindLLM, "too soon", protocol.EngineSynthetic)})
		_ = c.WriteMessage(websocket.TextMessage, offer)
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				break
			}
			got.frames = append(got.frames, rawFrame{typ, data})
		}
		once.Do(func() { first <- got })
	}))
	t.Cleanup(srv.Close)

	h := newHarness(t)
	h.cfg.BaseURL = func() string { return srv.URL }
	h.cfg.Schedule.ReadIdleTimeout = 300 * time.Millisecond
	for range 5 {
		h.queue.Push(protocol.LogEntry{Level: protocol.LevelInfo, Category: "test", Message: "queued early"})
	}
	h.start()

	var got upgrade
	select {
	case got = <-first:
	case <-time.After(waitFor):
		t.Fatal("the worker never connected")
	}
	if want := "/graphics/api/workers/" + testWorkerID + "/connect"; got.path != want {
		t.Errorf("path = %q, want %q", got.path, want)
	}
	if got.auth != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the Bearer token", got.auth)
	}
	if got.proto != protocol.Subprotocol {
		t.Errorf("Sec-WebSocket-Protocol = %q, want %q", got.proto, protocol.Subprotocol)
	}
	if len(got.frames) != 1 {
		for _, f := range got.frames {
			t.Logf("received: %s", f.data)
		}
		t.Fatalf("studio received %d frames before any welcome, want only hello", len(got.frames))
	}
	f, err := protocol.DecodeWorker(got.frames[0].data)
	if err != nil {
		t.Fatal(err)
	}
	hello, ok := f.(*protocol.Hello)
	if !ok {
		t.Fatalf("first frame is %s, want hello", f.FrameType())
	}
	if hello.AuthToken != testToken || hello.Capabilities.VRAMThresholdGb != 4 || !hello.Capabilities.AutoEnabled {
		t.Errorf("hello = %+v", hello)
	}
	if _, ok := h.rec.find("no frame from the studio"); !ok {
		t.Error("the connection did not end by the read-idle timeout")
	}
}

// With the double, every session starts with hello, and no heartbeat or log
// batch of a session is recorded before the studio's welcome of it.
func TestHelloFirstAndWelcomeGate(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	h.waitFrame("a log batch", fromWorker(1, protocol.TypeLogBatch))
	if err := h.studio.DropConnection(); err != nil {
		t.Fatal(err)
	}
	h.waitConnected(2)
	h.waitFrame("a log batch on session 2", fromWorker(2, protocol.TypeLogBatch))
	for sess := 1; sess <= 2; sess++ {
		welcomed := false
		firstFromWorker := true
		for _, r := range h.studio.Frames() {
			if r.Session != sess {
				continue
			}
			switch {
			case r.Dir == studiotest.ToWorker && r.Type == protocol.TypeWelcome:
				welcomed = true
			case r.Dir == studiotest.FromWorker:
				if firstFromWorker && r.Type != protocol.TypeHello {
					t.Errorf("session %d: first frame from the worker is %q, want hello", sess, r.Type)
				}
				firstFromWorker = false
				if !welcomed && (r.Type == protocol.TypeHeartbeat || r.Type == protocol.TypeLogBatch) {
					t.Errorf("session %d: %s before welcome", sess, r.Type)
				}
				if r.Type == protocol.TypeReadyForMore {
					t.Errorf("session %d: the worker sent readyForMore", sess)
				}
			}
		}
		if !welcomed {
			t.Errorf("session %d was never welcomed", sess)
		}
	}
}

func heartbeatOf(r studiotest.Recorded) *protocol.Heartbeat {
	hb, _ := r.Frame.(*protocol.Heartbeat)
	return hb
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	first := h.waitFrame("first heartbeat", fromWorker(1, protocol.TypeHeartbeat))
	if hb := heartbeatOf(first); hb.Capabilities.VRAMThresholdGb != 4 || !hb.Capabilities.AutoEnabled {
		t.Errorf("first heartbeat capabilities = %+v", hb.Capabilities)
	}
	if _, ok := rawJSON(t, first)["currentJobId"]; ok {
		t.Errorf("idle heartbeat carries currentJobId: %s", first.Raw)
	}
	h.waitObs("heartbeat ok", func() bool {
		st, ok := h.obs.Heartbeat()
		return ok && st.Outcome == observers.HeartbeatOK
	})

	// Capabilities are rebuilt for every heartbeat.
	h.threshold.Store(math.Float64bits(9))
	h.waitFrame("heartbeat with threshold 9", func(r studiotest.Recorded) bool {
		hb := heartbeatOf(r)
		return r.Session == 1 && hb != nil && hb.Capabilities.VRAMThresholdGb == 9
	})

	// autoEnabled follows the operator's pause.
	h.obs.SetEnabled(false)
	h.waitFrame("heartbeat with autoEnabled false", func(r studiotest.Recorded) bool {
		hb := heartbeatOf(r)
		return r.Session == 1 && hb != nil && !hb.Capabilities.AutoEnabled
	})
	h.rec.wait("claiming paused by operator")
	h.obs.SetEnabled(true)
	h.waitFrame("heartbeat with autoEnabled true again", func(r studiotest.Recorded) bool {
		hb := heartbeatOf(r)
		return r.Session == 1 && hb != nil && hb.Capabilities.AutoEnabled && hb.Capabilities.VRAMThresholdGb == 9
	})
	h.rec.wait("claiming resumed by operator")

	// currentJobId names the job in flight, and heartbeats keep coming
	// while it runs: the job is off the read loop.
	h.offer(claim("job-hb", protocol.KindLLM, "hello", "gated"))
	h.gate.waitStarted(t, "job-hb")
	seen := 0
	h.waitFrame("three heartbeats naming the running job", func(r studiotest.Recorded) bool {
		if hb := heartbeatOf(r); hb != nil && hb.CurrentJobID == "job-hb" {
			seen++
		}
		return seen >= 3
	})
	h.gate.release()
	done := h.waitFrame("completeJson", jobFrame(protocol.TypeCompleteJSON, "job-hb"))
	h.waitFrame("an idle heartbeat after the job", func(r studiotest.Recorded) bool {
		if r.Dir != studiotest.FromWorker || r.Type != protocol.TypeHeartbeat || r.At.Before(done.At) {
			return false
		}
		_, has := rawJSON(t, r)["currentJobId"]
		return !has
	})
	if n := h.studio.Sessions(); n != 1 {
		t.Errorf("sessions = %d, want 1 (capabilities must change without reconnecting)", n)
	}
}

func TestOfferPausedIsRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	h.obs.SetEnabled(false)
	h.offer(claim("p-1", protocol.KindLLM, "hi", protocol.EngineSynthetic))
	st := h.waitJob("p-1", studiotest.StatusRejected)
	if st.RejectCode != string(protocol.RejectPaused) || st.RejectReason != "worker paused by operator" {
		t.Errorf("reject = %q %q, want paused / worker paused by operator", st.RejectCode, st.RejectReason)
	}
	if h.obs.Busy() {
		t.Error("a rejected offer holds the job slot")
	}
	h.obs.SetEnabled(true)
	h.roundTrip("p-2")
}

func TestOfferBusyIsRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	release, ok := h.obs.TryReserveJob() // e.g. the updater holds the slot
	if !ok {
		t.Fatal("slot taken")
	}
	h.offer(claim("b-1", protocol.KindLLM, "hi", protocol.EngineSynthetic))
	st := h.waitJob("b-1", studiotest.StatusRejected)
	if st.RejectCode != string(protocol.RejectBusy) || st.RejectReason != protocol.ReasonBusy {
		t.Errorf("reject = %q %q, want busy / %s", st.RejectCode, st.RejectReason, protocol.ReasonBusy)
	}
	release()
	h.roundTrip("b-2")
}

// A second offer while a job runs is refused busy; the running job is not
// disturbed.
func TestOfferWhileRunningIsBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	h.offer(claim("r-1", protocol.KindLLM, "first", "gated"))
	h.gate.waitStarted(t, "r-1")
	h.offer(claim("r-2", protocol.KindLLM, "second", protocol.EngineSynthetic))
	if st := h.waitJob("r-2", studiotest.StatusRejected); st.RejectCode != string(protocol.RejectBusy) {
		t.Errorf("reject code = %q, want busy", st.RejectCode)
	}
	h.gate.release()
	h.waitJob("r-1", studiotest.StatusCompleted)
}

func TestOfferAcceptedWithFullPrompt(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	prompt := strings.Repeat("a lighthouse at dusk, ", 10) + "and the end of the prompt ÿ" // > 200 runes
	if utf8.RuneCountInString(prompt) <= observers.PromptPreviewChars {
		t.Fatal("prompt too short for the test")
	}
	preview := observers.PromptPreview(prompt)

	h.offer(claim("full-1", protocol.KindLLM, prompt, "gated"))
	h.gate.waitStarted(t, "full-1")
	h.waitFrame("accept", jobFrame(protocol.TypeAccept, "full-1"))
	cur, ok := h.obs.CurrentJob()
	if !ok || cur.JobID != "full-1" || cur.Prompt != preview || cur.Kind != string(protocol.KindLLM) || cur.Model != "synthetic-llm" {
		t.Errorf("current job = %+v, %v; want full-1 with the preview", cur, ok)
	}
	if !h.obs.Busy() {
		t.Error("the running job does not hold the slot")
	}
	h.gate.release()

	st := h.waitJob("full-1", studiotest.StatusCompleted)
	if st.Prompt != prompt {
		t.Errorf("studio got prompt %q, want the full prompt", st.Prompt)
	}
	if !json.Valid(st.Result) || len(st.Result) == 0 {
		t.Errorf("result = %s", st.Result)
	}
	rj := h.waitRecentJob("full-1")
	if rj.Outcome != observers.OutcomeCompleted || rj.Prompt != preview || rj.FinishedAt.Before(rj.StartedAt) {
		t.Errorf("recent job = %+v", rj)
	}
	h.waitObs("slot released", func() bool { return !h.obs.Busy() })
	if _, ok := h.obs.CurrentJob(); ok {
		t.Error("current job still set after completion")
	}
}

func TestWaitsForApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.approved.Store(false)
	h.start()
	h.waitObs("waiting_for_approval", func() bool {
		return h.obs.Session().Phase == observers.SessionWaitingForApproval
	})
	h.rec.wait("waiting for operator approval")
	// Several polls pass while the session waits; none may reach the studio.
	for range 3 {
		select {
		case <-h.obs.Changed():
		case <-time.After(waitFor):
			t.Fatal("the approval poll stopped")
		}
	}
	if n := h.studio.UpgradeAttempts(); n != 0 {
		t.Fatalf("upgrade attempts while waiting for approval = %d, want 0", n)
	}
	h.approved.Store(true)
	h.waitConnected(1)
	h.waitObs("connected", func() bool { return h.obs.Session().Phase == observers.SessionConnected })
}

// Heartbeats every millisecond, log batches every millisecond, a logging
// goroutine and a stream of jobs all write to the one socket; gorilla
// panics on concurrent writes and -race catches unsynchronised ones.
func TestOneWriter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.Schedule.HeartbeatInterval = time.Millisecond
	h.cfg.Schedule.LogFlushInterval = time.Millisecond
	h.start()
	h.waitConnected(1)

	// A logging goroutine writes a burst of lines alongside every job, so
	// log batches, heartbeats and results interleave on the socket. (An
	// unbounded flood makes the double's reader lag so far behind that an
	// upload can overtake its own accept and get a 409.)
	bursts := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		log := h.cfg.Logger.With("category", "test")
		for b := range bursts {
			for i := range 50 {
				log.Info("noise", "burst", b, "i", i)
			}
		}
	}()
	t.Cleanup(wg.Wait)
	defer close(bursts)

	// Binary results go over HTTP, so only binary kinds whose engine takes
	// long enough for the double to have read the accept are mixed in.
	kinds := []protocol.TaskKind{protocol.KindLLM, protocol.KindAudioSTT, protocol.KindImage}
	for i := range 40 {
		id := fmt.Sprintf("ow-%02d", i)
		bursts <- i
		h.offer(claim(id, kinds[i%len(kinds)], "prompt "+id, protocol.EngineSynthetic))
		h.waitJob(id, studiotest.StatusCompleted)
	}
	h.waitFrame("a log batch", fromWorker(1, protocol.TypeLogBatch))
	if n := h.studio.Sessions(); n != 1 {
		t.Errorf("sessions = %d, want 1", n)
	}
	h.running()
}

// TestBaseURLReadPerConnection: a studio URL changed in the settings (the
// window's Settings tab) is used from the next connection on.
func TestBaseURLReadPerConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := studiotest.New(studiotest.Options{})
	otherURL, err := other.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	other.AddWorker(testWorkerID, testToken)

	var current atomic.Value
	current.Store(h.url)
	h.cfg.BaseURL = func() string { return current.Load().(string) }
	h.start()
	h.waitConnected(1)
	current.Store(otherURL)
	if other.Sessions() != 0 {
		t.Fatal("the other studio saw a session before the URL changed")
	}
	if err := h.studio.DropConnection(); err != nil {
		t.Fatal(err)
	}
	if err := other.WaitSessions(h.ctx(), 1); err != nil {
		t.Fatalf("the worker never connected to the new URL: %v", err)
	}
	if _, err := other.WaitFrame(h.ctx(), func(r studiotest.Recorded) bool {
		return r.Dir == studiotest.FromWorker && r.Type == protocol.TypeHeartbeat
	}); err != nil {
		t.Fatalf("no heartbeat on the new studio: %v", err)
	}
}
