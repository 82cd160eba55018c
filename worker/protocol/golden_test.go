package protocol_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// The golden files in testdata/golden are literal JSON in the shape of the
// studio's TypeScript contract (WorkerInbound / WorkerOutbound). They are
// written by hand from the spec, never generated from this package, so a
// change to a struct tag or an omitempty breaks these tests.

func ptr[T any](v T) *T { return &v }

func fullCaps() protocol.Capabilities {
	return protocol.Capabilities{
		MachineName:     "render-box-01",
		Username:        "ada",
		AgentVersion:    "0.5.0",
		Engine:          "multi",
		VRAMTotalGb:     24,
		VRAMThresholdGb: 12.5,
		AutoEnabled:     true,
		AutoStart:       false,
		AutoUpdate:      true,
		StartMinimised:  false,
		OnlyWhenIdle:    true,
		SupportedModels: []string{"flux-schnell", "qwen3-8b", "synthetic-image", "whisper-small"},
		TaskKinds:       []protocol.TaskKind{protocol.KindImage, protocol.KindLLM, protocol.KindAudioSTT, protocol.KindAudioTTS, protocol.KindVideo},
		SupportedModelsPerKind: map[protocol.TaskKind][]string{
			protocol.KindImage:    {"flux-schnell", "synthetic-image"},
			protocol.KindLLM:      {"qwen3-8b"},
			protocol.KindAudioSTT: {"whisper-small"},
			protocol.KindAudioTTS: {},
			protocol.KindVideo:    {"synthetic-video"},
		},
	}
}

func presenceCaps() protocol.Capabilities {
	return protocol.Capabilities{
		MachineName:            "render-box-01",
		Username:               "ada",
		AgentVersion:           "0.5.0",
		Engine:                 "multi",
		VRAMTotalGb:            24,
		VRAMThresholdGb:        12.5,
		AutoEnabled:            false,
		AutoStart:              true,
		AutoUpdate:             false,
		StartMinimised:         true,
		OnlyWhenIdle:           true,
		UserPresence:           "active",
		SupportedModels:        []string{"synthetic-image"},
		TaskKinds:              []protocol.TaskKind{protocol.KindImage},
		SupportedModelsPerKind: map[protocol.TaskKind][]string{protocol.KindImage: {"synthetic-image"}},
	}
}

// studioCliDefaults is what the studio always sends in modelSource.cliDefaults
// (spec §2.5).
func studioCliDefaults() protocol.CliDefaults {
	return protocol.CliDefaults{CfgScale: 1, Steps: 8, Width: 1024, Height: 1024}
}

func syntheticSource() protocol.ModelSource {
	return protocol.ModelSource{Engine: protocol.EngineSynthetic, Files: []protocol.ModelFile{}, CliDefaults: studioCliDefaults()}
}

func ms(sec, milli int) time.Time {
	return time.Date(2026, 11, 29, 12, 34, sec, milli*int(time.Millisecond), time.UTC)
}

type golden struct {
	file  string         // testdata/golden/<file>.json
	frame protocol.Frame // the decoded value, as a pointer like Decode* returns it
	// canonical: the file is exactly what Encode(frame) must produce (compared
	// semantically). False for studio input that leans on defaults.
	canonical bool
}

