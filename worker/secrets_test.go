package worker_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker"
	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/session"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// TestSecretsNeverLeak runs registration, a session, a completed job, an
// upload that fails for good and an auth failure, then looks for the auth
// token and the registration secret in everything the worker printed,
// shipped or returned.
func TestSecretsNeverLeak(t *testing.T) {
	st, url := startStudio(t, studiotest.Options{AutoApprove: true})
	r := startRuntime(t, url, nil)
	waitWelcomed(t, st)
	ctx := waitCtx(t, 20*time.Second)

	if err := st.Offer(studiotest.SyntheticClaim("job-ok", protocol.KindLLM, "say hi")); err != nil {
		t.Fatal(err)
	}
	if j, err := st.WaitJob(ctx, "job-ok", studiotest.StatusCompleted, studiotest.StatusFailed); err != nil || j.Status != studiotest.StatusCompleted {
		t.Fatalf("job-ok: %+v, %v", j, err)
	}
	st.FailUploads(3, http.StatusInternalServerError) // first try + 2 retries
	if err := st.Offer(studiotest.SyntheticClaim("job-up", protocol.KindImage, "a red square")); err != nil {
		t.Fatal(err)
	}
	failed, err := st.WaitJob(ctx, "job-up", studiotest.StatusCompleted, studiotest.StatusFailed)
	if err != nil || failed.Status != studiotest.StatusFailed || !failed.Retryable {
		t.Fatalf("job-up: %+v, %v; want failed retryable after the upload retries", failed, err)
	}
	// Wait until the upload failure was shipped in a log batch.
	if _, err := st.WaitFrame(ctx, func(rec studiotest.Recorded) bool {
		lb, ok := rec.Frame.(*protocol.LogBatch)
		if !ok {
			return false
		}
		for _, e := range lb.Entries {
			if e.JobID == "job-up" && strings.Contains(e.Message, "upload failed") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("upload failure never shipped: %v", err)
	}

	var status, cfg, cfgSecrets bytes.Buffer
	if err := worker.Status(&status, r.rt.Store); err != nil {
		t.Fatal(err)
	}
	file := readFile(t, r.path)
	if err := worker.ShowConfig(&cfg, r.path, file, false); err != nil {
		t.Fatal(err)
	}
	if err := worker.ShowConfig(&cfgSecrets, r.path, file, true); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v", err)
	}

	// The secrets, from the double's records and the file.
	polls := st.Polls()
	if len(polls) == 0 {
		t.Fatal("no registration poll recorded")
	}
	regSecret := strings.TrimPrefix(polls[0].Authorization, "Bearer ")
	s := readConfig(t, r.path)
	token := s.AuthToken.Reveal()
	if studioTok, _ := st.WorkerToken(s.WorkerID); len(regSecret) != 64 || token == "" || token != studioTok {
		t.Fatalf("could not read the secrets back (secret %d chars, token set %t, matches studio %t)", len(regSecret), token != "", token == studioTok)
	}
	if !strings.Contains(cfgSecrets.String(), token) {
		t.Fatal("config --show-secrets does not show the token; the redaction check below would prove nothing")
	}

	// An auth failure on a later start: the token the studio refuses must not
	// appear in the error either.
	st.AddWorker(s.WorkerID, "rotated-by-operator")
	r2 := runAt(t, r.path)
	runErr := r2.wait(t)
	var af *session.AuthFailedError
	if !errors.As(runErr, &af) {
		t.Fatalf("Run with a revoked token = %v, want *session.AuthFailedError", runErr)
	}

	captures := map[string]string{
		"stderr":           r.stderr.String(),
		"stderr (2nd run)": r2.stderr.String(),
		"status":           status.String(),
		"config":           cfg.String(),
		"job error":        failed.Error,
		"run error":        runErr.Error(),
	}
	var shipped strings.Builder
	for _, e := range st.Logs() {
		fmt.Fprintf(&shipped, "%s %s %s %s\n", e.Level, e.Category, e.JobID, e.Message)
	}
	captures["logBatch entries"] = shipped.String()
	var ring strings.Builder
	for _, l := range append(r.rt.Observers.Logs(), r2.rt.Observers.Logs()...) {
		fmt.Fprintf(&ring, "%s %s\n", l.Category, l.Message)
	}
	for _, j := range r.rt.Observers.RecentJobs() {
		fmt.Fprintf(&ring, "%s %s\n", j.JobID, j.Reason)
	}
	captures["observers"] = ring.String() + fmt.Sprintf("%+v %+v", r.rt.Observers.Session(), r2.rt.Observers.Session())

	for name, text := range captures {
		if text == "" && name != "config" {
			continue
		}
		if strings.Contains(text, token) {
			t.Errorf("%s contains the auth token", name)
		}
		if strings.Contains(text, regSecret) {
			t.Errorf("%s contains the registration secret", name)
		}
		if strings.Contains(text, "rotated-by-operator") {
			t.Errorf("%s contains the studio's token", name)
		}
	}
	// The captures are not empty by accident.
	if !strings.Contains(captures["stderr"], "upload failed") || !strings.Contains(captures["logBatch entries"], "registration approved") ||
		!strings.Contains(captures["status"], "approved as") || !strings.Contains(captures["config"], "[redacted]") {
		t.Errorf("captures are missing what they should show:\n%v", captures)
	}
}
