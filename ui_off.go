//go:build headless

package main

import (
	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/worker/cli"
)

// uiCommands is nil in the headless build: no window, no tray, no cgo; the
// default command is `run`.
var uiCommands func(root *cobra.Command, env *cli.Env) *cobra.Command
