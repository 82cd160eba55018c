package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

var errSDCrash = errors.New("sd-cli exited with status 1")

func TestMultiRun(t *testing.T) {
	t.Parallel()
	llmTask := decodeTask(t, `{"kind":"llm","messages":[{"role":"user","content":"hi"}]}`)
	imageTask := decodeTask(t, `{"kind":"image","prompt":"a cat","width":8,"height":8}`)

	tests := []struct {
		name       string
		claim      protocol.JobOfferClaim
		wantStub   string // stub backend whose result is expected
		wantSynth  bool   // expect a synthetic result
		wantAs     any    // pointer to the typed error expected in the chain
		wantIs     error
		wantTerm   bool
		wantCalled []string // stubs that must have run
	}{
		{name: "synthetic llm served", claim: claimFor("synthetic", llmTask), wantSynth: true},
		{name: "synthetic image served", claim: claimFor("synthetic", imageTask), wantSynth: true},
		{name: "routed to llama", claim: claimFor("llama-cpp", llmTask), wantStub: "llama-cpp", wantCalled: []string{"llama-cpp"}},
		{name: "sd-cpp missing, no fallback to synthetic", claim: claimFor("sd-cpp", imageTask),
			wantAs: new(*MissingEngineError), wantTerm: true},
		{name: "absent engine", claim: claimFor("", llmTask), wantAs: new(*MissingEngineError), wantTerm: true},
		{name: "engine name is case-sensitive", claim: claimFor("Synthetic", llmTask), wantAs: new(*MissingEngineError), wantTerm: true},
		{name: "llama cannot serve image", claim: claimFor("llama-cpp", imageTask),
			wantAs: new(*UnsupportedTaskError), wantTerm: true},
		{name: "unknown kind", claim: claimFor("synthetic", protocol.Task{Kind: "hologram"}),
			wantAs: new(*UnsupportedTaskError), wantTerm: true},
		{name: "kind without fields", claim: claimFor("synthetic", protocol.Task{Kind: protocol.KindImage}),
			wantAs: new(*InvalidTaskError), wantTerm: true},
		{name: "kind without fields on real backend", claim: claimFor("llama-cpp", protocol.Task{Kind: protocol.KindLLM}),
			wantAs: new(*InvalidTaskError), wantTerm: true},
		{name: "backend plain error is retryable and not replaced", claim: claimFor("flaky", llmTask),
			wantIs: errSDCrash, wantTerm: false, wantCalled: []string{"flaky"}},
		{name: "backend typed error through wrapping", claim: claimFor("picky", llmTask),
			wantAs: new(*UnsupportedTaskError), wantTerm: true, wantCalled: []string{"picky"}},
		{name: "malformed backend result", claim: claimFor("broken", llmTask), wantTerm: false, wantCalled: []string{"broken"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stubs := map[string]*stubBackend{
				"llama-cpp": {name: "llama-cpp", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"qwen"}}},
				"flaky": {name: "flaky", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"f"}},
					run: func(context.Context, protocol.JobOfferClaim) (Result, error) {
						return Result{}, fmt.Errorf("flaky llm: %w", errSDCrash)
					}},
				"picky": {name: "picky", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"p"}},
					run: func(_ context.Context, c protocol.JobOfferClaim) (Result, error) {
						return Result{}, fmt.Errorf("picky: %w", &UnsupportedTaskError{Engine: "picky", Kind: c.Task.Kind})
					}},
				"broken": {name: "broken", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"b"}},
					run: func(context.Context, protocol.JobOfferClaim) (Result, error) {
						return Result{Data: []byte("x")}, nil // binary without ext
					}},
			}
			m := NewMulti(stubs["llama-cpp"], stubs["flaky"], stubs["picky"], stubs["broken"], NewSynthetic())

			res, err := m.Run(context.Background(), tc.claim)

			wantErr := tc.wantAs != nil || tc.wantIs != nil || tc.name == "malformed backend result"
			if wantErr {
				if err == nil {
					t.Fatalf("Run = %+v, want error", res)
				}
				if tc.wantAs != nil && !errors.As(err, tc.wantAs) {
					t.Errorf("error %q (%T) lacks %T", err, err, tc.wantAs)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("error %q does not wrap %q", err, tc.wantIs)
				}
				if got := IsTerminal(err); got != tc.wantTerm {
					t.Errorf("IsTerminal(%q) = %v, want %v", err, got, tc.wantTerm)
				}
			} else if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.wantSynth {
				want := runSynthetic(t, tc.claim.Task)
				if !reflect.DeepEqual(res, want) {
					t.Errorf("Run result differs from the synthetic backend's")
				}
			}
			if tc.wantStub != "" && string(res.JSON) != `{"stub":"`+tc.wantStub+`"}` {
				t.Errorf("Run JSON = %s, want stub %s", res.JSON, tc.wantStub)
			}
			for name, s := range stubs {
				called := s.calls.Load() > 0
				want := false
				for _, c := range tc.wantCalled {
					want = want || c == name
				}
				if called != want {
					t.Errorf("backend %s called=%v, want %v", name, called, want)
				}
			}
		})
	}
}

func TestMultiMissingEngineFields(t *testing.T) {
	t.Parallel()
	m := NewMulti(NewSynthetic())
	claim := claimFor(protocol.EngineSDCpp, decodeTask(t, `{"kind":"image","prompt":"p"}`))
	claim.Model = "flux-schnell"
	_, err := m.Run(context.Background(), claim)
	var missing *MissingEngineError
	if !errors.As(err, &missing) {
		t.Fatalf("err = %v, want *MissingEngineError", err)
	}
	if *missing != (MissingEngineError{Engine: "sd-cpp", Model: "flux-schnell"}) {
		t.Errorf("MissingEngineError = %+v", *missing)
	}
}