var workerGoldens = []golden{
	{"hello", &protocol.Hello{AuthToken: "tok-5f1e0c7a", Capabilities: fullCaps()}, true},
	{"hello_presence", &protocol.Hello{AuthToken: "tok-5f1e0c7a", Capabilities: presenceCaps()}, true},
	{"heartbeat_job", &protocol.Heartbeat{Capabilities: fullCaps(), CurrentJobID: "job-42"}, true},
	{"heartbeat_idle", &protocol.Heartbeat{Capabilities: presenceCaps()}, true},
	{"accept", &protocol.Accept{JobID: "job-42"}, true},
	{"reject_busy", &protocol.Reject{JobID: "job-43", Reason: protocol.ReasonBusy, Code: protocol.RejectBusy}, true},
	{"reject_paused", &protocol.Reject{JobID: "job-44", Reason: protocol.ReasonPaused, Code: protocol.RejectPaused}, true},
	{"reject_idle_only", &protocol.Reject{JobID: "job-45", Reason: "only when idle: the person is using this computer", Code: protocol.RejectPaused}, true},
	{"reject_legacy", &protocol.Reject{JobID: "job-46", Reason: "model not available"}, true},
	{"complete_json", &protocol.CompleteJSON{
		JobID:  "job-42",
		Result: json.RawMessage(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"A <b>bold</b> & brave knight."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7}}`),
		Prompt: "Describe the knight in one line.",
	}, true},
	{"complete_json_no_prompt", &protocol.CompleteJSON{
		JobID:  "job-47",
		Result: json.RawMessage(`{"text":"","language":"en","duration":0.5,"segments":[]}`),
		Prompt: "",
	}, true},
	{"fail_retryable", &protocol.Fail{JobID: "job-42", Error: "upload failed after 3 attempts: 502 Bad Gateway", Retryable: true}, true},
	{"fail_terminal", &protocol.Fail{JobID: "job-48", Error: "no `sd-cpp` engine in this worker (model `flux-schnell` requires it)", Retryable: false}, true},
	{"log_batch", &protocol.LogBatch{Entries: []protocol.LogEntry{
		{TS: protocol.Timestamp{Time: ms(56, 789)}, Level: protocol.LevelInfo, Category: "ws", Message: "server welcomed w-123 server_time=now"},
		{TS: protocol.Timestamp{Time: ms(57, 0)}, Level: protocol.LevelWarn, Category: "engine", Message: "slow download", JobID: "job-42"},
		{TS: protocol.Timestamp{Time: ms(58, 1)}, Level: protocol.LevelError, Category: "logs", Message: "ship queue full (5000 entries); dropped 3 oldest"},
	}}, true},
	{"ready_for_more", &protocol.ReadyForMore{}, true},
}

var serverGoldens = []golden{
	{"welcome", &protocol.Welcome{WorkerID: "w-123", ServerTime: "2026-11-29T12:34:56.789Z"}, true},
	{"offer_image", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-42", GameID: "game-7", AssetName: "hero_portrait", Model: "flux-schnell", VRAMGbEstimate: 9.5,
		Task: protocol.Task{Kind: protocol.KindImage, Image: &protocol.ImageTask{
			Prompt:         "a knight in silver armour, pixel art",
			NegativePrompt: "blurry",
			InitImageURL:   "https://studio.minis.gg/assets/init.png",
			MaskURL:        "https://studio.minis.gg/assets/mask.png",
			RefImageURL:    "https://studio.minis.gg/assets/ref.png",
			Denoise:        ptr(0.65),
			CfgScale:       ptr(3.5),
			SamplingMethod: "euler_a",
			Width:          1024, Height: 768, Steps: 8,
			Seed: ptr(int64(1234567890123)),
			Ext:  "png",
		}},
		ModelSource: protocol.ModelSource{
			Engine: protocol.EngineSDCpp,
			Files: []protocol.ModelFile{
				{Role: "diffusion-model", URL: "https://models.minis.gg/flux-schnell-q4.gguf", Filename: "flux-schnell-q4.gguf", ApproxBytes: ptr(int64(6800000000)), SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
				{Role: "vae", URL: "https://models.minis.gg/ae.safetensors", Filename: "ae.safetensors"},
			},
			CliDefaults: protocol.CliDefaults{
				CfgScale: 1, Steps: 8, Width: 1024, Height: 1024,
				SamplingMethod:     "euler",
				FlowShift:          ptr(3.0),
				ZeroCondT:          ptr(true),
				OffloadToCPU:       ptr(false),
				ContextSize:        ptr(4096),
				ChatTemplateKwargs: json.RawMessage(`{"enable_thinking": false}`),
			},
		},
	}}, true},
	{"offer_llm", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-50", GameID: "game-7", AssetName: "npc_dialogue", Model: "qwen3-8b", VRAMGbEstimate: 6,
		Task: protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{
			Messages: []protocol.ChatMessage{
				{Role: "user", Content: "Who guards the gate?"},
				{Role: "assistant", Content: "A knight."},
				{Role: "user", Content: "Describe the knight in one line."},
			},
			System:             "You write terse fantasy dialogue.",
			MaxTokens:          256,
			Temperature:        0.2,
			TopP:               ptr(0.9),
			Stop:               []string{"\n\n", "END"},
			JSONSchema:         json.RawMessage(`{"type": "object", "properties": {"line": {"type": "string"}}, "required": ["line"]}`),
			Reasoning:          json.RawMessage(`{"effort": "low"}`),
			ChatTemplateKwargs: json.RawMessage(`{"enable_thinking": false}`),
		}},
		ModelSource: protocol.ModelSource{
			Engine: protocol.EngineLlamaCpp,
			Files: []protocol.ModelFile{
				{Role: "model", URL: "https://models.minis.gg/qwen3-8b-q4_k_m.gguf", Filename: "qwen3-8b-q4_k_m.gguf", ApproxBytes: ptr(int64(5000000000))},
			},
			CliDefaults: protocol.CliDefaults{CfgScale: 1, Steps: 8, Width: 1024, Height: 1024, ContextSize: ptr(8192)},
		},
	}}, true},
	{"offer_audio_stt", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-51", GameID: "game-7", AssetName: "voice_line_3", Model: "whisper-small", VRAMGbEstimate: 1.25,
		Task: protocol.Task{Kind: protocol.KindAudioSTT, STT: &protocol.STTTask{
			InputURL:   "https://studio.minis.gg/uploads/line3.wav",
			Language:   "en",
			Translate:  ptr(false),
			Prompt:     "Sir Galahad",
			VAD:        ptr(true),
			Timestamps: "word",
		}},
		ModelSource: protocol.ModelSource{
			Engine: protocol.EngineONNX,
			Files: []protocol.ModelFile{
				{Role: "model", URL: "https://models.minis.gg/whisper-small.onnx", Filename: "whisper-small.onnx", SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
			},
			CliDefaults: studioCliDefaults(),
		},
	}}, true},
	{"offer_audio_tts", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-52", GameID: "game-7", AssetName: "narrator_intro", Model: "kokoro", VRAMGbEstimate: 0.5,
		Task: protocol.Task{Kind: protocol.KindAudioTTS, TTS: &protocol.TTSTask{
			Text: "Welcome, traveller.", Voice: "af_bella", Speed: ptr(1.1), Language: "en-GB", Ext: "wav",
		}},
		ModelSource: protocol.ModelSource{
			Engine:      protocol.EngineONNX,
			Files:       []protocol.ModelFile{{Role: "model", URL: "https://models.minis.gg/kokoro.onnx", Filename: "kokoro.onnx"}},
			CliDefaults: studioCliDefaults(),
		},
	}}, true},
	{"offer_video", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-53", GameID: "game-7", AssetName: "torch_flicker", Model: "synthetic-video", VRAMGbEstimate: 0,
		Task: protocol.Task{Kind: protocol.KindVideo, Video: &protocol.VideoTask{
			Prompt: "a torch flickering on a stone wall", NegativePrompt: "people",
			InitImageURL: "https://studio.minis.gg/assets/wall.png",
			Seconds:      1.5, FPS: ptr(12), Width: 320, Height: 240, Ext: "gif",
		}},
		ModelSource: syntheticSource(),
	}}, true},
	// Defaults (spec §7.1) fill what the studio leaves out.
	{"offer_image_defaults", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-60", GameID: "g", AssetName: "a", Model: "synthetic-image",
		Task:        protocol.Task{Kind: protocol.KindImage, Image: &protocol.ImageTask{Prompt: "a red square", Width: 512, Height: 512, Steps: 20, Ext: "webp"}},
		ModelSource: syntheticSource(),
	}}, false},
	{"offer_llm_defaults", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-61", GameID: "g", AssetName: "a", Model: "synthetic-llm",
		Task:        protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{Messages: []protocol.ChatMessage{{Role: "user", Content: "hi"}}, MaxTokens: 512, Temperature: 0.7}},
		ModelSource: syntheticSource(),
	}}, false},
	{"offer_audio_stt_minimal", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-62", GameID: "g", AssetName: "a", Model: "synthetic-stt",
		Task:        protocol.Task{Kind: protocol.KindAudioSTT, STT: &protocol.STTTask{InputURL: "http://127.0.0.1:9/in.wav"}},
		ModelSource: syntheticSource(),
	}}, true},
	{"offer_audio_tts_defaults", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-63", GameID: "g", AssetName: "a", Model: "synthetic-tts",
		Task:        protocol.Task{Kind: protocol.KindAudioTTS, TTS: &protocol.TTSTask{Text: "hello", Voice: "default", Ext: "wav"}},
		ModelSource: syntheticSource(),
	}}, false},
	{"offer_video_defaults", &protocol.Offer{Claim: protocol.JobOfferClaim{
		JobID: "job-64", GameID: "g", AssetName: "a", Model: "synthetic-video",
		Task:        protocol.Task{Kind: protocol.KindVideo, Video: &protocol.VideoTask{Prompt: "waves", Seconds: 2, Width: 512, Height: 512, Ext: "mp4"}},
		ModelSource: syntheticSource(),
	}}, false},
	{"heartbeat_ack", &protocol.HeartbeatAck{}, true},
	{"complete_ack", &protocol.CompleteAck{JobID: "job-42"}, true},
	{"fail_ack", &protocol.FailAck{JobID: "job-48"}, true},
	{"error_auth_failed", &protocol.Error{Code: protocol.ErrAuthFailed, Message: "studio says auth_failed"}, true},
	{"error_protocol_violation", &protocol.Error{Code: protocol.ErrProtocolViolation, Message: "studio says protocol_violation"}, true},
	{"error_duplicate_worker", &protocol.Error{Code: protocol.ErrDuplicateWorker, Message: "studio says duplicate_worker"}, true},
	{"error_worker_deleted", &protocol.Error{Code: protocol.ErrWorkerDeleted, Message: "studio says worker_deleted"}, true},
	{"error_internal_error", &protocol.Error{Code: protocol.ErrInternalError, Message: "studio says internal_error"}, true},
}

func readGolden(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// assertSameJSON compares two JSON documents by meaning (key order and
// whitespace ignored; numbers as float64).
func assertSameJSON(tb testing.TB, got, want []byte) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		tb.Fatalf("JSON differs\n got: %s\nwant: %s", gi, wi)
	}
}

// assertTypeFirst checks the "type" tag is the very first key, as the studio's
// tagged-union parser and humans reading logs expect.
func assertTypeFirst(tb testing.TB, enc []byte, typ string) {
	tb.Helper()
	prefix := `{"type":"` + typ + `"`
	if !bytes.HasPrefix(enc, []byte(prefix)) {
		tb.Fatalf("encoded frame does not start with %s:\n%s", prefix, enc)
	}
}

func TestGoldenWorkerFrames(t *testing.T) {
	t.Parallel()
	for _, tc := range workerGoldens {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			want := readGolden(t, tc.file)

			enc, err := protocol.Encode(tc.frame)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			assertTypeFirst(t, enc, tc.frame.FrameType())
			assertSameJSON(t, enc, want)

			got, err := protocol.DecodeWorker(want)
			if err != nil {
				t.Fatalf("DecodeWorker(golden): %v", err)
			}
			assertFrameEqual(t, got, tc.frame)

			// And the bytes we send decode back to the same frame.
			again, err := protocol.DecodeWorker(enc)
			if err != nil {
				t.Fatalf("DecodeWorker(Encode): %v", err)
			}
			assertFrameEqual(t, again, tc.frame)
		})
	}
}

func TestGoldenServerFrames(t *testing.T) {
	t.Parallel()
	for _, tc := range serverGoldens {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			in := readGolden(t, tc.file)

			got, err := protocol.DecodeServer(in)
			if err != nil {
				t.Fatalf("DecodeServer(golden): %v", err)
			}
			assertFrameEqual(t, got, tc.frame)

			// The studio double encodes these frames: they must match the
			// contract too, and survive the trip back.
			enc, err := protocol.Encode(tc.frame)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			assertTypeFirst(t, enc, tc.frame.FrameType())
			if tc.canonical {
				assertSameJSON(t, enc, in)
			}
			if o, ok := tc.frame.(*protocol.Offer); ok {
				kindFirst := `"task":{"kind":"` + string(o.Claim.Task.Kind) + `"`
				if !bytes.Contains(enc, []byte(kindFirst)) {
					t.Fatalf("task kind is not the first key of task (%s):\n%s", kindFirst, enc)
				}
			}
			again, err := protocol.DecodeServer(enc)
			if err != nil {
				t.Fatalf("DecodeServer(Encode): %v", err)
			}
			assertFrameEqual(t, again, tc.frame)
		})
	}
}

// TestDefaultsAreEncodedExplicitly pins that an offer decoded with defaults
// re-encodes with the defaulted values on the wire (the studio double sends
// what the worker would run).
func TestDefaultsAreEncodedExplicitly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		task string // the expected encoded task object
	}{
		{"offer_image_defaults", `{"kind":"image","prompt":"a red square","width":512,"height":512,"steps":20,"ext":"webp"}`},
		{"offer_llm_defaults", `{"kind":"llm","messages":[{"role":"user","content":"hi"}],"maxTokens":512,"temperature":0.7}`},
		{"offer_audio_tts_defaults", `{"kind":"audio_tts","text":"hello","voice":"default","ext":"wav"}`},
		{"offer_video_defaults", `{"kind":"video","prompt":"waves","seconds":2,"width":512,"height":512,"ext":"mp4"}`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f, err := protocol.DecodeServer(readGolden(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(f.(*protocol.Offer).Claim.Task)
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, got, []byte(tc.task))
		})
	}
}

// TestExplicitZeroBeatsDefault: a field the studio sends as 0 / "" is not
// replaced by the default.
func TestExplicitZeroBeatsDefault(t *testing.T) {
	t.Parallel()
	in := `{"type":"offer","claim":{"jobId":"j","task":{"kind":"image","prompt":"p","width":0,"height":0,"steps":0,"ext":""},"modelSource":{"engine":"synthetic","files":[],"cliDefaults":{"cfgScale":1,"steps":8,"width":1024,"height":1024}}}}`
	f, err := protocol.DecodeServer([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &protocol.ImageTask{Prompt: "p"}
	if got := f.(*protocol.Offer).Claim.Task.Image; !reflect.DeepEqual(got, want) {
		t.Fatalf("image task = %+v, want %+v", got, want)
	}
}

// TestEncodeValueAndPointerAgree: the session may hand Encode either form.
func TestEncodeValueAndPointerAgree(t *testing.T) {
	t.Parallel()
	for _, tc := range append(append([]golden{}, workerGoldens...), serverGoldens...) {
		v := reflect.ValueOf(tc.frame).Elem().Interface().(protocol.Frame)
		a, err := protocol.Encode(v)
		if err != nil {
			t.Fatalf("%s: Encode(value): %v", tc.file, err)
		}
		b, err := protocol.Encode(tc.frame)
		if err != nil {
			t.Fatalf("%s: Encode(pointer): %v", tc.file, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: value and pointer encode differently:\n%s\n%s", tc.file, a, b)
		}
	}
}

// TestEveryGoldenFileIsUsed keeps testdata honest: a golden nobody checks is
// a golden that can silently rot.
func TestEveryGoldenFileIsUsed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, tc := range append(append([]golden{}, workerGoldens...), serverGoldens...) {
		if used[tc.file] {
			t.Errorf("golden %s listed twice", tc.file)
		}
		used[tc.file] = true
	}
	if len(files) != len(used) {
		t.Errorf("%d golden files, %d table entries", len(files), len(used))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !used[name] {
			t.Errorf("golden file %s is not in any table", f)
		}
	}
}

var camelCase = regexp.MustCompile(`^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$`)

// opaqueKeys hold studio- or engine-defined JSON whose inner keys are not ours,
// or maps keyed by task kind (snake_case by design).
var opaqueKeys = map[string]bool{
	"result": true, "jsonSchema": true, "reasoning": true, "chatTemplateKwargs": true,
	"supportedModelsPerKind": true,
}

func collectKeys(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			into[k] = true
			if !opaqueKeys[k] {
				collectKeys(child, into)
			}
		}
	case []any:
		for _, child := range v {
			collectKeys(child, into)
		}
	}
}

// TestWireKeysAreCamelCase encodes every canonical golden frame and checks that
// every key is camelCase, that the keys the studio reads by name are spelled
// exactly, and that every json tag of every wire struct shows up in some
// golden (so each field is pinned by a literal).
func TestWireKeysAreCamelCase(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, tc := range append(append([]golden{}, workerGoldens...), serverGoldens...) {
		if !tc.canonical {
			continue
		}
		enc, err := protocol.Encode(tc.frame)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var doc any
		if err := json.Unmarshal(enc, &doc); err != nil {
			t.Fatal(err)
		}
		collectKeys(doc, keys)
	}
	for k := range keys {
		if !camelCase.MatchString(k) {
			t.Errorf("wire key %q is not camelCase", k)
		}
	}
	mustHave := []string{
		"type", "vramGbEstimate", "modelSource", "cliDefaults", "currentJobId", "authToken", "vramTotalGb",
		"vramThresholdGb", "autoEnabled", "autoStart", "autoUpdate", "startMinimised", "onlyWhenIdle",
		"userPresence", "supportedModels", "taskKinds", "supportedModelsPerKind", "machineName", "username",
		"agentVersion", "engine", "jobId", "gameId", "assetName", "workerId", "serverTime", "retryable",
		"negativePrompt", "initImageUrl", "maskUrl", "refImageUrl", "cfgScale", "samplingMethod", "maxTokens",
		"topP", "inputUrl", "approxBytes", "sha256", "flowShift", "zeroCondT", "offloadToCpu", "contextSize",
	}
	for _, k := range mustHave {
		if !keys[k] {
			t.Errorf("no golden frame carries key %q", k)
		}
	}
	wireTypes := []any{
		protocol.Hello{}, protocol.Heartbeat{}, protocol.Accept{}, protocol.Reject{}, protocol.CompleteJSON{},
		protocol.Fail{}, protocol.LogBatch{}, protocol.LogEntry{}, protocol.Capabilities{},
		protocol.Welcome{}, protocol.Offer{}, protocol.JobOfferClaim{}, protocol.CompleteAck{}, protocol.FailAck{},
		protocol.Error{}, protocol.ImageTask{}, protocol.LLMTask{}, protocol.ChatMessage{}, protocol.STTTask{},
		protocol.TTSTask{}, protocol.VideoTask{}, protocol.ModelSource{}, protocol.ModelFile{}, protocol.CliDefaults{},
	}
	var missing []string
	for _, v := range wireTypes {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag := strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]
			if tag == "" || tag == "-" {
				t.Errorf("%s.%s has no json name", rt.Name(), rt.Field(i).Name)
				continue
			}
			if !keys[tag] {
				missing = append(missing, rt.Name()+"."+tag)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fields not pinned by any canonical golden: %v", missing)
	}
}

// assertFrameEqual compares decoded frames. RawMessage fields are compared by
// meaning (the studio may indent them); everything else must be identical.
func assertFrameEqual(tb testing.TB, got, want protocol.Frame) {
	tb.Helper()
	g, w := normalize(tb, got), normalize(tb, want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		tb.Fatalf("frame differs\n got: %T %s\nwant: %T %s", got, gj, want, wj)
	}
}
