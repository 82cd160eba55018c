package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/minis-gg/studio-worker/observers"
)

type logsTab struct {
	u    *UI
	root fyne.CanvasObject

	level    *widget.Select
	search   *widget.Entry
	follow   *widget.Check
	copySel  *widget.Button
	copyAll  *widget.Button
	count    *widget.Label
	list     *widget.List
	lines    []observers.LogLine // mirror of the ring, oldest first
	lastSeq  uint64
	shown    []observers.LogLine // lines passing the filter
	matcher  LogMatcher
	selected int
}

func newLogsTab(u *UI) *logsTab {
	t := &logsTab{u: u, selected: -1, matcher: NewLogMatcher(LevelAll, "")}
	t.level = widget.NewSelect(LevelFilters, func(string) { t.refilter() })
	t.level.SetSelected(string(LevelAll))
	t.search = widget.NewEntry()
	t.search.SetPlaceHolder("Search category, message or job id")
	t.search.OnChanged = func(string) { t.refilter() }
	t.follow = widget.NewCheck("Follow", func(on bool) {
		if on && t.list != nil {
			t.list.ScrollToBottom()
		}
	})
	t.follow.Checked = true
	t.copySel = widget.NewButton("Copy line", func() {
		if t.selected >= 0 && t.selected < len(t.shown) {
			u.app.Clipboard().SetContent(LogText(t.shown[t.selected]))
		}
	})
	t.copyAll = widget.NewButton("Copy all", func() { u.app.Clipboard().SetContent(t.Text()) })
	t.count = widget.NewLabel("")
	t.list = widget.NewList(
		func() int { return len(t.shown) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= 0 && id < len(t.shown) {
				l := o.(*widget.Label)
				l.SetText(LogText(t.shown[id]))
				l.Importance = importanceOf(t.shown[id])
			}
		},
	)
	t.list.OnSelected = func(id widget.ListItemID) { t.selected = id }
	t.list.OnUnselected = func(widget.ListItemID) { t.selected = -1 }
	bar := container.NewBorder(nil, nil,
		container.NewHBox(widget.NewLabel("Level"), t.level),
		container.NewHBox(t.follow, t.copySel, t.copyAll, t.count),
		t.search)
	t.root = container.NewBorder(bar, nil, nil, nil, t.list)
	return t
}

func importanceOf(l observers.LogLine) widget.Importance {
	switch LevelName(l.Level) {
	case "ERROR":
		return widget.DangerImportance
	case "WARN":
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

// pull copies the lines appended since the last pull. Fyne goroutine only.
func (t *logsTab) pull() {
	fresh := t.u.opts.Observers.LogsAfter(t.lastSeq)
	if len(fresh) == 0 {
		return
	}
	if fresh[0].Seq != t.lastSeq+1 {
		// Lines were evicted before we saw them: the ring came back whole.
		t.lines = fresh
	} else {
		t.lines = append(t.lines, fresh...)
		if over := len(t.lines) - observers.LogRingCap; over > 0 {
			t.lines = append(t.lines[:0:0], t.lines[over:]...)
		}
	}
	t.lastSeq = fresh[len(fresh)-1].Seq
	t.refilter()
}

// refilter recomputes the shown lines from the filter widgets.
func (t *logsTab) refilter() {
	if t.list == nil {
		return // during construction
	}
	t.matcher = NewLogMatcher(LevelFilter(t.level.Selected), t.search.Text)
	t.shown = FilterLogs(t.lines, t.matcher)
	t.selected = -1
	t.list.UnselectAll()
	t.list.Refresh()
	t.count.SetText(fmt.Sprintf("%d / %d", len(t.shown), len(t.lines)))
	if t.follow.Checked {
		t.list.ScrollToBottom()
	}
}

// Text is the shown lines as the clipboard gets them.
func (t *logsTab) Text() string {
	var b strings.Builder
	for _, l := range t.shown {
		b.WriteString(LogText(l))
		b.WriteByte('\n')
	}
	return b.String()
}
