package protocol_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

const okSource = `"modelSource":{"engine":"synthetic","files":[],"cliDefaults":{"cfgScale":1.0,"steps":8,"width":1024,"height":1024}}`

// TestDecodeAcceptsWhatTheStudioSends covers the studio's own test literals
// and forward-compatible additions (spec §2.5: accept what the studio sends).
func TestDecodeAcceptsWhatTheStudioSends(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		server bool // DecodeServer, else DecodeWorker
		in     string
		want   protocol.Frame
	}{
		{
			name: "welcome serverTime now", server: true,
			in:   `{"type":"welcome","workerId":"w-1","serverTime":"now"}`,
			want: &protocol.Welcome{WorkerID: "w-1", ServerTime: "now"},
		},
		{
			name: "unknown fields everywhere", server: true,
			in: `{"type":"offer","v":2,"claim":{"jobId":"j1","gameId":"g","assetName":"a","model":"m","vramGbEstimate":1.5,"priority":9,` +
				`"task":{"kind":"audio_tts","text":"hi","emotion":"happy"},` +
				`"modelSource":{"engine":"synthetic","files":[{"role":"model","url":"u","filename":"f","mirror":"x"}],"cliDefaults":{"cfgScale":1,"steps":8,"width":1024,"height":1024,"tiling":true},"revision":3}}}`,
			want: &protocol.Offer{Claim: protocol.JobOfferClaim{
				JobID: "j1", GameID: "g", AssetName: "a", Model: "m", VRAMGbEstimate: 1.5,
				Task: protocol.Task{Kind: protocol.KindAudioTTS, TTS: &protocol.TTSTask{Text: "hi", Voice: "default", Ext: "wav"}},
				ModelSource: protocol.ModelSource{
					Engine:      "synthetic",
					Files:       []protocol.ModelFile{{Role: "model", URL: "u", Filename: "f"}},
					CliDefaults: protocol.CliDefaults{CfgScale: 1, Steps: 8, Width: 1024, Height: 1024},
				},
			}},
		},
		{
			// decisions.md: an engine this worker does not know is a terminal
			// fail later, not a parse error (the reference rejects the frame).
			name: "unknown engine and file role", server: true,
			in: `{"type":"offer","claim":{"jobId":"j2","task":{"kind":"image","prompt":"p"},` +
				`"modelSource":{"engine":"comfy-ui","files":[{"role":"controlnet","url":"u","filename":"f"}],"cliDefaults":{"cfgScale":1,"steps":8,"width":1024,"height":1024}}}}`,
			want: &protocol.Offer{Claim: protocol.JobOfferClaim{
				JobID: "j2",
				Task:  protocol.Task{Kind: protocol.KindImage, Image: &protocol.ImageTask{Prompt: "p", Width: 512, Height: 512, Steps: 20, Ext: "webp"}},
				ModelSource: protocol.ModelSource{
					Engine:      "comfy-ui",
					Files:       []protocol.ModelFile{{Role: "controlnet", URL: "u", Filename: "f"}},
					CliDefaults: protocol.CliDefaults{CfgScale: 1, Steps: 8, Width: 1024, Height: 1024},
				},
			}},
		},
		{
			name: "error with unknown code", server: true,
			in:   `{"type":"error","code":"rate_limited","message":"slow down","retryAfter":5}`,
			want: &protocol.Error{Code: "rate_limited", Message: "slow down"},
		},
		{
			name: "heartbeatAck with extras", server: true,
			in:   `{"type":"heartbeatAck","serverTime":"now"}`,
			want: &protocol.HeartbeatAck{},
		},
		{
			name: "heartbeat currentJobId null",
			in:   `{"type":"heartbeat","capabilities":{"machineName":"m","taskKinds":["image"]},"currentJobId":null}`,
			want: &protocol.Heartbeat{Capabilities: protocol.Capabilities{MachineName: "m", TaskKinds: []protocol.TaskKind{"image"}}},
		},
		{
			name: "log ts without millis",
			in:   `{"type":"logBatch","entries":[{"ts":"2026-11-29T12:34:56Z","level":"info","category":"ws","message":"m"}]}`,
			want: &protocol.LogBatch{Entries: []protocol.LogEntry{{TS: protocol.Timestamp{Time: ms(56, 0)}, Level: "info", Category: "ws", Message: "m"}}},
		},
		{
			name: "reject without code",
			in:   `{"type":"reject","jobId":"j","reason":"r"}`,
			want: &protocol.Reject{JobID: "j", Reason: "r"},
		},
		{
			name: "completeJson without prompt",
			in:   `{"type":"completeJson","jobId":"j","result":[1,2]}`,
			want: &protocol.CompleteJSON{JobID: "j", Result: json.RawMessage(`[1,2]`)},
		},
		{
			name: "readyForMore with extras",
			in:   `{"type":"readyForMore","jobId":"ignored"}`,
			want: &protocol.ReadyForMore{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got protocol.Frame
			var err error
			if tc.server {
				got, err = protocol.DecodeServer([]byte(tc.in))
			} else {
				got, err = protocol.DecodeWorker([]byte(tc.in))
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			assertFrameEqual(t, got, tc.want)
		})
	}
}

