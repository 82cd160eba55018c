package ui

// This file is the pure view model: state in, texts out. It imports no Fyne
// package so every rule the window and the tray show is table-tested.

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/minis-gg/studio-worker/observers"
)

// AppName prefixes tooltips, window titles and notifications.
const AppName = "studio-worker"

// Snapshot is everything the tray and the status texts are computed from,
// read from the observers in one go.
type Snapshot struct {
	Registration observers.RegistrationState
	Session      observers.SessionState
	Heartbeat    observers.HeartbeatStatus
	HasHeartbeat bool
	Enabled      bool
	Job          observers.CurrentJob
	HasJob       bool
	VRAMTotalGb  float64
	VRAMThreshGb float64
}

// TakeSnapshot reads the observer slots.
func TakeSnapshot(o *observers.Set) Snapshot {
	var s Snapshot
	s.Registration = o.Registration()
	s.Session = o.Session()
	s.Heartbeat, s.HasHeartbeat = o.Heartbeat()
	s.Enabled = o.Enabled()
	s.Job, s.HasJob = o.CurrentJob()
	s.VRAMTotalGb, s.VRAMThreshGb = o.VRAM()
	return s
}

// TrayState is what the tray icon shows; each has its own shape and colour.
type TrayState int

const (
	TrayTaking       TrayState = iota // connected and enabled, idle
	TrayRunning                       // a job is running
	TrayDisabled                      // the operator turned job taking off
	TrayWaiting                       // registration not approved yet
	TrayDisconnected                  // connecting, reconnecting or stopped cleanly
	TrayError                         // stopped for good: auth failed, rejected, fatal
)

// AllTrayStates lists every state, for icon generation and tests.
var AllTrayStates = []TrayState{TrayTaking, TrayRunning, TrayDisabled, TrayWaiting, TrayDisconnected, TrayError}

// String is the icon id (also the asset file stem).
func (t TrayState) String() string {
	switch t {
	case TrayTaking:
		return "taking"
	case TrayRunning:
		return "running"
	case TrayDisabled:
		return "disabled"
	case TrayWaiting:
		return "waiting"
	case TrayDisconnected:
		return "disconnected"
	case TrayError:
		return "error"
	}
	return "unknown"
}

// StateOf picks the tray state. A stop for good wins over everything because
// the operator has to act; a running job wins over the switch because it
// finishes even when job taking was just turned off.
func StateOf(s Snapshot) TrayState {
	switch {
	case s.Registration.Phase == observers.RegistrationRejected,
		s.Session.Phase == observers.SessionAuthFailed,
		s.Session.Phase == observers.SessionFatal,
		s.Session.Phase == observers.SessionStopped && s.Session.Reason != "":
		return TrayError
	case s.HasJob:
		return TrayRunning
	case !s.Enabled:
		return TrayDisabled
	case s.Registration.Phase != observers.RegistrationApproved,
		s.Session.Phase == observers.SessionWaitingForApproval:
		return TrayWaiting
	case s.Session.Phase != observers.SessionConnected:
		return TrayDisconnected
	}
	return TrayTaking
}

// StateLabel names the state in a sentence fragment ("taking jobs").
func StateLabel(s Snapshot) string {
	switch StateOf(s) {
	case TrayTaking:
		return "taking jobs"
	case TrayRunning:
		return "running a job"
	case TrayDisabled:
		return "not taking jobs"
	case TrayWaiting:
		if s.Registration.Phase == observers.RegistrationPending {
			return "waiting for approval"
		}
		return "registering"
	case TrayDisconnected:
		switch s.Session.Phase {
		case observers.SessionReconnecting:
			return fmt.Sprintf("reconnecting (attempt %d)", s.Session.Attempt)
		case observers.SessionStopped:
			return "stopped"
		}
		return "connecting"
	case TrayError:
		switch {
		case s.Registration.Phase == observers.RegistrationRejected:
			return "registration rejected"
		case s.Session.Phase == observers.SessionAuthFailed:
			return "stopped: auth failed"
		}
		return "stopped on an error"
	}
	return ""
}

// Tooltip is the tray tooltip and title.
func Tooltip(s Snapshot) string { return AppName + " — " + StateLabel(s) }

// Menu item labels shared by the tray and its tests.
const (
	MenuOpenWindow = "Open window"
	MenuTakeJobs   = "Take new jobs"
	MenuQuit       = "Quit"
)

