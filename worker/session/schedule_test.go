package session_test

import (
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/session"
)

func TestBackoffDoublesToMax(t *testing.T) {
	t.Parallel()
	s := session.Schedule{BackoffBase: time.Second, BackoffMax: 30 * time.Second}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 8 * time.Second},
		{5, 16 * time.Second},
		{6, 30 * time.Second},
		{7, 30 * time.Second},
		{100, 30 * time.Second},
		{1 << 20, 30 * time.Second},
	} {
		if got := s.Backoff(tc.attempt); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		sched  session.Schedule
		jitter float64
	}{
		{"default", session.DefaultSchedule(), 0.2},
		{"half", session.Schedule{BackoffBase: 10 * time.Millisecond, BackoffMax: time.Second, BackoffJitter: 0.5}, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			noJitter := tc.sched
			noJitter.BackoffJitter = 0
			for attempt := 1; attempt <= 8; attempt++ {
				d := noJitter.Backoff(attempt)
				lo := time.Duration(float64(d) * (1 - tc.jitter))
				varied := false
				for range 200 {
					got := tc.sched.Backoff(attempt)
					if got < lo || got > d {
						t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", attempt, got, lo, d)
					}
					varied = varied || got != d
				}
				if !varied {
					t.Errorf("Backoff(%d) never jittered in 200 draws", attempt)
				}
			}
		})
	}
}

func TestDefaultSchedule(t *testing.T) {
	t.Parallel()
	s := session.DefaultSchedule()
	if s.HeartbeatInterval != 5*time.Second || s.LogFlushInterval != time.Second || s.ReadIdleTimeout != 20*time.Second ||
		s.ConnectTimeout != 15*time.Second || s.BackoffBase != time.Second || s.BackoffMax != 30*time.Second ||
		s.UploadRetries != 2 || s.UploadRetryPause != time.Second || s.CredentialsPoll != time.Second || s.JobDrain != 5*time.Second {
		t.Errorf("DefaultSchedule = %+v, want the reference constants", s)
	}
}
