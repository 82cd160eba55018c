//go:build !headless

package main

import (
	"github.com/spf13/cobra"

	"github.com/minis-gg/studio-worker/worker/cli"
)

// uiCommands adds the tray and window commands of the UI build. Until the
// tray lands (issue 3) the UI build behaves like the headless one.
var uiCommands func(root *cobra.Command, env *cli.Env) *cobra.Command
