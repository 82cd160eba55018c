package session_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/logs"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// waitShipped waits until the studio has received every message in want (by
// message text) in log batches and returns how often each arrived.
func waitShipped(h *harness, want []string) map[string]int {
	h.t.Helper()
	got := make(map[string]int, len(want))
	missing := make(map[string]bool, len(want))
	for _, m := range want {
		missing[m] = true
	}
	_, err := h.studio.WaitFrame(h.ctx(), func(r studiotest.Recorded) bool {
		lb, ok := r.Frame.(*protocol.LogBatch)
		if !ok {
			return false
		}
		for _, e := range lb.Entries {
			got[e.Message]++
			delete(missing, e.Message)
		}
		return len(missing) == 0
	})
	if err != nil {
		h.t.Fatalf("%d of %d log entries never arrived: %v", len(missing), len(want), err)
	}
	return got
}

func TestLogsShipped(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	log := slog.New(logs.NewHandler(nil, h.obs, h.queue))
	var want []string
	for i := range 20 {
		msg := fmt.Sprintf("ship-me-%02d", i)
		want = append(want, msg)
		if i%2 == 0 {
			log.Warn(msg, "category", "test", "job_id", "job-7")
		} else {
			log.Info(msg)
		}
	}
	log.Debug("never shipped")
	waitShipped(h, want)

	var entries []protocol.LogEntry
	for _, e := range h.studio.Logs() {
		if strings.HasPrefix(e.Message, "ship-me-") || e.Message == "never shipped" {
			entries = append(entries, e)
		}
	}
	if len(entries) != 20 {
		t.Fatalf("shipped %d test entries, want 20", len(entries))
	}
	for i, e := range entries {
		if e.Message != want[i] {
			t.Errorf("entry %d = %q, want %q (order kept)", i, e.Message, want[i])
		}
		wantLevel, wantCat, wantJob := protocol.LevelInfo, logs.DefaultCategory, ""
		if i%2 == 0 {
			wantLevel, wantCat, wantJob = protocol.LevelWarn, "test", "job-7"
		}
		if e.Level != wantLevel || e.Category != wantCat || e.JobID != wantJob || e.TS.IsZero() {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	// The worker's own lines travel too (the session logs under "ws").
	found := false
	for _, e := range h.studio.Logs() {
		if e.Category == "ws" && strings.Contains(e.Message, "server welcomed") {
			found = true
		}
	}
	if !found {
		t.Error("the worker's own \"server welcomed\" line was not shipped")
	}
}

// failOnceConn fails the first large write (a log batch fragment: hello and
// heartbeats are far smaller) and closes the connection, as a socket that
// dies mid-write does.
type failOnceConn struct {
	net.Conn
	armed  *atomic.Bool
	failed *atomic.Int32
}

var errInjected = errors.New("injected write failure")

func (c failOnceConn) Write(b []byte) (int, error) {
	if len(b) > 3000 && c.armed.CompareAndSwap(true, false) {
		c.failed.Add(1)
		_ = c.Conn.Close()
		return 0, errInjected
	}
	return c.Conn.Write(b)
}

// A batch whose send fails goes back to the queue and arrives, once and in
// order, on the next session.
func TestFailedLogBatchIsRequeued(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	var failed atomic.Int32
	armed.Store(true)
	h := newHarness(t)
	h.cfg.Dialer = &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return failOnceConn{Conn: c, armed: &armed, failed: &failed}, nil
	}}
	// Queue the entries before the session exists so the first flush ships
	// them in one batch, large enough to hit the failing write.
	h.approved.Store(false)
	log := slog.New(logs.NewHandler(nil, h.obs, h.queue))
	var want []string
	for i := range 60 {
		msg := fmt.Sprintf("requeue-%02d %s", i, strings.Repeat("x", 100))
		want = append(want, msg)
		log.Info(msg)
	}
	h.start()
	h.waitObs("waiting for approval", func() bool { return h.queue.Len() >= 60 })
	h.approved.Store(true)

	got := waitShipped(h, want)
	if failed.Load() != 1 {
		t.Fatalf("injected write failures = %d, want 1 (the test did not exercise a failed batch)", failed.Load())
	}
	for _, m := range want {
		if got[m] != 1 {
			t.Errorf("%.12s… arrived %d times, want once", m, got[m])
		}
	}
	if n := h.studio.Sessions(); n < 2 {
		t.Errorf("sessions = %d, want a reconnect after the failed batch", n)
	}
	var order []string
	for _, e := range h.studio.Logs() {
		if strings.HasPrefix(e.Message, "requeue-") {
			order = append(order, e.Message)
		}
	}
	for i := range order {
		if order[i] != want[i] {
			t.Fatalf("entry %d = %.12s…, want %.12s… (order kept across the requeue)", i, order[i], want[i])
		}
	}
	h.rec.wait("log batch")
}

