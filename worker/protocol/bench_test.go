package protocol_test

import (
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// A heartbeat goes out every 5 s for the life of the process; this keeps its
// cost visible.
func BenchmarkEncodeHeartbeat(b *testing.B) {
	hb := protocol.Heartbeat{Capabilities: fullCaps(), CurrentJobID: "job-42"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Encode(hb); err != nil {
			b.Fatal(err)
		}
	}
}

// The biggest frame the worker decodes on its hot path (full image offer:
// the task is parsed twice, once for the kind and once for the body).
func BenchmarkDecodeOffer(b *testing.B) {
	in := readGolden(b, "offer_image")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.DecodeServer(in); err != nil {
			b.Fatal(err)
		}
	}
}
