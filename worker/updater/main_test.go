package updater

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// execHelperEnv makes the test binary act as a worker that restarts in place
// (TestExecRestartReplacesProcess): it execs the binary named there with the
// argv "studio-worker version".
const execHelperEnv = "STUDIO_WORKER_UPDATER_EXEC_HELPER"

var binDir string // real binaries of this project, built on first use

func TestMain(m *testing.M) {
	if exe := os.Getenv(execHelperEnv); exe != "" {
		os.Args = []string{BinaryName, "version"}
		err := ExecRestart(exe, func() { fmt.Println("before restart") })()
		fmt.Fprintln(os.Stderr, "exec returned:", err)
		os.Exit(3)
	}
	dir, err := os.MkdirTemp("", "updater-bins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var bins struct {
	once     sync.Once
	old, new string
	err      error
}

// realBinaries builds this project's headless worker twice, stamped 1.0.0
// and 9.9.9, once per test binary. It takes 30–60 s on a cold cache, so
// tests using it are skipped with -short.
func realBinaries(t *testing.T) (oldBin, newBin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the worker binary; skipped with -short")
	}
	bins.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			bins.err = fmt.Errorf("no go tool to build the worker: %w", err)
			return
		}
		build := func(version string) (string, error) {
			out := filepath.Join(binDir, version, exeName())
			cmd := exec.Command(goTool, "build", "-tags", "headless",
				"-ldflags", "-X main.version="+version, "-o", out, "github.com/minis-gg/studio-worker")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("go build %s: %w\n%s", version, err, b)
			}
			return out, nil
		}
		if bins.old, bins.err = build("1.0.0"); bins.err != nil {
			return
		}
		bins.new, bins.err = build("9.9.9")
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.old, bins.new
}

func exeName() string {
	if runtime.GOOS == "windows" {
		return BinaryName + ".exe"
	}
	return BinaryName
}

// runVersion runs bin's `version` command.
func runVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	return string(bytes.TrimSpace(out))
}
