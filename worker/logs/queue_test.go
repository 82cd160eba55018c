package logs

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

func entry(i int) protocol.LogEntry {
	return protocol.LogEntry{Level: protocol.LevelInfo, Category: "test", Message: strconv.Itoa(i)}
}

func entries(from, to int) []protocol.LogEntry {
	var out []protocol.LogEntry
	for i := from; i <= to; i++ {
		out = append(out, entry(i))
	}
	return out
}

// describe turns a drained batch into a compact form: markers become
// "M<count>", ordinary entries their message.
func describe(t *testing.T, q *ShipQueue, batch []protocol.LogEntry) []string {
	t.Helper()
	out := make([]string, 0, len(batch))
	for _, e := range batch {
		if n, ok := q.parseMarker(e); ok {
			out = append(out, "M"+strconv.Itoa(n))
			continue
		}
		out = append(out, e.Message)
	}
	return out
}

func equal(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestShipQueueOverflowMarker(t *testing.T) {
	t.Parallel()
	dropAt := time.Date(2025, 5, 6, 7, 8, 9, 123e6, time.UTC)
	q := NewShipQueue(3)
	q.now = func() time.Time { return dropAt }

	for i := 1; i <= 10; i++ {
		q.Push(entry(i))
		if got := q.Len(); got > 3+1 {
			t.Fatalf("after %d pushes Len() = %d, above cap+1", i, got)
		}
	}
	if got := q.Len(); got != 4 {
		t.Fatalf("Len() = %d, want 4 (marker + 3)", got)
	}
	q.now = func() time.Time { t.Error("clock read for a marker that already exists"); return time.Time{} }
	got := q.Drain(0)
	want := protocol.LogEntry{
		TS:       protocol.Timestamp{Time: dropAt},
		Level:    protocol.LevelWarn,
		Category: "logs",
		Message:  "ship queue full (3 entries); dropped 7 oldest",
	}
	if got[0] != want {
		t.Errorf("marker = %+v, want %+v", got[0], want)
	}
	if d := describe(t, q, got[1:]); !equal(d, []string{"8", "9", "10"}) {
		t.Errorf("entries after marker = %v, want [8 9 10]", d)
	}
	if q.Len() != 0 || q.Drain(0) != nil {
		t.Error("queue not empty after Drain(0)")
	}

	// Draining the marker resets its count.
	q.now = time.Now
	for i := 11; i <= 15; i++ {
		q.Push(entry(i))
	}
	if d := describe(t, q, q.Drain(0)); !equal(d, []string{"M2", "13", "14", "15"}) {
		t.Errorf("second overflow = %v, want [M2 13 14 15]", d)
	}
}

func TestShipQueueDefaultCapMarkerText(t *testing.T) {
	t.Parallel()
	q := NewShipQueue(0)
	for i := range ShipQueueCap + 42 {
		q.Push(entry(i))
	}
	if got := q.Len(); got != ShipQueueCap+1 {
		t.Fatalf("Len() = %d, want %d", got, ShipQueueCap+1)
	}
	batch := q.Drain(1)
	if len(batch) != 1 || batch[0].Message != "ship queue full (5000 entries); dropped 42 oldest" {
		t.Fatalf("Drain(1) = %+v", batch)
	}
	if got := q.Len(); got != ShipQueueCap {
		t.Errorf("Len() after draining the marker = %d, want %d", got, ShipQueueCap)
	}
}

func TestShipQueueDrain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cap    int
		pushed int
		max    []int // successive Drain calls
		want   [][]string
	}{
		{"empty", 5, 0, []int{0, 3}, [][]string{nil, nil}},
		{"all", 5, 3, []int{0}, [][]string{{"1", "2", "3"}}},
		{"negative is all", 5, 3, []int{-1}, [][]string{{"1", "2", "3"}}},
		{"in chunks", 5, 5, []int{2, 2, 2, 2}, [][]string{{"1", "2"}, {"3", "4"}, {"5"}, nil}},
		{"max above len", 5, 2, []int{10}, [][]string{{"1", "2"}}},
		{"marker counts toward max", 3, 5, []int{1, 2, 5}, [][]string{{"M2"}, {"3", "4"}, {"5"}}},
		{"marker then entries", 3, 4, []int{2, 0}, [][]string{{"M1", "2"}, {"3", "4"}}},
		{"wraps around the ring", 3, 7, []int{0}, [][]string{{"M4", "5", "6", "7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := NewShipQueue(tt.cap)
			for i := 1; i <= tt.pushed; i++ {
				q.Push(entry(i))
			}
			for i, max := range tt.max {
				got := q.Drain(max)
				if tt.want[i] == nil {
					if got != nil {
						t.Errorf("Drain #%d(%d) = %v, want nil", i, max, describe(t, q, got))
					}
					continue
				}
				if d := describe(t, q, got); !equal(d, tt.want[i]) {
					t.Errorf("Drain #%d(%d) = %v, want %v", i, max, d, tt.want[i])
				}
			}
		})
	}
}

