package session

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// startJob runs an accepted job off the read loop. The job holds the job
// slot until it has reported its outcome, on every path.
func (s *session) startJob(claim protocol.JobOfferClaim, release func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	j := &runningJob{id: claim.JobID, cancel: cancel, done: make(chan struct{})}
	s.job = j
	prompt := claim.Task.Prompt()
	started := time.Now()
	s.obs.SetCurrentJob(observers.CurrentJob{
		JobID: claim.JobID, Kind: string(claim.Task.Kind), Model: claim.Model,
		Prompt: observers.PromptPreview(prompt), StartedAt: started,
	})
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		defer close(j.done)
		defer release()
		defer cancel(nil)
		outcome, reason := s.runJob(ctx, j, claim, prompt)
		s.obs.ClearCurrentJob()
		s.obs.RecordRecentJob(observers.RecentJob{
			JobID: claim.JobID, Kind: string(claim.Task.Kind), Model: claim.Model,
			Prompt: observers.PromptPreview(prompt), Outcome: outcome, Reason: reason,
			StartedAt: started, FinishedAt: time.Now(),
		})
	}()
}

// runJob produces and delivers one result and says how the job ended.
func (s *session) runJob(ctx context.Context, j *runningJob, claim protocol.JobOfferClaim, prompt string) (observers.Outcome, string) {
	log := s.log.With("job_id", claim.JobID)
	start := time.Now()
	res, err := runGuarded(ctx, s.cfg.Engine, claim)
	j.engineDone.Store(true)
	log.Info(fmt.Sprintf("%s dispatched in %s", claim.Task.Kind, time.Since(start).Round(time.Millisecond)))

	if cause := context.Cause(ctx); errors.Is(cause, errSessionEnded) {
		// The studio requeued the job when the socket went; delivering it
		// now, on this or a later session, would be a protocol violation.
		log.Warn("dropping job result: its session ended", "kind", string(claim.Task.Kind))
		return observers.OutcomeFailed, errSessionEnded.Error()
	}
	if err != nil {
		retryable := !engine.IsTerminal(err)
		// Engines report cancellation as ctx.Err(); the cause says it was
		// the stop's drain running out.
		if errors.Is(context.Cause(ctx), errShuttingDown) {
			retryable = true
			err = errShuttingDown
		}
		log.Error("job failed", "error", err.Error(), "retryable", retryable)
		j.reported.Store(true)
		s.sendFail(claim.JobID, err.Error(), retryable)
		return observers.OutcomeFailed, err.Error()
	}

	if res.IsBinary() {
		log.Info("uploading result", "bytes", len(res.Data), "ext", res.Ext)
		if err := s.upload(ctx, claim.JobID, prompt, res); err != nil {
			if errors.Is(context.Cause(ctx), errSessionEnded) {
				log.Warn("dropping upload: its session ended")
				return observers.OutcomeFailed, errSessionEnded.Error()
			}
			log.Error("upload failed", "error", err.Error())
			var st *protocol.HTTPError
			if errors.As(err, &st) && st.Status == 409 {
				// The studio no longer holds this job for us: a fail
				// frame would name a job it does not know.
				j.reported.Store(true)
				return observers.OutcomeFailed, err.Error()
			}
			j.reported.Store(true)
			s.sendFail(claim.JobID, "upload failed: "+err.Error(), true)
			return observers.OutcomeFailed, "upload failed: " + err.Error()
		}
		j.reported.Store(true)
		log.Info("result uploaded")
		return observers.OutcomeCompleted, ""
	}
	j.reported.Store(true)
	if err := s.c.send(protocol.CompleteJSON{JobID: claim.JobID, Result: res.JSON, Prompt: prompt}); err != nil {
		// The socket is gone; the studio requeues the job itself.
		log.Error("json result not sent", "error", err.Error())
		return observers.OutcomeFailed, "result not delivered: " + err.Error()
	}
	log.Info("json result sent")
	return observers.OutcomeCompleted, ""
}

func (s *session) sendFail(jobID, msg string, retryable bool) {
	if err := s.c.send(protocol.Fail{JobID: jobID, Error: msg, Retryable: retryable}); err != nil {
		s.log.Error(fmt.Sprintf("failed to notify studio of job %s failure: %v", jobID, err), "job_id", jobID)
	}
}

// runGuarded turns an engine panic into a retryable error, so one bad job
// cannot take the worker down.
func runGuarded(ctx context.Context, r Runner, claim protocol.JobOfferClaim) (res engine.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("engine panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return r.Run(ctx, claim)
}
