package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/minis-gg/studio-worker/observers"
)

// StateFileName is the file beside config.toml where a running worker says
// how its session is, so `status` in another process can tell. It never
// holds a credential.
const StateFileName = "worker-state.json"

// RunState is the content of the state file.
type RunState struct {
	PID       int       `json:"pid"`
	Session   string    `json:"session"`
	Attempt   int       `json:"attempt,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Since     time.Time `json:"since"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (r *Runtime) statePath() string {
	return filepath.Join(filepath.Dir(r.Store.Path()), StateFileName)
}

// publishState writes the state file whenever the session slot changes and
// removes it when ctx ends.
func (r *Runtime) publishState(ctx context.Context) {
	path := r.statePath()
	defer os.Remove(path)
	var last observers.SessionState
	for {
		changed := r.Observers.Changed()
		st := r.Observers.Session()
		if st != last {
			last = st
			if err := writeState(path, RunState{PID: os.Getpid(), Session: string(st.Phase), Attempt: st.Attempt, Reason: st.Reason, Since: st.Since, UpdatedAt: time.Now()}); err != nil {
				r.Logger.Warn("could not write the state file", "category", "config", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func writeState(path string, st RunState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".worker-state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// ReadState reads a running worker's state file next to configPath. It
// returns ok=false when no worker is running for that config.
func ReadState(configPath string) (RunState, bool, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(configPath), StateFileName))
	if errors.Is(err, os.ErrNotExist) {
		return RunState{}, false, nil
	}
	if err != nil {
		return RunState{}, false, fmt.Errorf("read state: %w", err)
	}
	var st RunState
	if err := json.Unmarshal(b, &st); err != nil {
		return RunState{}, false, fmt.Errorf("read state %s: %w", StateFileName, err)
	}
	if !processAlive(st.PID) {
		return st, false, nil
	}
	return st, true, nil
}
