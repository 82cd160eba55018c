package observers

import "time"

// UpdateChecksCap is how many auto-update outcomes the About tab can show.
const UpdateChecksCap = 20

// UpdateOutcome is what one update check decided.
type UpdateOutcome string

const (
	UpdateDisabled     UpdateOutcome = "disabled"
	UpdateSkippedBusy  UpdateOutcome = "skipped_busy"
	UpdateUpToDate     UpdateOutcome = "up_to_date"
	UpdateCheckFailed  UpdateOutcome = "check_failed"
	UpdateUpdated      UpdateOutcome = "updated"
	UpdateUpdateFailed UpdateOutcome = "update_failed"
)

// UpdateCheck is one auto-update decision. Latest is empty when the feed was
// not read; Detail is the human reason (error text, deferral cause).
type UpdateCheck struct {
	At      time.Time
	Outcome UpdateOutcome
	Current string
	Latest  string
	Detail  string
}

// RecordUpdateCheck pushes an update decision; the oldest beyond
// UpdateChecksCap is dropped.
func (s *Set) RecordUpdateCheck(c UpdateCheck) {
	s.update(func() {
		if len(s.updateChecks) < UpdateChecksCap {
			s.updateChecks = append(s.updateChecks, UpdateCheck{})
		}
		// Shift in place: at 20 entries a copy is cheaper than a ring's
		// bookkeeping and the checks come minutes apart.
		copy(s.updateChecks[1:], s.updateChecks)
		s.updateChecks[0] = c
	})
}

// UpdateChecks returns a copy of the recorded decisions, newest first.
func (s *Set) UpdateChecks() []UpdateCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]UpdateCheck(nil), s.updateChecks...)
}
