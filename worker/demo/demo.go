package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// DefaultJobDelay makes each synthetic job last long enough to watch.
const DefaultJobDelay = 1500 * time.Millisecond

// Options configure a demo.
type Options struct {
	Out      io.Writer // one line per finished job
	Stderr   io.Writer // the worker's log
	Version  string
	HasUI    bool
	Jobs     int           // stop after this many finished jobs; 0 = until ctx ends
	JobDelay time.Duration // how long each synthetic job takes
	Pause    time.Duration // between a finished job and the next offer
}

// Demo is a running studio double plus a worker runtime pointed at it.
type Demo struct {
	Runtime *worker.Runtime
	Studio  *studiotest.Studio
	dir     string
	done    chan struct{} // closed after Jobs finished jobs
	once    sync.Once
}

// Start brings up the studio double and a worker runtime on a temporary
// config. Call Run to drive them and Close to remove everything.
func Start(opts Options) (*Demo, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Pause <= 0 {
		opts.Pause = 300 * time.Millisecond
	}
	dir, err := os.MkdirTemp("", "studio-worker-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &Demo{dir: dir, done: make(chan struct{})}
	d.Studio = studiotest.New(studiotest.Options{AutoApprove: true})
	finished := 0
	var mu sync.Mutex
	d.Studio.OnJobFinished(func(j studiotest.JobState) {
		mu.Lock()
		finished++
		n := finished
		mu.Unlock()
		fmt.Fprintln(opts.Out, describe(n, j))
		if opts.Jobs > 0 && n >= opts.Jobs {
			d.once.Do(func() { close(d.done) })
		}
	})
	url, err := d.Studio.Start("127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("demo: start studio: %w", err)
	}
	path := filepath.Join(dir, "config.toml")
	// The worker logs its own config load; this bootstrap stays quiet.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := config.Open(path, config.Options{Logger: quiet})
	if err == nil {
		_, err = store.Update(func(s *config.Settings) error {
			s.APIBaseURL = url
			s.AutoUpdateEnabled = false // a demo never replaces the binary
			s.StartMinimised = false
			return nil
		})
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: write config: %w", err)
	}
	d.Runtime, err = worker.New(worker.Options{
		ConfigPath:       path,
		Version:          opts.Version,
		HasUI:            opts.HasUI,
		Stderr:           opts.Stderr,
		Engine:           engine.NewMulti(engine.NewSynthetic(engine.WithDelay(opts.JobDelay))),
		RegistrationPoll: 500 * time.Millisecond,
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	fmt.Fprintf(opts.Out, "demo studio on %s; worker config in %s\n", url, path)
	return d, nil
}

// Run drives the demo until ctx ends or the requested number of jobs has
// finished, then stops the worker gracefully.
func (d *Demo) Run(ctx context.Context, pause time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	var jobsErr error
	go func() {
		defer wg.Done()
		jobsErr = d.Studio.RunJobs(ctx, nextJob, pause)
	}()
	go func() {
		defer wg.Done()
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := d.Runtime.Run(ctx)
	cancel()
	wg.Wait()
	if jobsErr != nil && !errors.Is(jobsErr, context.Canceled) {
		return errors.Join(err, jobsErr)
	}
	return err
}

// Close stops the studio and removes the temporary config.
func (d *Demo) Close() error {
	err := d.Studio.Close()
	return errors.Join(err, os.RemoveAll(d.dir))
}

// Run is `studio-worker demo --headless`.
func Run(ctx context.Context, opts Options) error {
	d, err := Start(opts)
	if err != nil {
		return err
	}
	defer d.Close()
	if opts.Pause <= 0 {
		opts.Pause = 300 * time.Millisecond
	}
	return d.Run(ctx, opts.Pause)
}

var prompts = []string{
	"a lighthouse on a cliff at dusk, oil painting",
	"Write a haiku about GPUs waiting for work.",
	"isometric pixel-art forge with glowing embers",
	"Summarise the rules of chess in two sentences.",
}

// nextJob alternates LLM and image jobs on the synthetic engine.
func nextJob(seq int) protocol.JobOfferClaim {
	kind := protocol.KindLLM
	if seq%2 == 1 {
		kind = protocol.KindImage
	}
	return studiotest.SyntheticClaim(fmt.Sprintf("demo-%d", seq), kind, prompts[seq%len(prompts)])
}

func describe(n int, j studiotest.JobState) string {
	outcome := j.Status
	if j.Error != "" {
		outcome += ": " + j.Error
	}
	took := j.FinishedAt.Sub(j.OfferedAt).Round(10 * time.Millisecond)
	return fmt.Sprintf("job %d %s %s · %s %s in %s", n, j.JobID, j.Claim.Task.Kind, j.Claim.Model, outcome, took)
}
