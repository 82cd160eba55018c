//go:build unix

package updater

import (
	"os"
	"os/exec"
	"testing"
)

// TestExecRestartReplacesProcess runs a helper process (this test binary)
// that calls the production restart: the before hook runs, then the process
// becomes the real 9.9.9 binary with the helper's argv ("studio-worker
// version"), which prints its version. Not parallel, for the reason given
// at TestUpdateNowAppliesRealRelease.
func TestExecRestartReplacesProcess(t *testing.T) {
	_, newBin := realBinaries(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), execHelperEnv+"="+newBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if want := "before restart\nstudio-worker 9.9.9\n"; string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
}
