package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/config"
)

// Build describes the binary: its version and, in the UI build, the commands
// that need a display.
type Build struct {
	Version string
	// UI adds the commands of the UI build (ui, a demo with a window) and
	// returns the command to run with no subcommand. nil in a headless build.
	UI func(root *cobra.Command, env *Env) *cobra.Command
}

// Env is what every command shares: the global flags and output streams.
type Env struct {
	Version    string
	ConfigPath string
	Stdout     io.Writer
	Stderr     io.Writer
	HasUI      bool
}

// ResolveConfigPath is --config, or the default settings path.
func (e *Env) ResolveConfigPath() (string, error) {
	if e.ConfigPath != "" {
		return e.ConfigPath, nil
	}
	return config.DefaultPath()
}

// OpenStore opens the settings for a one-shot command.
func (e *Env) OpenStore() (*config.Store, error) {
	path, err := e.ResolveConfigPath()
	if err != nil {
		return nil, err
	}
	// The store's breadcrumbs go to this command's stderr, not to whatever
	// the process-wide slog default happens to be; a one-shot command's
	// output is its answer, so only warnings join it.
	logger := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return config.Open(path, config.Options{DetectedVRAMGb: worker.ProbeHost().VRAMTotalGb, Logger: logger})
}

// NewRuntime builds the worker runtime for run, ui and demo.
func (e *Env) NewRuntime(opts worker.Options) (*worker.Runtime, error) {
	path, err := e.ResolveConfigPath()
	if err != nil {
		return nil, err
	}
	opts.ConfigPath = path
	opts.Version = e.Version
	opts.HasUI = e.HasUI
	if opts.Stderr == nil {
		opts.Stderr = e.Stderr
	}
	return worker.New(opts)
}

// SignalContext is cancelled by SIGINT or SIGTERM (systemctl stop).
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Main runs the command line and returns the process exit code: 0 on
// success or a clean stop, 2 for bad arguments, 1 for everything else.
func Main(args []string, stdout, stderr io.Writer, b Build) int {
	env := &Env{Version: b.Version, Stdout: stdout, Stderr: stderr, HasUI: b.UI != nil}
	root := newRoot(env, b)
	root.SetArgs(guardNegativeNumbers(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var restart *worker.RestartError
	if errors.As(err, &restart) {
		// Everything has stopped and cleaned up; become the new binary with
		// the same arguments. Restart returns only if that failed.
		fmt.Fprintf(stderr, "studio-worker: %s; restarting in place\n", restart.Exe)
		err = restart.Restart()
	}
	fmt.Fprintf(stderr, "studio-worker: %v\n", err)
	var ue *worker.UsageError
	var fe *config.FieldError
	if errors.As(err, &ue) || errors.As(err, &fe) || errors.As(err, new(*argError)) {
		return 2
	}
	return 1
}

// argError marks cobra's own argument and flag errors.
type argError struct{ err error }

func (e *argError) Error() string { return e.err.Error() }
func (e *argError) Unwrap() error { return e.err }

func newRoot(env *Env, b Build) *cobra.Command {
	root := &cobra.Command{
		Use:           "studio-worker",
		Short:         "Runs AI generation jobs from a studio on this machine",
		Version:       b.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	root.SetVersionTemplate("studio-worker {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().StringVar(&env.ConfigPath, "config", "", "settings file (default: the user config dir's minis-studio-worker/config.toml)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &argError{err} })

	run := runCmd(env)
	root.AddCommand(run, demoCmd(env), registerCmd(env), statusCmd(env), configCmd(env),
		setEnabledCmd(env), setThresholdCmd(env), versionCmd(env))
	root.AddCommand(updateCommands(env)...)
	def := run
	if b.UI != nil {
		def = b.UI(root, env)
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return def.RunE(def, args) }
	// The root too: its NoArgs check is what reports an unknown command.
	wrapArgs(root)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs makes cobra's positional-argument errors usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &argError{err}
		}
		return nil
	}
}

// guardNegativeNumbers lets `set-threshold -1` reach the validator (which
// explains why it is refused) instead of failing as an unknown flag "-1". The
// number moves behind a "--" at the end, so flags after it (--config) still
// parse.
func guardNegativeNumbers(args []string) []string {
	if slices.Contains(args, "--") {
		return args
	}
	i := slices.Index(args, "set-threshold")
	if i < 0 || i+1 >= len(args) {
		return args
	}
	v := args[i+1]
	if len(v) < 2 || v[0] != '-' {
		return args
	}
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		return args
	}
	return slices.Concat(args[:i+1], args[i+2:], []string{"--", v})
}

// exactlyOneArg is cobra.ExactArgs(1) with a message naming what is missing.
func exactlyOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s: missing %s (usage: studio-worker %s)", cmd.Name(), what, cmd.Use)
		case len(args) > 1:
			return fmt.Errorf("%s: expected one %s, got %d arguments (usage: studio-worker %s)", cmd.Name(), what, len(args), cmd.Use)
		}
		return nil
	}
}