func TestShipQueueRequeue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(q *ShipQueue)
		cap  int
		want []string
	}{
		{
			name: "ahead of newer entries",
			cap:  10,
			run: func(q *ShipQueue) {
				for i := 1; i <= 3; i++ {
					q.Push(entry(i))
				}
				batch := q.Drain(2)
				q.Push(entry(4))
				q.Requeue(batch)
			},
			want: []string{"1", "2", "3", "4"},
		},
		{
			name: "into an empty queue",
			cap:  10,
			run: func(q *ShipQueue) {
				q.Requeue(entries(1, 3))
			},
			want: []string{"1", "2", "3"},
		},
		{
			name: "empty batch",
			cap:  10,
			run: func(q *ShipQueue) {
				q.Push(entry(1))
				q.Requeue(nil)
			},
			want: []string{"1"},
		},
		{
			name: "clipped by dropping the batch's oldest",
			cap:  4,
			run: func(q *ShipQueue) {
				for i := 1; i <= 4; i++ {
					q.Push(entry(i))
				}
				batch := q.Drain(0)
				for i := 5; i <= 7; i++ {
					q.Push(entry(i))
				}
				q.Requeue(batch)
			},
			want: []string{"M3", "4", "5", "6", "7"},
		},
		{
			name: "batch larger than the queue",
			cap:  3,
			run: func(q *ShipQueue) {
				q.Requeue(entries(1, 5))
			},
			want: []string{"M2", "3", "4", "5"},
		},
		{
			name: "drained marker folds back into one marker",
			cap:  2,
			run: func(q *ShipQueue) {
				for i := 1; i <= 4; i++ {
					q.Push(entry(i)) // drops 1, 2
				}
				batch := q.Drain(0) // M2 3 4
				q.Push(entry(5))
				q.Requeue(batch) // 3 4 5 over cap 2: drop 3
			},
			want: []string{"M3", "4", "5"},
		},
		{
			name: "drained marker adds to a newer marker",
			cap:  2,
			run: func(q *ShipQueue) {
				for i := 1; i <= 3; i++ {
					q.Push(entry(i)) // drops 1
				}
				batch := q.Drain(1) // M1
				for i := 4; i <= 8; i++ {
					q.Push(entry(i)) // drops 2..6
				}
				q.Requeue(batch)
			},
			want: []string{"M6", "7", "8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := NewShipQueue(tt.cap)
			tt.run(q)
			if got := q.Len(); got > tt.cap+1 || got != len(tt.want) {
				t.Errorf("Len() = %d, want %d (cap %d)", got, len(tt.want), tt.cap)
			}
			if d := describe(t, q, q.Drain(0)); !equal(d, tt.want) {
				t.Errorf("queue = %v, want %v", d, tt.want)
			}
		})
	}
}

func TestShipQueueRequeueKeepsEarliestMarkerTime(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	q := NewShipQueue(1)
	q.now = func() time.Time { return t1 }
	q.Push(entry(1))
	q.Push(entry(2))
	batch := q.Drain(1) // marker at t1
	q.now = func() time.Time { return t2 }
	q.Push(entry(3)) // drops 2, marker at t2
	q.Requeue(batch)
	got := q.Drain(1)
	if len(got) != 1 || !got[0].TS.Equal(t1) || got[0].Message != "ship queue full (1 entries); dropped 2 oldest" {
		t.Errorf("marker = %+v, want TS %v and 2 dropped", got, t1)
	}
}

// TestShipQueueConcurrent pushes from several producers while a consumer
// drains and sometimes requeues, as a shipper with a flaky socket does.
// Nothing may be lost unaccounted: delivered + dropped == pushed, and each
// producer's entries arrive in order.
func TestShipQueueConcurrent(t *testing.T) {
	t.Parallel()
	const (
		producers   = 4
		perProducer = 5000
		capacity    = 256
	)
	q := NewShipQueue(capacity)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				q.Push(protocol.LogEntry{Level: protocol.LevelInfo, Category: strconv.Itoa(p), Message: strconv.Itoa(i)})
			}
		})
	}
	producersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(producersDone)
	}()

	delivered, dropped := 0, 0
	last := make([]int, producers)
	for p := range last {
		last[p] = -1
	}
	consume := func(batch []protocol.LogEntry) {
		for _, e := range batch {
			if n, ok := q.parseMarker(e); ok {
				dropped += n
				continue
			}
			p, _ := strconv.Atoi(e.Category)
			i, _ := strconv.Atoi(e.Message)
			if i <= last[p] {
				t.Fatalf("producer %d: entry %d after %d", p, i, last[p])
			}
			last[p] = i
			delivered++
		}
	}
	for round := 0; ; round++ {
		select {
		case <-producersDone:
			consume(q.Drain(0))
			if delivered+dropped != producers*perProducer {
				t.Fatalf("delivered %d + dropped %d != pushed %d", delivered, dropped, producers*perProducer)
			}
			if q.Len() != 0 {
				t.Fatalf("Len() = %d after final drain", q.Len())
			}
			return
		default:
		}
		if n := q.Len(); n > capacity+1 {
			t.Fatalf("Len() = %d above cap+1", n)
		}
		batch := q.Drain(64)
		if round%3 == 0 {
			q.Requeue(batch) // the send failed
			continue
		}
		consume(batch)
	}
}

func BenchmarkShipQueuePush(b *testing.B) {
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("full=%v", full), func(b *testing.B) {
			q := NewShipQueue(ShipQueueCap)
			e := protocol.LogEntry{TS: protocol.Timestamp{Time: time.Now()}, Level: protocol.LevelInfo, Category: "ws", Message: "heartbeat sent"}
			if full {
				for range ShipQueueCap {
					q.Push(e)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !full && i == ShipQueueCap {
					b.StopTimer()
					q.Drain(0)
					i = 0
					b.StartTimer()
				}
				q.Push(e)
				i++
			}
		})
	}
}