func TestMultiRunCancelled(t *testing.T) {
	t.Parallel()
	stub := &stubBackend{name: "synthetic", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"s"}}}
	m := NewMulti(stub)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Run(ctx, claimFor("synthetic", decodeTask(t, `{"kind":"llm","messages":[]}`)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled in chain", err)
	}
	if IsTerminal(err) {
		t.Errorf("cancellation classified terminal")
	}
	if stub.calls.Load() != 0 {
		t.Errorf("backend ran despite cancelled ctx")
	}
}

func TestMultiCapabilities(t *testing.T) {
	t.Parallel()
	llama := &stubBackend{name: "llama-cpp", models: map[protocol.TaskKind][]string{
		protocol.KindLLM:   {"qwen", "shared", "qwen"},
		protocol.KindImage: {},             // no models: not served
		"hologram":         {"holo-model"}, // not a protocol kind: not advertised
	}}
	whisper := &stubBackend{name: "whisper", models: map[protocol.TaskKind][]string{
		protocol.KindAudioSTT: {"whisper-base", "shared"},
		protocol.KindLLM:      {"shared", "zeta"},
	}}
	tests := []struct {
		name      string
		backends  []Backend
		wantPer   map[protocol.TaskKind][]string
		wantFlat  []string
		wantKinds []protocol.TaskKind
	}{
		{
			name:      "none",
			wantPer:   map[protocol.TaskKind][]string{},
			wantFlat:  []string{},
			wantKinds: []protocol.TaskKind{},
		},
		{
			name:     "synthetic only",
			backends: []Backend{NewSynthetic()},
			wantPer: map[protocol.TaskKind][]string{
				protocol.KindImage:    {"synthetic", "synthetic-image"},
				protocol.KindLLM:      {"synthetic", "synthetic-llm"},
				protocol.KindAudioSTT: {"synthetic", "synthetic-audio_stt"},
				protocol.KindAudioTTS: {"synthetic", "synthetic-audio_tts"},
				protocol.KindVideo:    {"synthetic", "synthetic-video"},
			},
			wantFlat:  []string{"synthetic", "synthetic-audio_stt", "synthetic-audio_tts", "synthetic-image", "synthetic-llm", "synthetic-video"},
			wantKinds: protocol.AllKinds,
		},
		{
			name:     "real engines",
			backends: []Backend{whisper, llama},
			wantPer: map[protocol.TaskKind][]string{
				protocol.KindLLM:      {"shared", "zeta", "qwen"},
				protocol.KindAudioSTT: {"whisper-base", "shared"},
			},
			wantFlat:  []string{"qwen", "shared", "whisper-base", "zeta"},
			wantKinds: []protocol.TaskKind{protocol.KindLLM, protocol.KindAudioSTT},
		},
		{
			name:     "real engines and synthetic",
			backends: []Backend{llama, NewSynthetic()},
			wantPer: map[protocol.TaskKind][]string{
				protocol.KindImage:    {"synthetic", "synthetic-image"},
				protocol.KindLLM:      {"qwen", "shared", "synthetic", "synthetic-llm"},
				protocol.KindAudioSTT: {"synthetic", "synthetic-audio_stt"},
				protocol.KindAudioTTS: {"synthetic", "synthetic-audio_tts"},
				protocol.KindVideo:    {"synthetic", "synthetic-video"},
			},
			wantFlat: []string{"qwen", "shared", "synthetic", "synthetic-audio_stt", "synthetic-audio_tts",
				"synthetic-image", "synthetic-llm", "synthetic-video"},
			wantKinds: protocol.AllKinds,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := NewMulti(tc.backends...)
			if got := m.ModelsPerKind(); !reflect.DeepEqual(got, tc.wantPer) {
				t.Errorf("ModelsPerKind = %v, want %v", got, tc.wantPer)
			}
			if got := m.SupportedModels(); !reflect.DeepEqual(got, tc.wantFlat) {
				t.Errorf("SupportedModels = %#v, want %#v", got, tc.wantFlat)
			}
			if got := m.TaskKinds(); !reflect.DeepEqual(got, tc.wantKinds) {
				t.Errorf("TaskKinds = %#v, want %#v", got, tc.wantKinds)
			}
		})
	}
}

func TestMultiCapabilitiesDoNotAliasBackend(t *testing.T) {
	t.Parallel()
	stub := &stubBackend{name: "llama-cpp", models: map[protocol.TaskKind][]string{protocol.KindLLM: {"a", "b"}}}
	m := NewMulti(stub)
	m.ModelsPerKind()[protocol.KindLLM][0] = "mutated"
	m.SupportedModels()[0] = "mutated"
	if got := stub.models[protocol.KindLLM][0]; got != "a" {
		t.Errorf("caller mutation reached the backend: %q", got)
	}
}

func TestNewMultiPanicsOnMiswiring(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		backends []Backend
	}{
		{"duplicate name", []Backend{NewSynthetic(), NewSynthetic()}},
		{"nil backend", []Backend{NewSynthetic(), nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("NewMulti did not panic")
				}
			}()
			NewMulti(tc.backends...)
		})
	}
}

func TestMultiEngines(t *testing.T) {
	t.Parallel()
	m := NewMulti(&stubBackend{name: "sd-cpp"}, NewSynthetic())
	if got, want := m.Engines(), []string{"sd-cpp", "synthetic"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Engines = %v, want %v", got, want)
	}
}