// Entries logged while the worker is disconnected wait in the queue and are
// shipped once the next session is welcomed.
func TestLogsQueuedWhileDisconnected(t *testing.T) {
	t.Parallel()
	h := newHarness(t).start()
	h.waitConnected(1)
	h.studio.RejectUpgrades(503)
	if err := h.studio.DropConnection(); err != nil {
		t.Fatal(err)
	}
	if err := h.studio.WaitUpgradeAttempts(h.ctx(), 2); err != nil {
		t.Fatal(err)
	}
	log := slog.New(logs.NewHandler(nil, h.obs, h.queue))
	var want []string
	for i := range 30 {
		msg := fmt.Sprintf("offline-%02d", i)
		want = append(want, msg)
		log.Info(msg)
	}
	h.studio.RejectUpgrades(0)
	got := waitShipped(h, want)
	for _, m := range want {
		if got[m] != 1 {
			t.Errorf("%s arrived %d times", m, got[m])
		}
	}
	for _, r := range h.studio.Frames() {
		if lb, ok := r.Frame.(*protocol.LogBatch); ok && r.Session == 1 {
			for _, e := range lb.Entries {
				if strings.HasPrefix(e.Message, "offline-") {
					t.Errorf("%s shipped on session 1", e.Message)
				}
			}
		}
	}
}

// TestLongLogsShipInBoundedFrames queues long lines before the session
// starts: they must reach the studio in frames under the 1 MiB read limit,
// clipped on a rune boundary, not as one oversize frame the studio refuses.
func TestLongLogsShipInBoundedFrames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	log := slog.New(logs.NewHandler(nil, h.obs, h.queue))
	long := strings.Repeat("é", 3000)    // 6000 bytes
	escaped := strings.Repeat("<", 4000) // 6 bytes each once JSON-escaped
	for i := range 150 {
		if i%3 == 0 {
			log.Info(fmt.Sprintf("long-%03d %s", i, escaped))
			continue
		}
		log.Info(fmt.Sprintf("long-%03d %s", i, long))
	}
	h.start()
	rec := h.waitFrame("the last long line", func(r studiotest.Recorded) bool {
		lb, ok := r.Frame.(*protocol.LogBatch)
		if !ok {
			return false
		}
		for _, e := range lb.Entries {
			if strings.HasPrefix(e.Message, "long-149 ") {
				return true
			}
		}
		return false
	})
	for _, r := range h.studio.Frames() {
		if r.Type == protocol.TypeLogBatch && len(r.Raw) > 256<<10 {
			t.Errorf("logBatch frame of %d bytes; want at most 256 KiB", len(r.Raw))
		}
	}
	for _, e := range rec.Frame.(*protocol.LogBatch).Entries {
		if strings.HasPrefix(e.Message, "long-149 ") && !strings.HasSuffix(e.Message, "… [clipped]") {
			t.Errorf("a 6000-byte line was shipped without the clip marker")
		}
		if strings.HasPrefix(e.Message, "long-") && (len(e.Message) > 4<<10 || !utf8.ValidString(e.Message)) {
			t.Fatalf("shipped message not clipped to 4 KiB on a rune boundary: %d bytes", len(e.Message))
		}
	}
}
