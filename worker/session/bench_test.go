package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/logs"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// benchHarness is a connected session whose own logging is discarded, so
// the figures are the session and the double, not the test's log echo.
func benchHarness(b *testing.B, mutate func(*harness)) *harness {
	b.Helper()
	h := newHarness(b)
	h.cfg.Logger = slog.New(slog.DiscardHandler)
	if mutate != nil {
		mutate(h)
	}
	h.start()
	h.waitConnected(1)
	return h
}

// BenchmarkJobRoundTrip: offer → accept → synthetic llm → completeJson
// recorded by the double, over a real loopback WebSocket.
func BenchmarkJobRoundTrip(b *testing.B) {
	h := benchHarness(b, nil)
	ctx := context.Background()
	claims := make([]protocol.JobOfferClaim, b.N)
	for i := range claims {
		claims[i] = claim(fmt.Sprintf("bench-%d", i), protocol.KindLLM, "Write one sentence about lighthouses at dusk.", protocol.EngineSynthetic)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := h.studio.Offer(claims[i]); err != nil {
			b.Fatal(err)
		}
		if _, err := h.studio.WaitJob(ctx, claims[i].JobID, studiotest.StatusCompleted); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N), "µs/job")
}

// BenchmarkLogPipeline: slog → logs.Handler → ShipQueue → logBatch frames
// → the double. Entries are pushed as fast as slog takes them; the bounded
// queue may drop the oldest (counted by its marker), so the figure is the
// entries actually delivered per second.
func BenchmarkLogPipeline(b *testing.B) {
	h := benchHarness(b, func(h *harness) {
		h.cfg.Schedule.LogFlushInterval = time.Millisecond
		h.cfg.Schedule.HeartbeatInterval = time.Second
	})
	log := slog.New(logs.NewHandler(nil, h.obs, h.queue)).With("category", "bench")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		log.Info("bench entry", "i", i)
	}
	pushed := time.Since(start)
	delivered, dropped := 0, 0
	_, err := h.studio.WaitFrame(context.Background(), func(r studiotest.Recorded) bool {
		lb, ok := r.Frame.(*protocol.LogBatch)
		if !ok {
			return false
		}
		for _, e := range lb.Entries {
			switch {
			case e.Category == "bench":
				delivered++
			case e.Category == "logs" && strings.HasPrefix(e.Message, "ship queue full"):
				var n int
				if _, err := fmt.Sscanf(e.Message[strings.LastIndex(e.Message, "dropped "):], "dropped %d oldest", &n); err == nil {
					dropped += n
				}
			}
		}
		return delivered+dropped >= b.N
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(dropped)/float64(b.N)*100, "%dropped")
	b.ReportMetric(float64(pushed.Nanoseconds())/float64(b.N), "ns/push")
}