// TrayModel is the tray menu and icon as data; the tray is rebuilt only when
// it changes.
type TrayModel struct {
	State     TrayState
	Tooltip   string
	StatusRow string // disabled first row naming the state
	TakeJobs  bool   // check mark of "Take new jobs"
	JobRow    string // disabled row "kind · model · elapsed"; "" when idle
	StopRow   string // disabled row naming why the worker stopped; "" unless stopped for good
}

// TrayModelOf computes the tray at time now.
func TrayModelOf(s Snapshot, now time.Time) TrayModel {
	m := TrayModel{
		State:     StateOf(s),
		Tooltip:   Tooltip(s),
		StatusRow: "Status: " + StateLabel(s),
		TakeJobs:  s.Enabled,
	}
	if s.HasJob {
		m.JobRow = JobLine(s.Job, now)
	}
	m.StopRow = StopRow(s)
	return m
}

// JobLine is "kind · model · elapsed".
func JobLine(j observers.CurrentJob, now time.Time) string {
	return j.Kind + " · " + j.Model + " · " + FormatElapsed(now.Sub(j.StartedAt))
}

// FormatAge renders how long ago something happened: `Ns ago`, `Nm SSs ago`,
// `Nh MMm ago`. A future time (clock skew) counts as now.
func FormatAge(d time.Duration) string { return FormatElapsed(d) + " ago" }

// FormatElapsed renders a running or finished job's time: `12s`, `3m 04s`,
// `1h 12m`.
func FormatElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int64(d / time.Second)
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm %02ds", sec/60, sec%60)
	}
	return fmt.Sprintf("%dh %02dm", sec/3600, sec%3600/60)
}

// FormatDuration is FormatElapsed with tenths under ten seconds, because
// synthetic and small jobs often finish in under two.
func FormatDuration(d time.Duration) string {
	if d > 0 && d < 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return FormatElapsed(d)
}

// RegistrationText is the registration line of the Status tab.
func RegistrationText(r observers.RegistrationState, apiBaseURL string, now time.Time) string {
	switch r.Phase {
	case observers.RegistrationPending:
		t := "Waiting for approval · request " + r.RequestID
		if !r.Since.IsZero() {
			t += " · asked " + FormatAge(now.Sub(r.Since))
		}
		return t
	case observers.RegistrationRejected:
		t := "Registration rejected"
		if r.Reason != "" {
			t += ": " + r.Reason
		}
		return t + " — Reset registration asks the studio again"
	case observers.RegistrationApproved:
		return "Registered as " + r.WorkerID
	}
	return "Asking " + apiBaseURL + " for a registration slot…"
}

// StopAction is the way out the Status tab offers when the worker stopped
// on its own and waits for the operator.
type StopAction int

const (
	StopActionNone  StopAction = iota
	StopActionReset            // rejected or auth failed: the identity is no good
	StopActionRetry            // fatal (or stopped on another error): try again as is
)

// StopActionOf picks the button for the state: a rejected registration or a
// refused token cannot get better by retrying, so they offer a reset; any
// other stop for good offers a retry.
func StopActionOf(s Snapshot) StopAction {
	switch {
	case s.Registration.Phase == observers.RegistrationRejected,
		s.Session.Phase == observers.SessionAuthFailed:
		return StopActionReset
	case s.Session.Phase == observers.SessionFatal,
		s.Session.Phase == observers.SessionStopped && s.Session.Reason != "":
		return StopActionRetry
	}
	return StopActionNone
}

// Texts of the Status tab's ways out.
const (
	ResetConfirmTitle = "Reset registration?"
	ResetConfirmText  = "This forgets this worker's identity (its worker id and token)\n" +
		"and asks the studio for approval again. Someone at the studio\n" +
		"has to approve the new request before jobs come in."
	ResetButton = "Reset registration"
	RetryButton = "Retry"
)

// ResetResultText says what a Reset registration did.
func ResetResultText(err error) string {
	if err != nil {
		return "Could not reset the registration: " + err.Error()
	}
	return "Registration reset: asking the studio for approval again."
}

// RetryResultText says what a Retry did.
func RetryResultText() string { return "Retrying: starting the worker again." }

// StopRow is the disabled tray line naming why the worker stopped, or "".
func StopRow(s Snapshot) string {
	if StopActionOf(s) == StopActionNone {
		return ""
	}
	switch {
	case s.Registration.Phase == observers.RegistrationRejected && s.Registration.Reason != "":
		return clipRunes("Rejected: "+s.Registration.Reason, stopRowMax)
	case s.Session.Reason != "":
		return clipRunes("Reason: "+s.Session.Reason, stopRowMax)
	}
	return ""
}

