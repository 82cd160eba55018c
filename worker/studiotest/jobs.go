package studiotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Job states. Offered and accepted jobs are held by the session they were
// offered on; the others are final, except released (the session ended
// while holding it, so the real studio would requeue it).
const (
	StatusOffered   = "offered"
	StatusAccepted  = "accepted"
	StatusRejected  = "rejected"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusReleased  = "released"
)

// JobState is what the studio knows about one offered job.
type JobState struct {
	JobID        string
	WorkerID     string
	Claim        protocol.JobOfferClaim
	Status       string
	Session      int // session it was (last) offered on
	RejectCode   string
	RejectReason string
	Error        string          // from fail
	Retryable    bool            // from fail
	Result       json.RawMessage // from completeJson
	Prompt       string          // from completeJson or the upload
	OfferedAt    time.Time
	FinishedAt   time.Time
}

type job struct {
	state JobState
	auto  bool // offered by RunJobs: requeue on transient reject or release
}

func (j *job) held() bool {
	return j.state.Status == StatusOffered || j.state.Status == StatusAccepted
}

// Offer sends an offer on the current welcomed session; the job is then held
// by that session.
func (s *Studio) Offer(claim protocol.JobOfferClaim) error {
	s.mu.Lock()
	sess := s.currentLocked()
	s.mu.Unlock()
	if sess == nil {
		return fmt.Errorf("offer %s: %w", claim.JobID, ErrNoSession)
	}
	return s.offerOn(sess, claim, false)
}

// OfferTo sends an offer on workerID's current welcomed session.
func (s *Studio) OfferTo(workerID string, claim protocol.JobOfferClaim) error {
	s.mu.Lock()
	sess := s.current[workerID]
	s.mu.Unlock()
	if sess == nil {
		return fmt.Errorf("offer %s to %s: %w", claim.JobID, workerID, ErrNoSession)
	}
	return s.offerOn(sess, claim, false)
}

func (s *Studio) offerOn(sess *session, claim protocol.JobOfferClaim, auto bool) error {
	frame := &protocol.Offer{Claim: claim}
	data, err := protocol.Encode(frame)
	if err != nil {
		return fmt.Errorf("offer %s: %w", claim.JobID, err)
	}
	// The write lock keeps this offer behind an ack being written and the
	// job is marked held before the worker can possibly answer.
	sess.wmu.Lock()
	defer sess.wmu.Unlock()
	s.mu.Lock()
	if sess.ended || sess.closing || !sess.welcomed || sess.silent {
		if auto {
			s.requeue = slices.Insert(s.requeue, 0, claim)
		}
		err := ErrNoSession
		if sess.silent {
			err = ErrSilent
		}
		s.mu.Unlock()
		return fmt.Errorf("offer %s: %w", claim.JobID, err)
	}
	j := &job{auto: auto, state: JobState{
		JobID:     claim.JobID,
		WorkerID:  sess.workerID,
		Claim:     claim,
		Status:    StatusOffered,
		Session:   sess.id,
		OfferedAt: time.Now(),
	}}
	s.jobs[claim.JobID] = j
	s.notifyLocked()
	s.mu.Unlock()

	if err := s.writeLocked(sess, websocket.TextMessage, data, Recorded{Type: protocol.TypeOffer, Frame: frame}); err != nil {
		s.mu.Lock()
		if s.jobs[claim.JobID] == j && j.held() {
			j.state.Status = StatusReleased
			if auto {
				s.requeue = slices.Insert(s.requeue, 0, claim)
			}
		}
		// A session that cannot be written to is no use; stop offering on
		// it. (One that just went silent stays open: that is the point.)
		broken := !errors.Is(err, ErrSilent)
		if broken {
			sess.closing = true
		}
		s.notifyLocked()
		s.mu.Unlock()
		if broken {
			_ = sess.conn.Close()
		}
		return fmt.Errorf("offer %s: %w", claim.JobID, err)
	}
	return nil
}

// Job returns the state of a job offered so far.
func (s *Studio) Job(jobID string) (JobState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[jobID]
	if j == nil {
		return JobState{}, false
	}
	return j.snapshot(), true
}

// WaitJob waits until jobID's status is one of statuses and returns its state.
func (s *Studio) WaitJob(ctx context.Context, jobID string, statuses ...string) (JobState, error) {
	var st JobState
	err := s.waitUntil(ctx, func() bool {
		j := s.jobs[jobID]
		if j == nil || !slices.Contains(statuses, j.state.Status) {
			return false
		}
		st = j.snapshot()
		return true
	})
	return st, err
}

func (j *job) snapshot() JobState {
	st := j.state
	st.Result = bytes.Clone(st.Result)
	return st
}

// heldLocked returns the job jobID if sess holds it, else nil.
func (s *Studio) heldLocked(sess *session, jobID string) *job {
	j := s.jobs[jobID]
	if j == nil || j.state.Session != sess.id || !j.held() {
		return nil
	}
	return j
}

func (s *Studio) acceptLocked(sess *session, f *protocol.Accept) reaction {
	j := s.heldLocked(sess, f.JobID)
	if j == nil {
		return reaction{violation: "accept for unknown jobId " + f.JobID}
	}
	j.state.Status = StatusAccepted
	return reaction{}
}

