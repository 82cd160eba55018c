package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
)

type jobsTab struct {
	u    *UI
	root fyne.CanvasObject

	nowTitle   *widget.Label
	nowPrompt  *widget.Label
	nowElapsed *widget.Label
	recentHead *widget.Label
	list       *widget.List

	recent []observers.RecentJob
}

func newJobsTab(u *UI) *jobsTab {
	t := &jobsTab{u: u}
	t.nowTitle = widget.NewLabel("")
	t.nowTitle.TextStyle = fyne.TextStyle{Bold: true}
	t.nowPrompt = widget.NewLabel("")
	t.nowPrompt.Wrapping = fyne.TextWrapWord
	t.nowElapsed = widget.NewLabel("")
	t.recentHead = widget.NewLabel("")
	t.recentHead.TextStyle = fyne.TextStyle{Bold: true}
	t.list = widget.NewList(
		func() int { return len(t.recent) },
		func() fyne.CanvasObject {
			title := widget.NewLabel("")
			title.TextStyle = fyne.TextStyle{Bold: true}
			detail := widget.NewLabel("")
			detail.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(title, detail)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < 0 || id >= len(t.recent) {
				return
			}
			title, detail := RecentJobText(t.recent[id])
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(title)
			box.Objects[1].(*widget.Label).SetText(detail)
		},
	)
	card := widget.NewCard("Now running", "", container.NewVBox(t.nowTitle, t.nowPrompt, t.nowElapsed))
	t.root = container.NewBorder(container.NewVBox(card, t.recentHead), nil, nil, nil, t.list)
	return t
}

func (t *jobsTab) refresh(s Snapshot, now time.Time) {
	if s.HasJob {
		setText(t.nowTitle, s.Job.Kind+" · "+s.Job.Model)
		setText(t.nowPrompt, s.Job.Prompt)
		setText(t.nowElapsed, "running for "+FormatElapsed(now.Sub(s.Job.StartedAt)))
	} else {
		setText(t.nowTitle, "No job running")
		setText(t.nowPrompt, "")
		setText(t.nowElapsed, "")
	}
	recent := t.u.opts.Observers.RecentJobs()
	if !sameJobs(recent, t.recent) {
		t.recent = recent
		t.list.Refresh()
	}
	setText(t.recentHead, fmt.Sprintf("Recent jobs (%d, newest first)", len(t.recent)))
}

func sameJobs(a, b []observers.RecentJob) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if keyOf(a[i]) != keyOf(b[i]) {
			return false
		}
	}
	return true
}
