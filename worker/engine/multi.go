package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Multi routes each claim to the backend named by claim.ModelSource.Engine
// and unions the backends' capabilities. It never falls back to another
// backend (synthetic included): a wrong engine would deliver a plausible but
// wrong asset, which is worse than a terminal failure.
type Multi struct {
	backends []Backend // registration order, for capability listings
	byName   map[string]Backend
}

// kindServer is an optional fast path for backends whose Models() allocates:
// Multi asks it on every Run instead of building the whole model map.
type kindServer interface {
	Serves(kind protocol.TaskKind) bool
}

// NewMulti builds a router over backends, in preference order (real engines
// first). It panics on a nil backend or two backends with the same Name: both
// are wiring bugs that would otherwise silently misroute jobs.
func NewMulti(backends ...Backend) *Multi {
	m := &Multi{
		backends: make([]Backend, 0, len(backends)),
		byName:   make(map[string]Backend, len(backends)),
	}
	for i, b := range backends {
		if b == nil {
			panic(fmt.Sprintf("engine.NewMulti: backend %d is nil", i))
		}
		name := b.Name()
		if _, dup := m.byName[name]; dup {
			panic(fmt.Sprintf("engine.NewMulti: two backends named %q", name))
		}
		m.byName[name] = b
		m.backends = append(m.backends, b)
	}
	return m
}

// Engines returns the backend names in registration order.
func (m *Multi) Engines() []string {
	names := make([]string, len(m.backends))
	for i, b := range m.backends {
		names[i] = b.Name()
	}
	return names
}

// Run runs the claim on the backend named by claim.ModelSource.Engine.
// Errors: *MissingEngineError (no such backend), *UnsupportedTaskError (the
// backend does not serve the task kind), *InvalidTaskError (the kind's fields
// are absent) — all terminal, see IsTerminal — or the backend's own error.
func (m *Multi) Run(ctx context.Context, claim protocol.JobOfferClaim) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("run job %s: %w", claim.JobID, err)
	}
	name := claim.ModelSource.Engine
	b, ok := m.byName[name]
	if !ok {
		return Result{}, &MissingEngineError{Engine: name, Model: claim.Model}
	}
	kind := claim.Task.Kind
	if !serves(b, kind) {
		return Result{}, &UnsupportedTaskError{Engine: name, Kind: kind}
	}
	if err := checkTaskBody(claim.Task); err != nil {
		return Result{}, err
	}
	res, err := b.Run(ctx, claim)
	if err != nil {
		return Result{}, err
	}
	// A result the session cannot deliver must not reach it as a success.
	if (res.JSON == nil) == (res.Data == nil) || (res.Data != nil && res.Ext == "") {
		return Result{}, fmt.Errorf("run job %s: %s engine returned a malformed result (json %d bytes, data %d bytes, ext %q)",
			claim.JobID, name, len(res.JSON), len(res.Data), res.Ext)
	}
	return res, nil
}

func serves(b Backend, kind protocol.TaskKind) bool {
	if !knownKind(kind) {
		return false
	}
	if ks, ok := b.(kindServer); ok {
		return ks.Serves(kind)
	}
	return len(b.Models()[kind]) > 0
}

// ModelsPerKind unions the backends' models per task kind. Only protocol task
// kinds with at least one model appear; within a kind models keep backend
// order (first seen wins) without duplicates.
func (m *Multi) ModelsPerKind() map[protocol.TaskKind][]string {
	per := make([]map[protocol.TaskKind][]string, len(m.backends))
	for i, b := range m.backends {
		per[i] = b.Models()
	}
	out := make(map[protocol.TaskKind][]string)
	for _, kind := range protocol.AllKinds {
		var models []string
		for _, bm := range per {
			for _, model := range bm[kind] {
				if !slices.Contains(models, model) {
					models = append(models, model)
				}
			}
		}
		if len(models) > 0 {
			out[kind] = models
		}
	}
	return out
}

// SupportedModels is the sorted, duplicate-free union of all models of all
// kinds.
func (m *Multi) SupportedModels() []string {
	all := []string{} // never nil: capabilities marshal it as [] not null
	for _, models := range m.ModelsPerKind() {
		all = append(all, models...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// TaskKinds lists, in protocol.AllKinds order, the kinds some backend serves.
func (m *Multi) TaskKinds() []protocol.TaskKind {
	per := m.ModelsPerKind()
	kinds := make([]protocol.TaskKind, 0, len(per))
	for _, kind := range protocol.AllKinds {
		if len(per[kind]) > 0 {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}
