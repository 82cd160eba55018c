package session_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/session"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

type outcome int

const (
	reconnects outcome = iota
	authFailed
	fatal
)

func TestSessionEndRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		act  func(*studiotest.Studio) error
		want outcome
	}{
		{"drop", (*studiotest.Studio).DropConnection, reconnects},
		{"close 1000", closeWith(1000), reconnects},
		{"close 1001", closeWith(1001), reconnects},
		{"close 4001", closeWith(4001), authFailed},
		{"close 4002", closeWith(4002), fatal},
		{"close 4003", closeWith(4003), fatal},
		{"close 4004", closeWith(4004), fatal},
		{"error auth_failed", sendError(protocol.ErrAuthFailed), authFailed},
		{"error protocol_violation", sendError(protocol.ErrProtocolViolation), fatal},
		{"error duplicate_worker", sendError(protocol.ErrDuplicateWorker), fatal},
		{"error worker_deleted", sendError(protocol.ErrWorkerDeleted), fatal},
		{"error internal_error", sendError(protocol.ErrInternalError), reconnects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t).start()
			h.waitConnected(1)
			if err := tc.act(h.studio); err != nil {
				t.Fatal(err)
			}
			switch tc.want {
			case reconnects:
				h.waitConnected(2)
				l, ok := h.rec.find("reconnect attempt 1 ")
				if !ok {
					t.Fatal("no reconnect log line")
				}
				if l.Session.Phase != observers.SessionReconnecting || l.Session.Attempt != 1 {
					t.Errorf("state while reconnecting = %+v, want reconnecting attempt 1", l.Session)
				}
				if st := h.obs.Session(); st.Phase != observers.SessionConnected {
					t.Errorf("state after reconnecting = %+v, want connected", st)
				}
				h.running()
			case authFailed:
				err := h.wait()
				var af *session.AuthFailedError
				if !errors.As(err, &af) || !session.Terminal(err) {
					t.Fatalf("Run = %v (%T), want *AuthFailedError", err, err)
				}
				if st := h.obs.Session(); st.Phase != observers.SessionAuthFailed || st.Reason == "" {
					t.Errorf("state = %+v, want auth_failed with a reason", st)
				}
				h.rec.wait("Re-register the worker")
			case fatal:
				err := h.wait()
				var fe *session.FatalError
				if !errors.As(err, &fe) || !session.Terminal(err) {
					t.Fatalf("Run = %v (%T), want *FatalError", err, err)
				}
				if st := h.obs.Session(); st.Phase != observers.SessionFatal || st.Reason == "" {
					t.Errorf("state = %+v, want fatal with a reason", st)
				}
			}
			if tc.want != reconnects {
				if n := h.studio.UpgradeAttempts(); n != 1 {
					t.Errorf("upgrade attempts = %d, want 1 (no reconnect)", n)
				}
			}
		})
	}
}

func closeWith(code int) func(*studiotest.Studio) error {
	return func(s *studiotest.Studio) error { return s.CloseSession(code, "test close") }
}

func sendError(code protocol.ErrorCode) func(*studiotest.Studio) error {
	return func(s *studiotest.Studio) error {
		// The worker closes the socket on the error frame, possibly before
		// the double writes its own close frame (which then finds no open
		// session); only an error frame that never went out is a failure of
		// the test's setup.
		err := s.SendError(code, "test error")
		for _, r := range s.Frames() {
			if r.Dir == studiotest.ToWorker && r.Type == protocol.TypeError {
				return nil
			}
		}
		return err
	}
}

func TestUpgrade401IsAuthFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.studio.RejectUpgrades(http.StatusUnauthorized)
	h.start()
	err := h.wait()
	var af *session.AuthFailedError
	if !errors.As(err, &af) || !strings.Contains(af.Reason, "401") {
		t.Fatalf("Run = %v (%T), want *AuthFailedError naming 401", err, err)
	}
	if n := h.studio.UpgradeAttempts(); n != 1 {
		t.Errorf("upgrade attempts = %d, want 1", n)
	}
	if st := h.obs.Session(); st.Phase != observers.SessionAuthFailed {
		t.Errorf("state = %+v", st)
	}
}

func TestReconnectCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.ReconnectAttempts = 3
	h.studio.RejectUpgrades(http.StatusServiceUnavailable)
	h.start()
	err := h.wait()
	var fe *session.FatalError
	if !errors.As(err, &fe) || fe.Reason != "gave up after 3 reconnect attempts" {
		t.Fatalf("Run = %v (%T), want *FatalError \"gave up after 3 reconnect attempts\"", err, err)
	}
	if n := h.studio.UpgradeAttempts(); n != 4 {
		t.Errorf("upgrade attempts = %d, want 4 (first try + 3 reconnects)", n)
	}
	if st := h.obs.Session(); st.Phase != observers.SessionFatal || st.Reason != fe.Reason {
		t.Errorf("state = %+v", st)
	}
	// Every reconnect attempt was announced with its number, in order.
	var attempts []int
	for _, l := range h.rec.all() {
		if strings.Contains(l.Text, "reconnect attempt") && l.Session.Phase == observers.SessionReconnecting {
			attempts = append(attempts, l.Session.Attempt)
		}
	}
	if len(attempts) != 3 || attempts[0] != 1 || attempts[1] != 2 || attempts[2] != 3 {
		t.Errorf("reconnect attempts logged = %v, want [1 2 3]", attempts)
	}
}

// Unlimited by default: refusals do not stop the worker, and it connects as
// soon as the studio accepts again.
func TestReconnectUnlimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.studio.RejectUpgrades(http.StatusServiceUnavailable)
	h.start()
	if err := h.studio.WaitUpgradeAttempts(h.ctx(), 8); err != nil {
		t.Fatal(err)
	}
	h.running()
	h.studio.RejectUpgrades(0)
	h.waitConnected(1)
	if st := h.obs.Session(); st.Phase != observers.SessionConnected || st.Attempt != 0 {
		t.Errorf("state = %+v", st)
	}
}

// A welcomed session resets the count: drops spread over welcomed sessions
// never reach the cap.
func TestReconnectCountResetsAfterWelcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.ReconnectAttempts = 2
	h.start()
	for sess := 1; sess <= 4; sess++ {
		h.waitConnected(sess)
		if err := h.studio.DropConnection(); err != nil {
			t.Fatal(err)
		}
	}
	h.waitConnected(5)
	h.running()
	for _, l := range h.rec.all() {
		if strings.Contains(l.Text, "reconnect attempt") && l.Session.Attempt != 1 {
			t.Errorf("attempt %d after a welcomed session, want 1: %s", l.Session.Attempt, l.Text)
		}
	}
}

func TestReadIdleTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.Schedule.ReadIdleTimeout = 300 * time.Millisecond
	h.start()
	h.waitConnected(1)
	if err := h.studio.GoSilent(true); err != nil {
		t.Fatal(err)
	}
	h.waitConnected(2)
	h.rec.wait("no frame from the studio for 300ms")
	h.running()
}

func TestMalformedInputReconnects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		typ     int
		data    []byte
		logHas  string
		sendErr bool // the write may fail: the worker drops the socket mid-frame
	}{
		{"garbage", websocket.TextMessage, []byte("{not json"), "dropping unparseable text frame", false},
		{"no type", websocket.TextMessage, []byte(`{"workerId":"w"}`), "dropping unparseable text frame", false},
		{"unknown type", websocket.TextMessage, []byte(`{"type":"surprise","x":1}`), "dropping unparseable text frame", false},
		{"offer without claim", websocket.TextMessage, []byte(`{"type":"offer"}`), "dropping unparseable text frame", false},
		{"binary", websocket.BinaryMessage, []byte{1, 2, 3}, "unexpected binary frame", false},
		// gorilla answers an over-size frame with close 1009 from the
		// reader, so the loop may first see its next write fail; either
		// way the session ends and reconnects.
		{"oversize", websocket.TextMessage, oversize(), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t).start()
			h.waitConnected(1)
			if err := h.studio.SendRaw(tc.typ, tc.data); err != nil && !tc.sendErr {
				t.Fatal(err)
			}
			h.waitConnected(2)
			if tc.logHas != "" {
				h.rec.wait(tc.logHas)
			} else {
				h.waitFrame("the worker's 1009 close", func(r studiotest.Recorded) bool {
					return r.Session == 1 && r.Dir == studiotest.FromWorker && r.Type == studiotest.TypeClose && r.CloseCode == websocket.CloseMessageTooBig
				})
			}
			h.running()
			h.roundTrip("after-" + strings.ReplaceAll(tc.name, " ", "-"))
		})
	}
}

func oversize() []byte {
	b := []byte(`{"type":"welcome","workerId":"`)
	b = append(b, strings.Repeat("x", protocol.MaxFrameBytes)...)
	return append(b, `"}`...)
}
