package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/demo"
)

func runCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the worker headless until SIGINT/SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := env.NewRuntime(worker.Options{SelfUpdate: true})
			if err != nil {
				return err
			}
			ctx, stop := SignalContext()
			defer stop()
			return rt.Run(ctx)
		},
	}
}

func demoCmd(env *Env) *cobra.Command {
	var opts demo.Options
	var headless bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a local studio with synthetic jobs and a worker pointed at it (no account, no network)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := SignalContext()
			defer stop()
			opts.Out = env.Stdout
			opts.Stderr = env.Stderr
			opts.Version = env.Version
			return demo.Run(ctx, opts)
		},
	}
	c.Flags().BoolVar(&headless, "headless", false, "no window or tray (the only mode of a headless build)")
	c.Flags().IntVar(&opts.Jobs, "jobs", 0, "stop after this many finished jobs (0: until Ctrl-C)")
	c.Flags().DurationVar(&opts.JobDelay, "job-delay", demo.DefaultJobDelay, "how long each synthetic job takes")
	return c
}

func registerCmd(env *Env) *cobra.Command {
	var apiBaseURL string
	var reset bool
	c := &cobra.Command{
		Use:   "register",
		Short: "Point the worker at a studio or clear its registration (no network)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := env.OpenStore()
			if err != nil {
				return err
			}
			return worker.Register(env.Stdout, store, apiBaseURL, reset)
		},
	}
	c.Flags().StringVar(&apiBaseURL, "api-base-url", "", "studio URL to register against")
	c.Flags().BoolVar(&reset, "reset", false, "forget worker id, token and any pending request")
	return c
}

func statusCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show registration, session state and settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := env.OpenStore()
			if err != nil {
				return err
			}
			return worker.Status(env.Stdout, store)
		},
	}
}

func configCmd(env *Env) *cobra.Command {
	var show bool
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the settings file (secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := env.OpenStore()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(store.Path())
			if err != nil {
				return fmt.Errorf("config: %w", err)
			}
			return worker.ShowConfig(env.Stdout, store.Path(), b, show)
		},
	}
	c.Flags().BoolVar(&show, "show-secrets", false, "print auth token and registration secret as stored")
	return c
}

func setEnabledCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "set-enabled true|false",
		Short: "Take new jobs or not (a running worker follows within 2 s)",
		Args:  exactlyOneArg("true|false argument"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := worker.ParseEnabled(args[0]); err != nil {
				return err // before opening: a bad argument never touches the file
			}
			store, err := env.OpenStore()
			if err != nil {
				return err
			}
			return worker.SetEnabled(env.Stdout, store, args[0])
		},
	}
}

func setThresholdCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "set-threshold GB",
		Short: "Largest VRAM estimate (GB) of a job this worker is offered",
		Args:  exactlyOneArg("GB argument"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := worker.ParseThreshold(args[0]); err != nil {
				return err
			}
			store, err := env.OpenStore()
			if err != nil {
				return err
			}
			return worker.SetThreshold(env.Stdout, store, args[0])
		},
	}
}

func versionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(env.Stdout, "studio-worker %s\n", env.Version)
			return err
		},
	}
}
