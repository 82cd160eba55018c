package engine

import (
	"context"
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

func benchRun(b *testing.B, run func(context.Context, protocol.JobOfferClaim) (Result, error), claim protocol.JobOfferClaim) {
	b.ReportAllocs()
	ctx := context.Background()
	var n int
	for b.Loop() {
		res, err := run(ctx, claim)
		if err != nil {
			b.Fatal(err)
		}
		n = len(res.JSON) + len(res.Data)
	}
	b.SetBytes(int64(n))
}

func BenchmarkSyntheticLLM(b *testing.B) {
	task := decodeTask(b, `{"kind":"llm","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Write one sentence about lighthouses at dusk, please."}]}`)
	benchRun(b, NewSynthetic().Run, claimFor("synthetic", task))
}

// BenchmarkMultiLLM is the path a session takes: routing plus the backend.
func BenchmarkMultiLLM(b *testing.B) {
	task := decodeTask(b, `{"kind":"llm","messages":[{"role":"user","content":"Write one sentence about lighthouses at dusk, please."}]}`)
	benchRun(b, NewMulti(NewSynthetic()).Run, claimFor("synthetic", task))
}

func BenchmarkSyntheticImage512(b *testing.B) {
	task := decodeTask(b, `{"kind":"image","prompt":"a lighthouse at dusk","width":512,"height":512,"ext":"png"}`)
	benchRun(b, NewSynthetic().Run, claimFor("synthetic", task))
}

func BenchmarkSyntheticTTS(b *testing.B) {
	task := decodeTask(b, `{"kind":"audio_tts","text":"hello there"}`)
	benchRun(b, NewSynthetic().Run, claimFor("synthetic", task))
}

func BenchmarkSyntheticVideoDefault(b *testing.B) {
	task := decodeTask(b, `{"kind":"video","prompt":"waves"}`)
	benchRun(b, NewSynthetic().Run, claimFor("synthetic", task))
}
