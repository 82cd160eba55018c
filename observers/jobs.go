package observers

import (
	"sync"
	"time"
)

// CurrentJob is the job in flight. Prompt is the UI preview (PromptPreview),
// never the full prompt.
type CurrentJob struct {
	JobID     string
	Kind      string
	Model     string
	Prompt    string
	StartedAt time.Time
}

// SetCurrentJob records the job in flight.
func (s *Set) SetCurrentJob(j CurrentJob) {
	s.update(func() { s.current, s.hasCurrent = j, true })
}

// ClearCurrentJob records that no job is in flight.
func (s *Set) ClearCurrentJob() {
	s.update(func() { s.current, s.hasCurrent = CurrentJob{}, false })
}

// CurrentJob returns the job in flight; false when idle.
func (s *Set) CurrentJob() (CurrentJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current, s.hasCurrent
}

// Outcome is how a finished job ended.
type Outcome string

const (
	OutcomeCompleted Outcome = "completed"
	OutcomeFailed    Outcome = "failed"
)

// RecentJob is a finished job. Prompt is the UI preview; Reason is set for
// failures.
type RecentJob struct {
	JobID      string
	Kind       string
	Model      string
	Prompt     string
	Outcome    Outcome
	Reason     string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Duration is FinishedAt-StartedAt, or 0 when either is unset or the clock
// went backwards (a negative duration would only confuse the UI).
func (j RecentJob) Duration() time.Duration {
	if j.StartedAt.IsZero() || j.FinishedAt.IsZero() {
		return 0
	}
	return max(j.FinishedAt.Sub(j.StartedAt), 0)
}

// RecordRecentJob pushes a finished job; the oldest beyond RecentJobsCap is
// evicted.
func (s *Set) RecordRecentJob(j RecentJob) {
	s.update(func() { s.recent.push(j) })
}

// RecentJobs returns a copy of the finished jobs, newest first.
func (s *Set) RecentJobs() []RecentJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recent.newestFirst()
}

// jobRing is a fixed circular buffer; head is the newest entry.
type jobRing struct {
	buf  [RecentJobsCap]RecentJob
	head int
	n    int
}

func (r *jobRing) push(j RecentJob) {
	r.head = (r.head + len(r.buf) - 1) % len(r.buf)
	r.buf[r.head] = j
	if r.n < len(r.buf) {
		r.n++
	}
}

func (r *jobRing) newestFirst() []RecentJob {
	out := make([]RecentJob, r.n)
	for i := range out {
		out[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	return out
}

// TryReserveJob takes the single job slot shared by studio offers and the
// updater (an update must not swap the binary under a running job). ok is
// false when the slot is taken. release frees the slot; calling it more than
// once is harmless and never frees a later reservation.
func (s *Set) TryReserveJob() (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		return nil, false
	}
	s.busy = true
	s.changed.fire()
	var once sync.Once
	return func() {
		once.Do(func() { s.update(func() { s.busy = false }) })
	}, true
}

// Busy reports whether the job slot is reserved.
func (s *Set) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}
