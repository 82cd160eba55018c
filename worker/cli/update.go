package cli

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/worker/updater"
)

// updateCommands are check-update (read the feed, never install) and update
// (install over the binary on disk now; a running worker restarts itself
// when idle because it watches its executable).
func updateCommands(env *Env) []*cobra.Command {
	check := &cobra.Command{
		Use:   "check-update",
		Short: "Say whether a newer release is on the update feed (never installs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := newCLIUpdater(env, "")
			if err != nil {
				return err
			}
			c, err := u.CheckNow(cmd.Context())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(env.Stdout, c.String())
			return err
		},
	}
	var target string
	upd := &cobra.Command{
		Use:   "update",
		Short: "Install the newest verified release over this binary now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := newCLIUpdater(env, target)
			if err != nil {
				return err
			}
			exe, err := u.ExePath()
			if err != nil {
				return err
			}
			c, err := u.UpdateNow(cmd.Context())
			if err != nil {
				return err
			}
			if !c.Available {
				_, err = fmt.Fprintln(env.Stdout, c.String())
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "updated %s: %s -> %s (verified against %s)\n"+
				"a running worker restarts into it by itself at the next moment no job runs\n",
				exe, c.Current, c.Latest, updater.ChecksumsFile)
			return err
		},
	}
	upd.Flags().StringVar(&target, "binary", "", "binary to replace (default: this executable)")
	return []*cobra.Command{check, upd}
}

// newCLIUpdater reads the feed settings; only warnings and errors are
// logged, the result goes to stdout.
func newCLIUpdater(env *Env, exe string) (*updater.Updater, error) {
	store, err := env.OpenStore()
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return updater.New(updater.Options{
		Settings: store.Settings,
		Version:  env.Version,
		ExePath:  exe,
		Logger:   logger,
	}), nil
}