func (s *Studio) rejectLocked(sess *session, f *protocol.Reject) reaction {
	j := s.heldLocked(sess, f.JobID)
	if j == nil {
		s.logf("studio: session %d rejected job %s it does not hold (ignored)", sess.id, f.JobID)
		return reaction{}
	}
	j.state.Status = StatusRejected
	j.state.RejectCode, j.state.RejectReason = string(f.Code), f.Reason
	if f.Code == protocol.RejectBusy || f.Code == protocol.RejectPaused {
		// Like the real studio: requeue without counting an attempt and
		// without an immediate re-offer (the next heartbeat allows one).
		sess.needHeartbeat = true
		if j.auto {
			s.requeue = append(s.requeue, j.state.Claim)
		}
		return reaction{}
	}
	j.state.FinishedAt = time.Now()
	st := j.snapshot()
	return reaction{finished: &st}
}

// finishLocked ends a held job from a completeJson or fail frame.
func (s *Studio) finishLocked(sess *session, jobID, typ string, apply func(*JobState) protocol.ServerFrame) reaction {
	j := s.heldLocked(sess, jobID)
	if j == nil {
		return reaction{violation: typ + " for unknown jobId " + jobID}
	}
	ack := apply(&j.state)
	j.state.FinishedAt = time.Now()
	st := j.snapshot()
	return reaction{ack: ack, finished: &st}
}

// idleLocked reports whether RunJobs may offer on sess: welcomed, enabled by
// its last heartbeat, and holding no job.
func (s *Studio) idleLocked(sess *session) bool {
	if sess.ended || sess.closing || !sess.welcomed || sess.silent || !sess.autoEnabled || sess.needHeartbeat {
		return false
	}
	for _, j := range s.jobs {
		if j.state.Session == sess.id && j.held() {
			return false
		}
	}
	return true
}

func (s *Studio) firstIdleLocked() *session {
	var best *session
	for _, sess := range s.current {
		if s.idleLocked(sess) && (best == nil || sess.id < best.id) {
			best = sess
		}
	}
	return best
}

// RunJobs plays the studio's scheduler: whenever a welcomed session is idle
// and its last heartbeat said autoEnabled, it waits pause and offers a job.
// Requeued claims (a busy/paused reject, or a session that ended while
// holding the job) are offered again first; otherwise next(seq) supplies a
// new claim, seq counting new jobs from 1. It returns ctx.Err() when ctx
// ends, ErrClosed when the studio closes, or an error encoding a claim.
func (s *Studio) RunJobs(ctx context.Context, next func(seq int) protocol.JobOfferClaim, pause time.Duration) error {
	seq := 0
	for {
		var sess *session
		if err := s.waitUntil(ctx, func() bool {
			sess = s.firstIdleLocked()
			return sess != nil
		}); err != nil {
			return err
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-s.done:
				t.Stop()
				return ErrClosed
			case <-t.C:
			}
		}
		s.mu.Lock()
		if !s.idleLocked(sess) {
			s.mu.Unlock()
			continue
		}
		var claim protocol.JobOfferClaim
		requeued := len(s.requeue) > 0
		if requeued {
			claim = s.requeue[0]
			s.requeue = s.requeue[1:]
		}
		s.mu.Unlock()
		if !requeued {
			seq++
			claim = next(seq)
		}
		if err := s.offerOn(sess, claim, true); err != nil {
			if _, encErr := protocol.Encode(&protocol.Offer{Claim: claim}); encErr != nil {
				return fmt.Errorf("run jobs: %w", err)
			}
			// The session went away between the check and the offer; the
			// claim was requeued by offerOn.
			s.logf("studio: run jobs: %v", err)
		}
	}
}

// SyntheticClaim builds a valid claim for the synthetic engine: model
// "synthetic-<kind>", cliDefaults {cfgScale 1, steps 8, 1024×1024}, the
// task defaults of the kind with prompt as its prompt (the last user
// message for llm, the input URL for audio_stt, the text for audio_tts),
// and a 256×256 png for image. An unknown kind yields a claim whose task
// cannot be encoded.
func SyntheticClaim(jobID string, kind protocol.TaskKind, prompt string) protocol.JobOfferClaim {
	task := protocol.Task{Kind: kind}
	switch kind {
	case protocol.KindImage:
		task.Image = &protocol.ImageTask{Prompt: prompt, Width: 256, Height: 256, Steps: 20, Ext: "png"}
	case protocol.KindLLM:
		task.LLM = &protocol.LLMTask{
			Messages:    []protocol.ChatMessage{{Role: "user", Content: prompt}},
			MaxTokens:   512,
			Temperature: 0.7,
		}
	case protocol.KindAudioSTT:
		task.STT = &protocol.STTTask{InputURL: prompt}
	case protocol.KindAudioTTS:
		task.TTS = &protocol.TTSTask{Text: prompt, Voice: "default", Ext: "wav"}
	case protocol.KindVideo:
		task.Video = &protocol.VideoTask{Prompt: prompt, Seconds: 2, Width: 512, Height: 512, Ext: "mp4"}
	}
	return protocol.JobOfferClaim{
		JobID:          jobID,
		GameID:         "demo",
		AssetName:      jobID,
		Model:          "synthetic-" + string(kind),
		VRAMGbEstimate: 0,
		Task:           task,
		ModelSource: protocol.ModelSource{
			Engine:      protocol.EngineSynthetic,
			Files:       []protocol.ModelFile{},
			CliDefaults: protocol.CliDefaults{CfgScale: 1, Steps: 8, Width: 1024, Height: 1024},
		},
	}
}
