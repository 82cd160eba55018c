package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/minis-gg/studio-worker/observers"
)

// jobKey identifies a finished job in the ring (a job id can repeat when the
// studio re-offers it).
type jobKey struct {
	id       string
	finished time.Time
}

func keyOf(j observers.RecentJob) jobKey { return jobKey{j.JobID, j.FinishedAt} }

// notifier finds the finished jobs that appeared since the last look.
type notifier struct {
	mu     sync.Mutex
	last   jobKey
	seeded bool
}

// seed marks the current ring as seen: jobs that finished before the window
// existed are not announced.
func (n *notifier) seed(ring []observers.RecentJob) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seeded = true
	if len(ring) > 0 {
		n.last = keyOf(ring[0])
	}
}

// fresh returns the jobs newer than the last seen one, oldest first. ring
// is newest first, as observers returns it. When the last seen job was
// evicted, the whole ring is new.
func (n *notifier) fresh(ring []observers.RecentJob) []observers.RecentJob {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.seeded {
		n.seeded = true
		if len(ring) > 0 {
			n.last = keyOf(ring[0])
		}
		return nil
	}
	if len(ring) == 0 || keyOf(ring[0]) == n.last {
		return nil
	}
	cut := len(ring)
	for i, j := range ring {
		if keyOf(j) == n.last {
			cut = i
			break
		}
	}
	out := make([]observers.RecentJob, 0, cut)
	for i := cut - 1; i >= 0; i-- {
		out = append(out, ring[i])
	}
	n.last = keyOf(ring[0])
	return out
}

// NotificationFor is the desktop notification of a finished job, or nil when
// the operator's toggle for its outcome is off.
func NotificationFor(j observers.RecentJob, onCompleted, onFailed bool) *fyne.Notification {
	body := j.Kind + " · " + j.Model
	switch j.Outcome {
	case observers.OutcomeCompleted:
		if !onCompleted {
			return nil
		}
		return fyne.NewNotification(AppName+" — job completed", body)
	case observers.OutcomeFailed:
		if !onFailed {
			return nil
		}
		if j.Reason != "" {
			body += " — " + j.Reason
		}
		return fyne.NewNotification(AppName+" — job failed", body)
	}
	return nil
}

// notify sends the notifications for jobs. Fyne goroutine only.
func (u *UI) notify(jobs []observers.RecentJob) {
	if len(jobs) == 0 {
		return
	}
	s := u.opts.Store.Settings()
	for _, j := range jobs {
		if n := NotificationFor(j, s.NotifyJobCompleted, s.NotifyJobFailed); n != nil {
			u.app.SendNotification(n)
		}
	}
}
