package logs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Attribute keys the handler routes instead of rendering. Only ungrouped
// attributes count: a key under a group is a different attribute.
const (
	CategoryKey = "category"
	JobIDKey    = "job_id"
)

// DefaultCategory is the category of records that name none.
const DefaultCategory = "worker"

// Handler is an slog.Handler that passes every record to a base handler
// (stderr, at whatever level it enables) and sends records at Info and above
// to the observers' log ring and the ship queue. For those two sinks the
// "category" and "job_id" attributes become fields and every other attribute
// is rendered into the message as ` key=value` with slog's text quoting.
type Handler struct {
	base slog.Handler
	obs  *observers.Set
	q    *ShipQueue

	category string
	jobID    string
	pre      []byte // attributes from WithAttrs, already rendered
	prefix   string // open groups joined with ".", with a trailing "."
}

// NewHandler returns a handler fanning out to base, obs and q. Any of them
// may be nil, which skips that sink.
func NewHandler(base slog.Handler, obs *observers.Set, q *ShipQueue) *Handler {
	return &Handler{base: base, obs: obs, q: q}
}

// Enabled reports whether any sink wants records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo || (h.base != nil && h.base.Enabled(ctx, level))
}

// Handle fans r out. The ring and the queue always receive a record at Info
// or above, even when the base handler fails.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.base != nil && h.base.Enabled(ctx, r.Level) {
		if berr := h.base.Handle(ctx, r); berr != nil {
			err = fmt.Errorf("log to base handler: %w", berr)
		}
	}
	if r.Level < slog.LevelInfo || (h.obs == nil && h.q == nil) {
		return err
	}

	category, jobID := h.category, h.jobID
	// Most messages fit on the stack; the only allocation is the final string.
	var stack [512]byte
	buf := append(stack[:0], r.Message...)
	buf = append(buf, h.pre...)
	r.Attrs(func(a slog.Attr) bool {
		if h.prefix == "" {
			switch a.Key {
			case CategoryKey:
				category = a.Value.Resolve().String()
				return true
			case JobIDKey:
				jobID = a.Value.Resolve().String()
				return true
			}
		}
		buf = appendAttr(buf, h.prefix, a)
		return true
	})
	if r.Message == "" && len(buf) > 0 {
		buf = buf[1:] // no message: drop the separator before the first attribute
	}
	msg := r.Message
	if len(buf) != len(r.Message) {
		msg = string(buf)
	}
	if category == "" {
		category = DefaultCategory
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now() // a shipped entry needs a real timestamp
	}

	if h.obs != nil {
		h.obs.AppendLog(observers.LogLine{Time: t, Level: r.Level, Category: category, Message: msg, JobID: jobID})
	}
	if h.q != nil {
		h.q.Push(protocol.LogEntry{
			TS:       protocol.Timestamp{Time: t},
			Level:    shipLevel(r.Level),
			Category: category,
			Message:  msg,
			JobID:    jobID,
		})
	}
	return err
}

// WithAttrs returns a handler whose records carry attrs; "category" and
// "job_id" among them set the defaults for its records.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.pre = h.pre[:len(h.pre):len(h.pre)] // force a copy on append: h is shared
	for _, a := range attrs {
		if h.prefix == "" {
			switch a.Key {
			case CategoryKey:
				h2.category = a.Value.Resolve().String()
				continue
			case JobIDKey:
				h2.jobID = a.Value.Resolve().String()
				continue
			}
		}
		h2.pre = appendAttr(h2.pre, h.prefix, a)
	}
	if h.base != nil {
		h2.base = h.base.WithAttrs(attrs)
	}
	return &h2
}

// WithGroup returns a handler that qualifies later attribute keys with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	if h.base != nil {
		h2.base = h.base.WithGroup(name)
	}
	return &h2
}

func shipLevel(l slog.Level) protocol.LogLevel {
	switch {
	case l >= slog.LevelError:
		return protocol.LevelError
	case l >= slog.LevelWarn:
		return protocol.LevelWarn
	default:
		return protocol.LevelInfo
	}
}
