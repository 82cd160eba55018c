package updater

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/observers"
)

func TestSettleObserve(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := fileID{exists: true, size: 10, mtime: t0, ino: 1}
	changed := fileID{exists: true, size: 20, mtime: t0.Add(time.Minute), ino: 2}
	rewritten := fileID{exists: true, size: 30, mtime: t0.Add(2 * time.Minute), ino: 2}
	sameInodeNewMtime := fileID{exists: true, size: 10, mtime: t0.Add(time.Hour), ino: 1}
	newInodeOnly := fileID{exists: true, size: 10, mtime: t0, ino: 9}
	type obs struct {
		id   fileID
		at   time.Duration
		want bool
	}
	tests := []struct {
		name  string
		polls []obs
	}{
		{"unchanged never fires", []obs{{base, 1 * time.Second, false}, {base, 10 * time.Second, false}}},
		{"changed fires after settle", []obs{{changed, 1 * time.Second, false}, {changed, 3 * time.Second, false}, {changed, 4 * time.Second, true}}},
		{"still changing restarts the settle clock", []obs{
			{changed, 1 * time.Second, false}, {rewritten, 3 * time.Second, false}, {rewritten, 5 * time.Second, false}, {rewritten, 6 * time.Second, true}}},
		{"missing mid-replace does not fire", []obs{{fileID{}, 1 * time.Second, false}, {fileID{}, 10 * time.Second, false}, {changed, 11 * time.Second, false}, {changed, 14 * time.Second, true}}},
		{"back to the original does not fire", []obs{{changed, 1 * time.Second, false}, {base, 2 * time.Second, false}, {base, 20 * time.Second, false}}},
		{"mtime alone counts", []obs{{sameInodeNewMtime, 1 * time.Second, false}, {sameInodeNewMtime, 4 * time.Second, true}}},
		{"inode alone counts", []obs{{newInodeOnly, 1 * time.Second, false}, {newInodeOnly, 4 * time.Second, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := settle{baseline: base, last: base, since: t0, wait: 3 * time.Second}
			for i, p := range tt.polls {
				if got := s.observe(p.id, t0.Add(p.at)); got != p.want {
					t.Errorf("poll %d at +%v: ready = %t, want %t", i, p.at, got, p.want)
				}
			}
		})
	}
}

func TestStatIDSeesReplacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "bin")
	if err := os.WriteFile(p, []byte("one"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := statID(p)
	if err != nil || !a.exists {
		t.Fatalf("statID = %+v, %v", a, err)
	}
	replace(t, p, []byte("two")) // same size, new file
	b, err := statID(p)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("a renamed-in replacement of the same size has the same identity")
	}
	missing, err := statID(filepath.Join(dir, "gone"))
	if err != nil || missing.exists {
		t.Errorf("missing file: %+v, %v; want not-exists and no error", missing, err)
	}
}

// replace swaps path for new content the way installers do: write beside,
// rename over.
func replace(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o755); err != nil {
		t.Fatal(err)
	}
	// Guarantee a different mtime even on coarse-grained file systems.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(tmp, future, future); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestWatchExecutableRestartsOnlyWhenIdle: a replaced executable is noticed,
// but while a job holds the slot the restart waits; it happens at the first
// idle moment, with the slot held so no offer starts under it.
func TestWatchExecutableRestartsOnlyWhenIdle(t *testing.T) {
	t.Parallel()
	exe := installed(t, exeName(), []byte("old"))
	obs := observers.New()
	releaseJob, ok := obs.TryReserveJob()
	if !ok {
		t.Fatal("slot taken")
	}
	attempts := make(chan bool, 100)
	idle := func() (func(), bool) {
		release, ok := obs.TryReserveJob()
		select {
		case attempts <- ok:
		default:
		}
		return release, ok
	}
	restarted := make(chan bool, 1)
	restart := func() error {
		restarted <- obs.Busy()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	firstPoll := make(chan struct{})
	var once sync.Once
	go func() {
		done <- watchExecutable(ctx, exe, time.Millisecond, 5*time.Millisecond, idle, restart,
			func() { once.Do(func() { close(firstPoll) }) })
	}()
	<-firstPoll // the baseline is taken: the replacement below is a change

	replace(t, exe, []byte("new binary"))
	for range 3 {
		if ok := <-attempts; ok {
			t.Fatal("the watcher got the slot while a job held it")
		}
	}
	select {
	case <-restarted:
		t.Fatal("restarted while a job ran")
	default:
	}
	releaseJob()
	if busy := <-restarted; !busy {
		t.Error("the job slot was free during the restart")
	}
	if err := <-done; err != nil {
		t.Errorf("WatchExecutable = %v", err)
	}
	if obs.Busy() {
		t.Error("slot still held after the restart returned")
	}
}

// TestWatchExecutableIgnoresUntouchedAndMissing: polls of an unchanged file,
// and of a file that vanished mid-replace, never ask for the slot; the
// finished replacement does.
func TestWatchExecutableIgnoresUntouchedAndMissing(t *testing.T) {
	t.Parallel()
	exe := installed(t, exeName(), []byte("old"))
	polls := make(chan struct{})
	idleCalls := make(chan struct{}, 1)
	idle := func() (func(), bool) {
		select {
		case idleCalls <- struct{}{}:
		default:
		}
		return func() {}, true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- watchExecutable(ctx, exe, time.Millisecond, 0, idle, func() error { return nil }, func() {
			select {
			case polls <- struct{}{}:
			case <-ctx.Done():
			}
		})
	}()
	waitPolls := func(n int) {
		for range n {
			<-polls
		}
	}
	waitPolls(20)
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	waitPolls(20)
	select {
	case <-idleCalls:
		t.Fatal("the watcher acted on an unchanged or missing executable")
	default:
	}
	replace(t, exe, []byte("new"))
	go func() {
		for {
			select {
			case <-polls:
			case <-ctx.Done():
				return
			}
		}
	}()
	<-idleCalls
	if err := <-done; err != nil {
		t.Errorf("WatchExecutable = %v", err)
	}
}