func TestHeartbeatCurrentJobIDOmittedNotNull(t *testing.T) {
	t.Parallel()
	enc, err := protocol.Encode(protocol.Heartbeat{Capabilities: fullCaps()})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["currentJobId"]; ok {
		t.Fatalf("currentJobId present as %s; must be absent when no job runs", v)
	}
	enc, err = protocol.Encode(protocol.Heartbeat{Capabilities: fullCaps(), CurrentJobID: "j"})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["currentJobId"]) != `"j"` {
		t.Fatalf("currentJobId = %s, want \"j\"", m["currentJobId"])
	}
}

func TestTimestampWire(t *testing.T) {
	t.Parallel()
	plus2 := time.FixedZone("+02", 2*3600)
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"utc millis", ms(56, 789), `"2026-11-29T12:34:56.789Z"`},
		{"whole second keeps .000", ms(56, 0), `"2026-11-29T12:34:56.000Z"`},
		{"offset converted to Z", time.Date(2026, 11, 29, 14, 34, 56, 5e6, plus2), `"2026-11-29T12:34:56.005Z"`},
		{"sub-millisecond truncated, not rounded", time.Date(2026, 11, 29, 12, 34, 56, 999_999_999, time.UTC), `"2026-11-29T12:34:56.999Z"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(protocol.Timestamp{Time: tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got %s, want %s", b, tc.want)
			}
		})
	}

	accepts := map[string]time.Time{
		`"2026-11-29T12:34:56Z"`:           ms(56, 0),
		`"2026-11-29T12:34:56.789Z"`:       ms(56, 789),
		`"2026-11-29T14:34:56.789+02:00"`:  ms(56, 789),
		`"2026-11-29T12:34:56.789123456Z"`: ms(56, 789).Add(123456),
		`"0000-01-01T00:00:00Z"`:           time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		`"9999-12-31T23:59:59.999Z"`:       time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
		`"0000-01-01T00:30:00-01:00"`:      time.Date(0, 1, 1, 1, 30, 0, 0, time.UTC),
	}
	for in, want := range accepts {
		var ts protocol.Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		if !ts.Equal(want) {
			t.Errorf("Unmarshal(%s) = %v, want %v", in, ts.Time, want)
		}
	}
	// The last two are valid RFC 3339 locally but fall outside 0000-9999 in
	// UTC, where the wire form could not be written back (found by reasoning
	// about FuzzDecodeWorker; the corpus in testdata/fuzz keeps them).
	for _, in := range []string{
		`"yesterday"`, `"2026-11-29 12:34:56"`, `1764419696`, `null`, `""`,
		`"0000-01-01T00:30:00+01:00"`, `"9999-12-31T23:30:00-01:00"`,
	} {
		var ts protocol.Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err == nil {
			t.Errorf("Unmarshal(%s) accepted %v", in, ts.Time)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	type decoder func([]byte) (protocol.Frame, error)
	server := func(b []byte) (protocol.Frame, error) { return protocol.DecodeServer(b) }
	worker := func(b []byte) (protocol.Frame, error) { return protocol.DecodeWorker(b) }
	cases := []struct {
		name     string
		decode   decoder
		in       string
		wantType string // DecodeError.Type
		unknown  bool   // errors.Is ErrUnknownType
	}{
		{"server: not JSON", server, `hello`, "", false},
		{"server: empty", server, ``, "", false},
		{"server: truncated", server, `{"type":"welcome"`, "", false},
		{"server: array", server, `[]`, "", false},
		{"server: null", server, `null`, "", false},
		{"server: missing type", server, `{"workerId":"w"}`, "", false},
		{"server: type null", server, `{"type":null}`, "", false},
		{"server: type not a string", server, `{"type":7}`, "", false},
		{"server: unknown type", server, `{"type":"welcomeBack"}`, "welcomeBack", true},
		{"server: worker frame type", server, `{"type":"hello","authToken":"t"}`, "hello", true},
		{"server: wrong field type", server, `{"type":"welcome","workerId":5}`, "welcome", false},
		{"server: error code not a string", server, `{"type":"error","code":1}`, "error", false},
		{"server: offer without claim", server, `{"type":"offer"}`, "offer", false},
		{"server: offer claim null", server, `{"type":"offer","claim":null}`, "offer", false},
		{"server: offer claim not an object", server, `{"type":"offer","claim":"j"}`, "offer", false},
		{"server: offer without jobId", server, `{"type":"offer","claim":{"task":{"kind":"image","prompt":"p"},` + okSource + `}}`, "offer", false},
		{"server: offer empty jobId", server, `{"type":"offer","claim":{"jobId":"","task":{"kind":"image"},` + okSource + `}}`, "offer", false},
		{"worker: not JSON", worker, `{`, "", false},
		{"worker: missing type", worker, `{}`, "", false},
		{"worker: unknown type", worker, `{"type":"goodbye"}`, "goodbye", true},
		{"worker: server frame type", worker, `{"type":"welcome"}`, "welcome", true},
		{"worker: type case matters", worker, `{"type":"Hello"}`, "Hello", true},
		{"worker: bad log ts", worker, `{"type":"logBatch","entries":[{"ts":"yesterday","level":"info","category":"c","message":"m"}]}`, "logBatch", false},
		{"worker: retryable not bool", worker, `{"type":"fail","jobId":"j","error":"e","retryable":"yes"}`, "fail", false},
		{"worker: result not JSON-typed", worker, `{"type":"completeJson","jobId":"j","result":}`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := tc.decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("decoded %#v, want error", f)
			}
			if f != nil && !reflect.ValueOf(f).IsNil() {
				t.Fatalf("frame %#v returned with error %v", f, err)
			}
			var de *protocol.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if de.Type != tc.wantType {
				t.Fatalf("DecodeError.Type = %q, want %q (%v)", de.Type, tc.wantType, err)
			}
			if got := errors.Is(err, protocol.ErrUnknownType); got != tc.unknown {
				t.Fatalf("errors.Is(err, ErrUnknownType) = %v, want %v (%v)", got, tc.unknown, err)
			}
			var ie *protocol.InvalidOfferError
			if errors.As(err, &ie) {
				t.Fatalf("unexpected *InvalidOfferError in %v", err)
			}
			if de.Err == nil || errors.Unwrap(err) != de.Err {
				t.Fatalf("DecodeError does not unwrap to its cause: %v", err)
			}
			if tc.wantType != "" && !strings.Contains(err.Error(), `"`+tc.wantType+`"`) {
				t.Fatalf("error %q does not name the frame type", err)
			}
		})
	}
}

// TestInvalidOffer: an offer that names its job but cannot run is returned
// partially (so the worker can answer fail retryable:false) with an
// *InvalidOfferError, never a *DecodeError (which would drop the session).
func TestInvalidOffer(t *testing.T) {
	t.Parallel()
	task := `"task":{"kind":"image","prompt":"p"}`
	cases := []struct {
		name       string
		claim      string
		wantReason string // substring of Reason
	}{
		{"no task", `"jobId":"j1",` + okSource, `missing "task"`},
		{"task null", `"jobId":"j1","task":null,` + okSource, `missing "task"`},
		{"no modelSource", `"jobId":"j1",` + task, `missing "modelSource"`},
		{"modelSource null", `"jobId":"j1",` + task + `,"modelSource":null`, `missing "modelSource"`},
		{"neither", `"jobId":"j1"`, `missing "task"`},
		{"unknown kind", `"jobId":"j1","task":{"kind":"3d_mesh","prompt":"p"},` + okSource, `unknown kind "3d_mesh"`},
		{"task without kind", `"jobId":"j1","task":{"prompt":"p"},` + okSource, `missing "kind"`},
		{"task not an object", `"jobId":"j1","task":"draw a cat",` + okSource, "task"},
		{"bad task field", `"jobId":"j1","task":{"kind":"image","width":"wide"},` + okSource, "task image"},
		{"bad modelSource", `"jobId":"j1",` + task + `,"modelSource":{"engine":7}`, "modelSource"},
		{"bad sibling field", `"jobId":"j1","vramGbEstimate":"lots",` + task + `,` + okSource, "vramGbEstimate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := protocol.DecodeServer([]byte(`{"type":"offer","claim":{` + tc.claim + `}}`))
			var ie *protocol.InvalidOfferError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v, want *InvalidOfferError", err, err)
			}
			var de *protocol.DecodeError
			if errors.As(err, &de) {
				t.Fatalf("invalid offer also reported as *DecodeError: %v", err)
			}
			if ie.JobID != "j1" {
				t.Fatalf("InvalidOfferError.JobID = %q", ie.JobID)
			}
			if !strings.Contains(ie.Reason, tc.wantReason) {
				t.Fatalf("Reason %q does not contain %q", ie.Reason, tc.wantReason)
			}
			if !strings.Contains(err.Error(), `"j1"`) {
				t.Fatalf("Error() %q does not name the job", err)
			}
			o, ok := f.(*protocol.Offer)
			if !ok {
				t.Fatalf("partial frame is %T, want *protocol.Offer", f)
			}
			if want := (&protocol.Offer{Claim: protocol.JobOfferClaim{JobID: "j1"}}); !reflect.DeepEqual(o, want) {
				t.Fatalf("partial offer = %+v, want only the job id", o)
			}
		})
	}
}

func TestTaskMarshalErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		task protocol.Task
		want string
	}{
		{"unknown kind", protocol.Task{Kind: "3d_mesh", Image: &protocol.ImageTask{Prompt: "p"}}, `unknown kind "3d_mesh"`},
		{"empty kind", protocol.Task{Image: &protocol.ImageTask{Prompt: "p"}}, `unknown kind ""`},
		{"kind without body", protocol.Task{Kind: protocol.KindLLM}, "no llm fields"},
		{"kind with other body", protocol.Task{Kind: protocol.KindVideo, Image: &protocol.ImageTask{}}, "no video fields"},
		{"bad raw json inside", protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{JSONSchema: json.RawMessage(`{`)}}, "task llm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if b, err := tc.task.MarshalJSON(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("MarshalJSON = %s, %v; want error containing %q", b, err, tc.want)
			}
			// Through Encode the failure surfaces with the frame named.
			o := protocol.Offer{Claim: protocol.JobOfferClaim{JobID: "j", Task: tc.task}}
			if b, err := protocol.Encode(o); err == nil || !strings.Contains(err.Error(), "encode offer frame") {
				t.Fatalf("Encode = %s, %v; want an encode offer error", b, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		frame protocol.Frame
	}{
		{"result not JSON", protocol.CompleteJSON{JobID: "j", Result: json.RawMessage(`{"a":`)}},
		{"nil interface", nil},
		{"nil pointer", (*protocol.Heartbeat)(nil)},
		{"log ts past year 9999", protocol.LogBatch{Entries: []protocol.LogEntry{{TS: protocol.Timestamp{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}}},
		{"log ts before year 0", protocol.LogBatch{Entries: []protocol.LogEntry{{TS: protocol.Timestamp{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := protocol.Encode(tc.frame)
			if err == nil {
				t.Fatalf("Encode = %s, want error", b)
			}
			if b != nil {
				t.Fatalf("Encode returned bytes %q with error %v", b, err)
			}
		})
	}
}

func TestTaskPrompt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		task protocol.Task
		want string
	}{
		{"image", protocol.Task{Kind: protocol.KindImage, Image: &protocol.ImageTask{Prompt: "a cat", NegativePrompt: "dog"}}, "a cat"},
		{"llm last message", protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{
			System:   "sys",
			Messages: []protocol.ChatMessage{{Role: "user", Content: "first"}, {Role: "assistant", Content: "mid"}, {Role: "user", Content: "last"}},
		}}, "last"},
		{"llm last message even if not user", protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{
			Messages: []protocol.ChatMessage{{Role: "user", Content: "q"}, {Role: "assistant", Content: "prefill"}},
		}}, "prefill"},
		{"llm no messages", protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{System: "sys"}}, ""},
		{"llm empty messages", protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{Messages: []protocol.ChatMessage{}}}, ""},
		{"stt is the input url", protocol.Task{Kind: protocol.KindAudioSTT, STT: &protocol.STTTask{InputURL: "https://x/in.wav", Prompt: "hint"}}, "https://x/in.wav"},
		{"tts text", protocol.Task{Kind: protocol.KindAudioTTS, TTS: &protocol.TTSTask{Text: "hello there", Voice: "v"}}, "hello there"},
		{"video", protocol.Task{Kind: protocol.KindVideo, Video: &protocol.VideoTask{Prompt: "waves"}}, "waves"},
		{"zero task", protocol.Task{}, ""},
		{"kind without body", protocol.Task{Kind: protocol.KindImage}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.task.Prompt(); got != tc.want {
				t.Fatalf("Prompt() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPromptOfDecodedOffers ties Prompt to what the studio stores for each
// canonical golden offer (spec §2.5).
func TestPromptOfDecodedOffers(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"offer_image":     "a knight in silver armour, pixel art",
		"offer_llm":       "Describe the knight in one line.",
		"offer_audio_stt": "https://studio.minis.gg/uploads/line3.wav",
		"offer_audio_tts": "Welcome, traveller.",
		"offer_video":     "a torch flickering on a stone wall",
	}
	for file, prompt := range want {
		f, err := protocol.DecodeServer(readGolden(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if got := f.(*protocol.Offer).Claim.Task.Prompt(); got != prompt {
			t.Errorf("%s: Prompt() = %q, want %q", file, got, prompt)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	numbers := map[protocol.CloseCode]int{
		protocol.CloseNormal:            1000,
		protocol.CloseAuthFailed:        4001,
		protocol.CloseProtocolViolation: 4002,
		protocol.CloseDuplicateWorker:   4003,
		protocol.CloseWorkerDeleted:     4004,
	}
	for c, n := range numbers {
		if int(c) != n {
			t.Errorf("close code %d, want %d", int(c), n)
		}
	}
	mapping := []struct {
		code protocol.ErrorCode
		wire string
		want protocol.CloseCode
	}{
		{protocol.ErrAuthFailed, "auth_failed", 4001},
		{protocol.ErrProtocolViolation, "protocol_violation", 4002},
		{protocol.ErrDuplicateWorker, "duplicate_worker", 4003},
		{protocol.ErrWorkerDeleted, "worker_deleted", 4004},
		{protocol.ErrInternalError, "internal_error", 1000},
		{"something_new", "something_new", 1000},
		{"", "", 1000},
	}
	for _, tc := range mapping {
		if string(tc.code) != tc.wire {
			t.Errorf("error code %q, want wire string %q", tc.code, tc.wire)
		}
		if got := protocol.CloseCodeFor(tc.code); got != tc.want {
			t.Errorf("CloseCodeFor(%q) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

// TestWireConstants pins the tag strings and enums the studio matches on.
func TestWireConstants(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{protocol.TypeHello, "hello"}, {protocol.TypeHeartbeat, "heartbeat"}, {protocol.TypeAccept, "accept"},
		{protocol.TypeReject, "reject"}, {protocol.TypeCompleteJSON, "completeJson"}, {protocol.TypeFail, "fail"},
		{protocol.TypeLogBatch, "logBatch"}, {protocol.TypeReadyForMore, "readyForMore"}, {protocol.TypeWelcome, "welcome"},
		{protocol.TypeOffer, "offer"}, {protocol.TypeHeartbeatAck, "heartbeatAck"}, {protocol.TypeCompleteAck, "completeAck"},
		{protocol.TypeFailAck, "failAck"}, {protocol.TypeError, "error"},
		{protocol.Subprotocol, "studio-worker-v1"}, {protocol.APIPrefix, "/graphics/api"},
		{string(protocol.RejectBusy), "busy"}, {string(protocol.RejectPaused), "paused"},
		{string(protocol.LevelInfo), "info"}, {string(protocol.LevelWarn), "warn"}, {string(protocol.LevelError), "error"},
		{protocol.ReasonBusy, "worker already has an in-flight job"}, {protocol.ReasonPaused, "worker paused by operator"},
		{protocol.EngineSDCpp, "sd-cpp"}, {protocol.EngineLlamaCpp, "llama-cpp"}, {protocol.EngineONNX, "onnx"},
		{protocol.EngineParakeet, "parakeet"}, {protocol.EngineSynthetic, "synthetic"},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("constant %q, want %q", p[0], p[1])
		}
	}
	kinds := []protocol.TaskKind{"image", "llm", "audio_stt", "audio_tts", "video"}
	if !reflect.DeepEqual(protocol.AllKinds, kinds) {
		t.Errorf("AllKinds = %v, want %v", protocol.AllKinds, kinds)
	}
}

// TestErrorsDoNotEchoSecrets: a hello the studio double cannot parse must not
// put the token into the error (which gets logged).
func TestErrorsDoNotEchoSecrets(t *testing.T) {
	t.Parallel()
	const token = "tok-SECRET-abc123"
	for _, in := range []string{
		`{"type":"hello","authToken":"` + token + `","capabilities":7}`,
		`{"type":"hello","authToken":"` + token + `","capabilities":{"vramTotalGb":"big"}}`,
		`{"type":"hello","capabilities":{},"authToken":["` + token + `"]}`,
		`{"type":"hello","authToken":"` + token + `",}`,
	} {
		_, err := protocol.DecodeWorker([]byte(in))
		if err == nil {
			t.Fatalf("decoded %s", in)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("error echoes the token: %v", err)
		}
	}
}
