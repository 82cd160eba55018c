package session

import (
	"math/rand/v2"
	"time"
)

// HeartbeatInterval is how often a connected worker sends a heartbeat. The UI
// treats a heartbeat older than three intervals as stale.
const HeartbeatInterval = 5 * time.Second

// Schedule holds every interval and timeout of the session, so tests can run
// the real loop on millisecond schedules.
type Schedule struct {
	HeartbeatInterval time.Duration // between heartbeats after welcome
	LogFlushInterval  time.Duration // between log batches after welcome
	ReadIdleTimeout   time.Duration // no frame at all for this long → dead socket
	ConnectTimeout    time.Duration // TCP + TLS + upgrade
	WriteTimeout      time.Duration // one frame write
	CloseTimeout      time.Duration // waiting for the close handshake
	BackoffBase       time.Duration // first reconnect pause
	BackoffMax        time.Duration // cap of the doubling pause
	BackoffJitter     float64       // fraction of the pause taken off at random, so a fleet does not reconnect in lock-step
	CredentialsPoll   time.Duration // while waiting for approval
	UploadRetries     int           // extra upload attempts after a 5xx or transport error
	UploadRetryPause  time.Duration // pause before retry n is n × this
	UploadTimeout     time.Duration // one upload request
	JobDrain          time.Duration // a running job's grace on stop
}

// DefaultSchedule is the reference worker's timing.
func DefaultSchedule() Schedule {
	return Schedule{
		HeartbeatInterval: HeartbeatInterval,
		LogFlushInterval:  time.Second,
		ReadIdleTimeout:   20 * time.Second,
		ConnectTimeout:    15 * time.Second,
		WriteTimeout:      10 * time.Second,
		CloseTimeout:      5 * time.Second,
		BackoffBase:       time.Second,
		BackoffMax:        30 * time.Second,
		BackoffJitter:     0.2,
		CredentialsPoll:   time.Second,
		UploadRetries:     2,
		UploadRetryPause:  time.Second,
		UploadTimeout:     60 * time.Second,
		JobDrain:          5 * time.Second,
	}
}

// Backoff returns the pause before reconnect attempt n (1-based): base doubling
// per attempt up to max, minus up to BackoffJitter of it at random.
func (s Schedule) Backoff(attempt int) time.Duration {
	d := s.BackoffBase
	for i := 1; i < attempt && d < s.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.BackoffMax)
	if s.BackoffJitter > 0 {
		d -= time.Duration(rand.Float64() * s.BackoffJitter * float64(d))
	}
	return d
}

// withDefaults fills every zero field from DefaultSchedule, so a test or
// caller that sets a few fields never runs with a zero timeout.
func (s Schedule) withDefaults() Schedule {
	d := DefaultSchedule()
	durs := []struct{ v, def *time.Duration }{
		{&s.HeartbeatInterval, &d.HeartbeatInterval}, {&s.LogFlushInterval, &d.LogFlushInterval},
		{&s.ReadIdleTimeout, &d.ReadIdleTimeout}, {&s.ConnectTimeout, &d.ConnectTimeout},
		{&s.WriteTimeout, &d.WriteTimeout}, {&s.CloseTimeout, &d.CloseTimeout},
		{&s.BackoffBase, &d.BackoffBase}, {&s.BackoffMax, &d.BackoffMax},
		{&s.CredentialsPoll, &d.CredentialsPoll}, {&s.UploadRetryPause, &d.UploadRetryPause},
		{&s.UploadTimeout, &d.UploadTimeout}, {&s.JobDrain, &d.JobDrain},
	}
	for _, f := range durs {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return s
}
