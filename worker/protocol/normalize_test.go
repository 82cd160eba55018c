package protocol_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// normalize returns a copy of f in the form Encode gives it, for the few
// fields where decode keeps more than encode writes:
//   - json.RawMessage keeps the sender's whitespace and escaping; encode
//     compacts it (and a nil result is written as null);
//   - Timestamp keeps sub-millisecond precision and the sender's offset; the
//     wire carries UTC milliseconds;
//   - an empty LLM stop list is omitted on the wire, so it decodes back as nil.
//
// Everything else must survive a round trip bit for bit. f is never modified.
func normalize(tb testing.TB, f protocol.Frame) protocol.Frame {
	tb.Helper()
	raw := func(r json.RawMessage) json.RawMessage {
		if r == nil {
			return nil
		}
		b, err := json.Marshal(r)
		if err != nil {
			tb.Fatalf("normalize raw %q: %v", r, err)
		}
		return b
	}
	switch v := f.(type) {
	case *protocol.CompleteJSON:
		c := *v
		if c.Result == nil {
			c.Result = json.RawMessage("null")
		}
		c.Result = raw(c.Result)
		return &c
	case *protocol.LogBatch:
		c := *v
		if v.Entries != nil {
			c.Entries = make([]protocol.LogEntry, len(v.Entries))
			for i, e := range v.Entries {
				e.TS = protocol.Timestamp{Time: e.TS.UTC().Truncate(time.Millisecond)}
				c.Entries[i] = e
			}
		}
		return &c
	case *protocol.Offer:
		c := *v
		if v.Claim.Task.LLM != nil {
			l := *v.Claim.Task.LLM
			l.JSONSchema = raw(l.JSONSchema)
			l.Reasoning = raw(l.Reasoning)
			l.ChatTemplateKwargs = raw(l.ChatTemplateKwargs)
			if len(l.Stop) == 0 {
				l.Stop = nil
			}
			c.Claim.Task.LLM = &l
		}
		c.Claim.ModelSource.CliDefaults.ChatTemplateKwargs = raw(c.Claim.ModelSource.CliDefaults.ChatTemplateKwargs)
		return &c
	}
	return f
}
