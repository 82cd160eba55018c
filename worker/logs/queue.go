package logs

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// ShipQueueCap is the default capacity of the ship queue, as in the
// reference worker.
const ShipQueueCap = 5000

// markerCategory is the category of the overflow marker entry.
const markerCategory = "logs"

// ShipQueue holds log entries waiting to be shipped to the studio. It keeps
// at most its capacity of ordinary entries; when full, Push drops the oldest
// and a single warn marker at the front says how many were dropped. The
// marker does not count toward the capacity, so Len never exceeds
// capacity+1. All methods are safe for concurrent use.
type ShipQueue struct {
	mu   sync.Mutex
	buf  []protocol.LogEntry // ring of len capacity, allocated once
	head int                 // index of the oldest entry
	n    int

	// dropped counts entries lost since the marker was last drained; the
	// marker exists iff dropped > 0. Its text is rendered only when drained,
	// so a full queue under a log flood costs no formatting per Push.
	dropped  int
	markerAt time.Time

	markerPrefix string // "ship queue full (<cap> entries); dropped "
	now          func() time.Time
}

// NewShipQueue returns an empty queue holding up to capacity entries plus
// the marker. capacity <= 0 means ShipQueueCap.
func NewShipQueue(capacity int) *ShipQueue {
	if capacity <= 0 {
		capacity = ShipQueueCap
	}
	return &ShipQueue{
		buf:          make([]protocol.LogEntry, capacity),
		markerPrefix: "ship queue full (" + strconv.Itoa(capacity) + " entries); dropped ",
		now:          time.Now,
	}
}

// Push appends e. When the queue is full the oldest entry is dropped and
// counted in the marker.
func (q *ShipQueue) Push(e protocol.LogEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n < len(q.buf) {
		q.buf[q.wrap(q.head+q.n)] = e
		q.n++
		return
	}
	// Full: the newest overwrites the oldest slot and the ring rotates.
	q.buf[q.head] = e
	q.head = q.wrap(q.head + 1)
	q.noteDropped(1)
}

// Drain removes and returns up to max of the oldest entries, the marker
// first; max <= 0 takes everything. It returns nil when the queue is empty.
// Draining the marker resets its count.
func (q *ShipQueue) Drain(max int) []protocol.LogEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	total := q.lenLocked()
	if total == 0 {
		return nil
	}
	if max <= 0 || max > total {
		max = total
	}
	out := make([]protocol.LogEntry, 0, max)
	if q.dropped > 0 {
		out = append(out, q.marker())
		q.dropped = 0
	}
	for len(out) < max {
		out = append(out, q.buf[q.head])
		q.buf[q.head] = protocol.LogEntry{} // let the strings be collected
		q.head = q.wrap(q.head + 1)
		q.n--
	}
	return out
}

// Requeue puts a batch that failed to ship back at the front, ahead of
// entries pushed since it was drained. If that overflows the queue, the
// oldest entries (the batch's first) are dropped and counted in the marker.
// A marker inside the batch is folded back into the queue's marker, so the
// queue still holds only one.
func (q *ShipQueue) Requeue(batch []protocol.LogEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	regular := 0
	for _, e := range batch {
		if n, ok := q.parseMarker(e); ok {
			if q.dropped == 0 || e.TS.Before(q.markerAt) {
				q.markerAt = e.TS.Time
			}
			q.dropped += n
			continue
		}
		regular++
	}
	// q.n never exceeds the capacity, so any overflow is covered by the
	// batch alone, whose entries are the oldest.
	if over := q.n + regular - len(q.buf); over > 0 {
		q.noteDropped(over)
		regular -= over
	}
	// Walk the batch backwards, pushing the newest kept entries in front
	// first, so the batch keeps its order.
	for i := len(batch) - 1; i >= 0 && regular > 0; i-- {
		if _, ok := q.parseMarker(batch[i]); ok {
			continue
		}
		q.head = q.wrap(q.head - 1 + len(q.buf))
		q.buf[q.head] = batch[i]
		q.n++
		regular--
	}
}

// Len returns the number of entries Drain(0) would return.
func (q *ShipQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lenLocked()
}

func (q *ShipQueue) lenLocked() int {
	if q.dropped > 0 {
		return q.n + 1
	}
	return q.n
}

func (q *ShipQueue) wrap(i int) int {
	if i >= len(q.buf) {
		return i - len(q.buf)
	}
	return i
}

func (q *ShipQueue) noteDropped(n int) {
	if n <= 0 {
		return
	}
	if q.dropped == 0 {
		q.markerAt = q.now()
	}
	q.dropped += n
}

func (q *ShipQueue) marker() protocol.LogEntry {
	msg := make([]byte, 0, len(q.markerPrefix)+len(" oldest")+10)
	msg = append(msg, q.markerPrefix...)
	msg = strconv.AppendInt(msg, int64(q.dropped), 10)
	msg = append(msg, " oldest"...)
	return protocol.LogEntry{
		TS:       protocol.Timestamp{Time: q.markerAt},
		Level:    protocol.LevelWarn,
		Category: markerCategory,
		Message:  string(msg),
	}
}

// parseMarker recognises a marker this queue produced (a drained batch coming
// back through Requeue) and returns its count. Only this package writes that
// exact text under category "logs".
func (q *ShipQueue) parseMarker(e protocol.LogEntry) (int, bool) {
	if e.Category != markerCategory || e.Level != protocol.LevelWarn || e.JobID != "" {
		return 0, false
	}
	rest, ok := strings.CutPrefix(e.Message, q.markerPrefix)
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, " oldest")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
