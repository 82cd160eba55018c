//go:build !headless

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/ui"
	"github.com/minis-gg/studio-worker/ui/autostart"
	"github.com/minis-gg/studio-worker/ui/instance"
	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/cli"
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/demo"
)

const (
	// tabEnv opens the window on a given tab (screenshots, support).
	tabEnv = "STUDIO_WORKER_UI_TAB"
	// benchLogsEnv pre-fills the log ring with N lines (scripts/ui-bench.sh
	// measures the Logs tab holding a full ring on an idle worker).
	benchLogsEnv = "STUDIO_WORKER_UI_BENCH_LOGS"
	// profileEnv names a directory for cpu.pprof (the whole run) and
	// heap.pprof (at exit): how the idle cost of the UI is investigated.
	profileEnv = "STUDIO_WORKER_UI_PROFILE"
)

// uiCommands adds `ui` (the default command) and replaces `demo` with one
// that also shows the window.
var uiCommands = func(root *cobra.Command, env *cli.Env) *cobra.Command {
	uiCmd := &cobra.Command{
		Use:   "ui",
		Short: "Run the worker with a tray icon and a status window (default)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runUI(env) },
	}
	for _, c := range root.Commands() {
		if c.Name() == "demo" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(uiCmd, uiDemoCmd(env))
	return uiCmd
}

func newApp() fyne.App {
	a := app.NewWithID("gg.minis.studio-worker")
	a.SetIcon(ui.AppIcon())
	a.Settings().SetTheme(ui.DarkTheme())
	return a
}

// hasDisplay reports whether a window can open. On Linux and the BSDs that
// needs an X11 or Wayland session; without one Fyne cannot start.
func hasDisplay() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

func runUI(env *cli.Env) error {
	if !hasDisplay() {
		return errors.New("no display (DISPLAY and WAYLAND_DISPLAY are unset): the tray and window need a desktop session; on a server use `studio-worker run`")
	}
	path, err := env.ResolveConfigPath()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	lock, err := instance.Acquire(dir)
	if errors.Is(err, instance.ErrRunning) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := instance.Raise(ctx, dir); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "studio-worker ui is already running for", path, "- brought its window to the front")
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Close()

	rt, err := env.NewRuntime(worker.Options{StayAfterStop: true, SelfUpdate: true})
	if err != nil {
		return err
	}
	defer startProfile(rt.Logger)()
	entryArgs := []string{"ui"}
	if env.ConfigPath != "" {
		if abs, err := filepath.Abs(env.ConfigPath); err == nil {
			entryArgs = []string{"--config", abs, "ui"}
		}
	}
	applyAutostart := func(s config.Settings) {
		e, err := autostart.Current(entryArgs...)
		if err == nil {
			err = autostart.Apply(s.AutoStart, e)
		}
		if err != nil {
			rt.Logger.Warn("could not update the start-with-my-computer entry", "category", "ui", "error", err.Error())
		}
	}
	s := rt.Store.Settings()
	applyAutostart(s)
	if n, err := strconv.Atoi(os.Getenv(benchLogsEnv)); err == nil {
		for i := range n {
			rt.Logger.Info(fmt.Sprintf("bench line %d", i), "category", "bench")
		}
	}

	opts := ui.Options{
		Observers: rt.Observers,
		Store:     rt.Store,
		Worker:    rt,
		Version:   env.Version,
		Tab:       os.Getenv(tabEnv),
		Hidden:    s.StartMinimised,
		Raise:     lock.Raised(),
		OnSaved:   applyAutostart,
	}
	defer platformTray(&opts)()
	opts.CheckForUpdates = func(ctx context.Context) (string, error) {
		c, err := rt.CheckForUpdates(ctx)
		return c.String(), err
	}
	// With StayAfterStop the runtime returns only when asked to stop or when
	// its binary was replaced: either way the app goes too.
	_, err = ui.Run(newApp(), opts, rt.Run, true)
	var restart *worker.RestartError
	if errors.As(err, &restart) {
		return err // cli.Main execs the new binary once everything has closed
	}
	if err != nil {
		rt.Logger.Info("worker had stopped: "+err.Error(), "category", "ui")
	}
	return nil
}

func uiDemoCmd(env *cli.Env) *cobra.Command {
	var opts demo.Options
	var headless bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a local studio with synthetic jobs and a worker pointed at it, with the window open on Jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = env.Stdout
			opts.Stderr = env.Stderr
			opts.Version = env.Version
			if !headless && !hasDisplay() {
				fmt.Fprintln(env.Stderr, "no display (DISPLAY and WAYLAND_DISPLAY are unset); running the demo headless")
				headless = true
			}
			if headless {
				ctx, stop := cli.SignalContext()
				defer stop()
				return demo.Run(ctx, opts)
			}
			return runDemoUI(env, opts)
		},
	}
	c.Flags().BoolVar(&headless, "headless", false, "no window or tray")
	c.Flags().IntVar(&opts.Jobs, "jobs", 0, "stop after this many finished jobs (0: until Quit)")
	c.Flags().DurationVar(&opts.JobDelay, "job-delay", demo.DefaultJobDelay, "how long each synthetic job takes")
	return c
}

func runDemoUI(env *cli.Env, opts demo.Options) error {
	opts.HasUI = true
	d, err := demo.Start(opts)
	if err != nil {
		return err
	}
	defer d.Close()
	tab := os.Getenv(tabEnv)
	if tab == "" {
		tab = ui.TabJobs
	}
	uo := ui.Options{
		Observers: d.Runtime.Observers,
		Store:     d.Runtime.Store,
		Worker:    d.Runtime,
		Version:   env.Version,
		Tab:       tab,
	}
	defer platformTray(&uo)()
	const pause = 300 * time.Millisecond
	_, err = ui.Run(newApp(), uo, func(ctx context.Context) error { return d.Run(ctx, pause) }, opts.Jobs > 0)
	if err != nil {
		slog.Default().Error("demo stopped: " + err.Error())
	}
	return err
}
