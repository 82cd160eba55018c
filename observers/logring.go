package observers

import (
	"log/slog"
	"time"
)

// LogLine is one entry of the UI log ring. Seq is assigned by AppendLog so
// the UI can page with LogsAfter.
type LogLine struct {
	Seq      uint64
	Time     time.Time
	Level    slog.Level
	Category string
	Message  string
	JobID    string
}

// AppendLog stores l with the next sequence number (1, 2, …; l.Seq is
// ignored), evicting the oldest line beyond LogRingCap, and returns the
// assigned number.
func (s *Set) AppendLog(l LogLine) uint64 {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	seq := s.logs.push(l)
	s.logsChanged.fire()
	return seq
}

// Logs returns a copy of the ring, oldest first.
func (s *Set) Logs() []LogLine {
	return s.LogsAfter(0)
}

// LogsAfter returns a copy of the lines with Seq > seq, oldest first. When
// seq has already been evicted the whole ring is returned: the caller learns
// of the gap from the first Seq.
func (s *Set) LogsAfter(seq uint64) []LogLine {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logs.after(seq)
}

// logRing is a fixed circular buffer so appends never allocate. Sequence
// numbers in it are contiguous: the oldest is last-n+1.
type logRing struct {
	buf   [LogRingCap]LogLine
	start int // index of the oldest line
	n     int
	last  uint64 // Seq of the newest line; 0 before the first append
}

func (r *logRing) push(l LogLine) uint64 {
	r.last++
	l.Seq = r.last
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = l
		r.n++
	} else {
		r.buf[r.start] = l
		r.start = (r.start + 1) % len(r.buf)
	}
	return l.Seq
}

func (r *logRing) after(seq uint64) []LogLine {
	if seq >= r.last {
		return []LogLine{}
	}
	skip := 0
	if oldest := r.last - uint64(r.n) + 1; seq >= oldest {
		skip = int(seq - oldest + 1)
	}
	out := make([]LogLine, r.n-skip)
	for i := range out {
		out[i] = r.buf[(r.start+skip+i)%len(r.buf)]
	}
	return out
}
