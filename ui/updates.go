package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/minis-gg/studio-worker/observers"
)

// MenuCheckUpdates is the tray item and About button that asks the feed.
const MenuCheckUpdates = "Check for updates"

// checkTimeout bounds one manual check: the answer is awaited by a person.
const checkTimeout = 2 * time.Minute

// UpdateCheckText is one line of the About tab's update log.
func UpdateCheckText(c observers.UpdateCheck) string {
	at := c.At.Local().Format("2006-01-02 15:04")
	var what string
	switch c.Outcome {
	case observers.UpdateDisabled:
		what = "auto-update is off"
	case observers.UpdateSkippedBusy:
		what = "skipped: a job was running"
	case observers.UpdateUpToDate:
		what = "up to date at " + c.Current
		if c.Latest != "" && c.Latest != c.Current {
			what = fmt.Sprintf("update available: %s → %s", c.Current, c.Latest)
		}
	case observers.UpdateCheckFailed:
		what = "check failed"
	case observers.UpdateUpdated:
		what = fmt.Sprintf("updated %s → %s; restarting", c.Current, c.Latest)
	case observers.UpdateUpdateFailed:
		what = "update failed; the running version stays"
	default:
		what = string(c.Outcome)
	}
	if c.Detail != "" && c.Outcome != observers.UpdateUpToDate && c.Outcome != observers.UpdateUpdated {
		what += " · " + c.Detail
	}
	return at + " · " + what
}

// CheckResultText is what the About tab says after a manual check.
func CheckResultText(answer string, err error) string {
	if err != nil {
		return "Could not check for updates: " + err.Error()
	}
	return answer
}

// checkForUpdates runs a manual check off the Fyne goroutine and shows the
// answer on the About tab (opened when asked from the tray).
func (u *UI) checkForUpdates(fromTray bool) {
	if u.opts.CheckForUpdates == nil {
		return
	}
	u.goAsync(func() {
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		answer, err := u.opts.CheckForUpdates(ctx)
		u.onMain(func() {
			if fromTray {
				u.Show()
				u.SelectTab(TabAbout)
			}
			if u.about != nil {
				u.about.showResult(CheckResultText(answer, err), err != nil)
			}
		})
	})
}
