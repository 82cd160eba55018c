package observers

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestUpdateChecksNewestFirstAndCapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pushed int
	}{
		{"none", 0},
		{"one", 1},
		{"below cap", UpdateChecksCap - 1},
		{"exactly cap", UpdateChecksCap},
		{"over cap", UpdateChecksCap + 5},
		{"far over cap", 3 * UpdateChecksCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New()
			base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for i := range tt.pushed {
				s.RecordUpdateCheck(UpdateCheck{At: base.Add(time.Duration(i) * time.Minute), Outcome: UpdateUpToDate, Current: fmt.Sprint(i)})
			}
			got := s.UpdateChecks()
			want := min(tt.pushed, UpdateChecksCap)
			if len(got) != want {
				t.Fatalf("len = %d, want %d", len(got), want)
			}
			for i, c := range got {
				if wantCur := fmt.Sprint(tt.pushed - 1 - i); c.Current != wantCur {
					t.Errorf("[%d].Current = %q, want %q (newest first)", i, c.Current, wantCur)
				}
			}
		})
	}
}

func TestRecordUpdateCheckSignalsChangedNotLogs(t *testing.T) {
	t.Parallel()
	s := New()
	changed, logs := s.Changed(), s.LogsChanged()
	s.RecordUpdateCheck(UpdateCheck{Outcome: UpdateCheckFailed, Detail: "boom"})
	if !fired(changed) {
		t.Error("Changed did not fire")
	}
	if fired(logs) {
		t.Error("LogsChanged fired for an update check")
	}
}

func TestUpdateChecksReturnsCopy(t *testing.T) {
	t.Parallel()
	s := New()
	s.RecordUpdateCheck(UpdateCheck{Outcome: UpdateUpdated, Latest: "1.2.3"})
	got := s.UpdateChecks()
	got[0].Latest = "mutated"
	if again := s.UpdateChecks(); again[0].Latest != "1.2.3" {
		t.Errorf("caller's edit leaked into the slot: %q", again[0].Latest)
	}
}

func TestUpdateChecksConcurrent(t *testing.T) {
	t.Parallel()
	s := New()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				s.RecordUpdateCheck(UpdateCheck{Outcome: UpdateSkippedBusy, Detail: fmt.Sprint(w, "-", i)})
			}
		})
	}
	wg.Go(func() {
		for range writers * each {
			if n := len(s.UpdateChecks()); n > UpdateChecksCap {
				t.Errorf("len = %d over cap", n)
				return
			}
		}
	})
	wg.Wait()
	if n := len(s.UpdateChecks()); n != UpdateChecksCap {
		t.Errorf("final len = %d, want %d", n, UpdateChecksCap)
	}
}
