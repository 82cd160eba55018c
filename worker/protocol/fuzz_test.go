package protocol_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// addSeeds gives both fuzzers every golden frame (both directions, so each
// also sees the other side's types) plus input a broken or hostile peer sends.
// `go test` without -fuzz runs exactly these, so they are CI tests too.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no golden files")
	}
	for _, file := range files {
		f.Add(readGolden(f, strings.TrimSuffix(filepath.Base(file), ".json")))
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	blob := make([]byte, 512)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	for _, s := range []string{
		``, ` `, `null`, `[]`, `{}`, `""`, `0`, `true`, `{"type":""}`, `{"type":null}`, `{"type":["offer"]}`,
		"\x00", "\xef\xbb\xbf{\"type\":\"welcome\"}",
		`{"type":"welcome","workerId":"` + "\xff\xfe\xfd" + `","serverTime":"\ud800"}`,
		`{"type":"heartbeat","capabilities":{"vramTotalGb":1e999}}`,
		`{"type":"heartbeat","capabilities":{"vramTotalGb":123456789012345678901234567890123456789}}`,
		`{"type":"offer","claim":{"jobId":"j","vramGbEstimate":-1e-400,"task":{"kind":"image","steps":99999999999999999999,"seed":-9223372036854775808},"modelSource":{}}}`,
		`{"type":"offer","claim":{"jobId":"j","task":{"kind":"llm","messages":[null,{}],"stop":[],"jsonSchema":null,"reasoning":{ "a" : [ 1 , 2 ] }},"modelSource":{"files":null,"cliDefaults":{"chatTemplateKwargs":"<&>"}}}}`,
		`{"type":"offer","claim":{"jobId":"j","task":null,"task":{"kind":"video"},"modelSource":{}}}`,
		`{"type":"offer","claim":{"jobId":"a","task":{"kind":"audio_tts"},"modelSource":{}},"claim":{"jobId":"b"}}`,
		`{"TYPE":"offer","CLAIM":{"JOBID":"j","TASK":{"KIND":"audio_stt"},"MODELSOURCE":{}}}`,
		`{"type":"welcome","type":"error","code":"auth_failed"}`,
		`{"type":"completeJson","jobId":"j","result":` + deep + `}`,
		`{"type":"offer","claim":{"jobId":"j","task":{"kind":"llm","jsonSchema":` + deep + `},"modelSource":{}}}`,
		deep,
		`{"type":"logBatch","entries":[{"ts":"2026-11-29T12:34:56.123456789+05:30","level":"debug"},null]}`,
		`{"type":"completeJson","jobId":"j","result":"\u2028<script>&"}`,
		string(blob),
	} {
		f.Add([]byte(s))
	}
}

func FuzzDecodeServer(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := protocol.DecodeServer(b)
		if err != nil {
			checkDecodeFailure(t, fr, err, true)
			return
		}
		enc := checkEncodes(t, fr)
		again, err := protocol.DecodeServer(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		checkStable(t, fr, again, enc)
	})
}

func FuzzDecodeWorker(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := protocol.DecodeWorker(b)
		if err != nil {
			checkDecodeFailure(t, fr, err, false)
			return
		}
		enc := checkEncodes(t, fr)
		again, err := protocol.DecodeWorker(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		checkStable(t, fr, again, enc)
	})
}

// checkDecodeFailure: every failure is classified, so the session can choose
// between "answer fail" and "drop the session" without string matching.
func checkDecodeFailure(t *testing.T, fr protocol.Frame, err error, server bool) {
	t.Helper()
	var ie *protocol.InvalidOfferError
	if server && errors.As(err, &ie) {
		o, ok := fr.(*protocol.Offer)
		if !ok || o == nil {
			t.Fatalf("InvalidOfferError without a partial *Offer (got %T)", fr)
		}
		if ie.JobID == "" || o.Claim.JobID != ie.JobID {
			t.Fatalf("InvalidOfferError job %q, partial offer job %q", ie.JobID, o.Claim.JobID)
		}
		return
	}
	var de *protocol.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("unclassified error %T: %v", err, err)
	}
	if fr != nil && !reflect.ValueOf(fr).IsNil() {
		t.Fatalf("frame %T returned with DecodeError %v", fr, err)
	}
	_ = err.Error()
}

func checkEncodes(t *testing.T, fr protocol.Frame) []byte {
	t.Helper()
	if fr == nil || reflect.ValueOf(fr).IsNil() {
		t.Fatalf("nil frame without error")
	}
	enc, err := protocol.Encode(fr)
	if err != nil {
		t.Fatalf("Encode(%#v) of a decoded frame: %v", fr, err)
	}
	if !bytes.HasPrefix(enc, []byte(`{"type":"`+fr.FrameType()+`"`)) {
		t.Fatalf("type is not the first key: %s", enc)
	}
	return enc
}

// checkStable: decode(encode(x)) equals x up to normalize, and encoding is a
// fixed point after one trip.
func checkStable(t *testing.T, first, again protocol.Frame, enc []byte) {
	t.Helper()
	if a, b := normalize(t, first), normalize(t, again); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the frame\nfirst: %#v\nagain: %#v\nwire: %s", a, b, enc)
	}
	enc2, err := protocol.Encode(again)
	if err != nil {
		t.Fatalf("second Encode: %v", err)
	}
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable\n 1st: %s\n 2nd: %s", enc, enc2)
	}
}