// stopRowMax keeps a long error from widening the tray menu past the screen.
const stopRowMax = 80

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// SessionText is the session line of the Status tab.
func SessionText(st observers.SessionState) string {
	withReason := func(t string) string {
		if st.Reason != "" {
			return t + " · " + st.Reason
		}
		return t
	}
	switch st.Phase {
	case "":
		return "Not started"
	case observers.SessionWaitingForApproval:
		return "Waiting for approval"
	case observers.SessionConnecting:
		return "Connecting…"
	case observers.SessionConnected:
		return "Connected"
	case observers.SessionReconnecting:
		return withReason(fmt.Sprintf("Reconnecting (attempt %d)", st.Attempt))
	case observers.SessionAuthFailed:
		return withReason("Auth failed")
	case observers.SessionFatal:
		return withReason("Stopped on an error")
	case observers.SessionStopped:
		return withReason("Stopped")
	}
	return withReason(string(st.Phase))
}

// HeartbeatText is "ok · 5s ago", "error · reason · 12s ago" or "never".
func HeartbeatText(h observers.HeartbeatStatus, ok bool, now time.Time) string {
	if !ok {
		return "never"
	}
	age := FormatAge(now.Sub(h.LastAttemptAt))
	if h.Outcome == observers.HeartbeatOK {
		return "ok · " + age
	}
	if h.Reason == "" {
		return "error · " + age
	}
	return "error · " + h.Reason + " · " + age
}

// VRAMText is "24.0 GB total · jobs up to 12.0 GB".
func VRAMText(total, threshold float64) string {
	t := "unknown"
	if total > 0 {
		t = fmt.Sprintf("%.1f GB", total)
	}
	return fmt.Sprintf("%s total · jobs up to %.1f GB", t, threshold)
}

// RecentJobText is the one-line summary of a finished job.
func RecentJobText(j observers.RecentJob) (title, detail string) {
	mark := "✓"
	if j.Outcome == observers.OutcomeFailed {
		mark = "✗"
	}
	title = fmt.Sprintf("%s %s · %s · %s", mark, j.Outcome, j.Kind, j.Model)
	detail = "took " + FormatDuration(j.Duration())
	if !j.FinishedAt.IsZero() {
		detail += " · finished " + j.FinishedAt.Local().Format("15:04:05")
	}
	if j.Reason != "" {
		detail += " · " + j.Reason
	}
	return title, detail
}

// LevelFilter selects log lines at or above a level.
type LevelFilter string

const (
	LevelAll   LevelFilter = "All"
	LevelInfo  LevelFilter = "Info"
	LevelWarn  LevelFilter = "Warn"
	LevelError LevelFilter = "Error"
)

// LevelFilters is the order of the level Select.
var LevelFilters = []string{string(LevelAll), string(LevelInfo), string(LevelWarn), string(LevelError)}

func (f LevelFilter) min() slog.Level {
	switch f {
	case LevelInfo:
		return slog.LevelInfo
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	}
	return slog.Level(-1 << 10)
}

// LogMatcher filters log lines by minimum level and a case-insensitive text
// over category, message and job id.
type LogMatcher struct {
	min    slog.Level
	needle string
}

// NewLogMatcher builds a matcher; an empty text matches every line.
func NewLogMatcher(level LevelFilter, text string) LogMatcher {
	return LogMatcher{min: level.min(), needle: strings.ToLower(strings.TrimSpace(text))}
}

// Match reports whether l passes the filter.
func (m LogMatcher) Match(l observers.LogLine) bool {
	if l.Level < m.min {
		return false
	}
	if m.needle == "" {
		return true
	}
	return containsFold(l.Category, m.needle) || containsFold(l.Message, m.needle) || containsFold(l.JobID, m.needle)
}

func containsFold(s, lowerNeedle string) bool {
	return strings.Contains(strings.ToLower(s), lowerNeedle)
}

// FilterLogs returns the lines passing m, keeping order.
func FilterLogs(lines []observers.LogLine, m LogMatcher) []observers.LogLine {
	out := make([]observers.LogLine, 0, len(lines))
	for _, l := range lines {
		if m.Match(l) {
			out = append(out, l)
		}
	}
	return out
}

// LevelName is the fixed-width level column.
func LevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// LogText renders one line for the list and the clipboard, in local time.
func LogText(l observers.LogLine) string {
	t := fmt.Sprintf("%s %-5s %s: %s", l.Time.Local().Format("15:04:05"), LevelName(l.Level), l.Category, l.Message)
	if l.JobID != "" {
		t += " [job " + l.JobID + "]"
	}
	return t
}
