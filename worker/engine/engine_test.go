package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&UnsupportedTaskError{Engine: "llama-cpp", Kind: protocol.KindImage}, "llama-cpp engine cannot serve image tasks"},
		{&MissingEngineError{Engine: "sd-cpp", Model: "flux-dev"}, "no `sd-cpp` engine in this worker (model `flux-dev` requires it)"},
		{&InvalidTaskError{Kind: protocol.KindImage, Field: "width", Msg: "5000 out of range 1..4096"}, "invalid image task: width: 5000 out of range 1..4096"},
		{&InvalidTaskError{Kind: protocol.KindLLM, Msg: "no llm fields set"}, "invalid llm task: no llm fields set"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	unsupported := &UnsupportedTaskError{Engine: "synthetic", Kind: "hologram"}
	missing := &MissingEngineError{Engine: "sd-cpp", Model: "m"}
	invalid := &InvalidTaskError{Kind: protocol.KindImage, Field: "width", Msg: "bad"}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("sd-cli exited with status 1"), false},
		{"cancelled", fmt.Errorf("run: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"message only says cannot serve", errors.New("x engine cannot serve y tasks"), false},
		{"unsupported", unsupported, true},
		{"missing", missing, true},
		{"invalid", invalid, true},
		{"wrapped unsupported", fmt.Errorf("job 1: %w", fmt.Errorf("engine: %w", unsupported)), true},
		{"wrapped missing", fmt.Errorf("job 1: %w", missing), true},
		{"wrapped invalid", fmt.Errorf("job 1: %w", invalid), true},
		{"joined", errors.Join(errors.New("plain"), missing), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := IsTerminal(tc.err); got != tc.want {
				t.Errorf("IsTerminal(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestResultIsBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Result
		want bool
	}{
		{Result{JSON: []byte(`{}`)}, false},
		{Result{Data: []byte{1}, Ext: "png"}, true},
		{Result{}, false},
	}
	for _, tc := range tests {
		if got := tc.r.IsBinary(); got != tc.want {
			t.Errorf("%+v.IsBinary() = %v, want %v", tc.r, got, tc.want)
		}
	}
}
