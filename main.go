// Command studio-worker takes AI generation jobs from a studio and runs them
// on this machine. See README.md.
package main

import (
	"os"

	"github.com/minis-gg/studio-worker/worker/cli"
)

// version is stamped at release time with -ldflags "-X main.version=x.y.z".
var version = "0.0.0-dev"

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr, cli.Build{Version: version, UI: uiCommands}))
}
