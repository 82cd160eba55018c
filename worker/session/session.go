package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// ReasonShuttingDown is the busy reject's reason for an offer that arrives
// while the worker stops.
const ReasonShuttingDown = "worker is shutting down"

// errShuttingDown cancels a job whose drain time ran out during a stop.
var errShuttingDown = errors.New("worker stopped before the job finished")

// errSessionEnded cancels a job whose session is gone: the studio has already
// requeued it, so its result must not be delivered anywhere.
var errSessionEnded = errors.New("session ended before the job finished")

// session is one connection's life: hello, welcome, then the dispatch loop.
// It owns the reader goroutine and at most one job goroutine and waits for
// both before returning.
type session struct {
	*runner
	c     *conn
	base  string // api_base_url of this connection; its uploads go there too
	creds Credentials

	stopCtx     context.Context // Run's: done once a stop was requested
	welcomed    bool
	stopping    bool
	lastEnabled bool

	jobs sync.WaitGroup
	job  *runningJob // owned by the loop goroutine
	// parked is an offer that arrived while the previous job was only
	// delivering its outcome; it is answered when that job is done.
	parked *protocol.JobOfferClaim
}

type runningJob struct {
	id     string
	cancel context.CancelCauseFunc
	done   chan struct{} // closed after the job released the slot
	// engineDone is set when the engine has returned: what is left is
	// delivering the outcome and bookkeeping. reported is set when the
	// outcome is handed to the studio (completeJson or fail about to be
	// written, upload accepted); heartbeats stop naming the job then.
	engineDone atomic.Bool
	reported   atomic.Bool
}

// jobDone is the running job's done channel, nil (never ready) when idle.
func (s *session) jobDone() <-chan struct{} {
	if s.job == nil {
		return nil
	}
	return s.job.done
}

// connectOnce runs one connection. It returns nil when ctx was cancelled and
// the session closed gracefully, otherwise why the connection ended, and
// whether the studio had welcomed it (which resets the reconnect count).
func (r *runner) connectOnce(ctx context.Context, base string, creds Credentials) (welcomed bool, err error) {
	c, err := dial(ctx, r.cfg.Dialer, base, creds, r.cfg.Schedule)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	s := &session{runner: r, c: c, base: base, creds: creds}
	err = s.run(ctx)
	return s.welcomed, err
}

func (s *session) run(ctx context.Context) (err error) {
	s.stopCtx = ctx
	readCtx, stopReading := context.WithCancel(context.Background())
	frames := make(chan inbound)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.c.readLoop(readCtx, frames)
	}()
	defer func() {
		// Teardown is bounded whatever the socket does: a job still running
		// here belongs to a dead session, so it is cancelled, not awaited.
		if s.job != nil {
			s.job.cancel(errSessionEnded)
		}
		s.jobs.Wait()
		if Terminal(err) {
			// Say why we are going, as the reference does; the studio is
			// closing the socket anyway, so nothing waits for its reply.
			s.c.closeNormally(terminalCloseReason(err))
		}
		if err == nil {
			// Wait for the studio's close reply. The reader hands it (and
			// any frame still in flight) to frames, so keep draining that:
			// a reader blocked on delivery would hold the stop for the
			// whole CloseTimeout.
			s.c.closeNormally("session ended")
			t := time.NewTimer(s.cfg.Schedule.CloseTimeout)
		wait:
			for {
				select {
				case <-frames:
				case <-readerDone:
					break wait
				case <-t.C:
					break wait
				}
			}
			t.Stop()
		}
		stopReading()
		s.c.ws.Close()
		<-readerDone
	}()

	caps := s.cfg.Capabilities()
	caps.AutoEnabled = s.obs.Enabled()
	s.lastEnabled = caps.AutoEnabled
	s.logCapabilities(caps)
	if err := s.c.send(protocol.Hello{AuthToken: s.creds.AuthToken, Capabilities: caps}); err != nil {
		return &disconnectError{op: "hello", err: err}
	}

	var heartbeat, flush <-chan time.Time
	var drain <-chan time.Time
	stopReq := ctx.Done()
	for {
		select {
		case <-stopReq:
			stopReq = nil
			s.stopping = true
			select {
			case <-s.jobDone():
				if err := s.jobFinished(); err != nil {
					return err
				}
			default:
			}
			if s.job == nil {
				return nil
			}
			s.log.Info("stop requested; giving the running job time to finish", "job_id", s.job.id, "grace", s.cfg.Schedule.JobDrain.String())
			t := time.NewTimer(s.cfg.Schedule.JobDrain)
			defer t.Stop()
			drain = t.C
		case <-drain:
			drain = nil
			if s.job != nil {
				s.job.cancel(errShuttingDown)
			}
		case <-s.jobDone():
			if err := s.jobFinished(); err != nil {
				return err
			}
			if s.stopping {
				return nil
			}
		case in := <-frames:
			if in.end != nil {
				return in.end
			}
			if err := s.handle(in); err != nil {
				return err
			}
			if s.welcomed && heartbeat == nil {
				hb := time.NewTicker(s.cfg.Schedule.HeartbeatInterval)
				defer hb.Stop()
				fl := time.NewTicker(s.cfg.Schedule.LogFlushInterval)
				defer fl.Stop()
				heartbeat, flush = hb.C, fl.C
				if err := s.sendHeartbeat(); err != nil {
					return err
				}
			}
		case <-heartbeat:
			if err := s.sendHeartbeat(); err != nil {
				return err
			}
		case <-flush:
			if err := s.flushLogs(); err != nil {
				return err
			}
		}
	}
}

// handle reacts to one decoded frame. A returned error ends the connection.
func (s *session) handle(in inbound) error {
	if in.err != nil {
		var bad *protocol.InvalidOfferError
		if errors.As(in.err, &bad) && !s.welcomed {
			s.log.Warn("ignoring offer before welcome", "job_id", bad.JobID)
			return nil
		}
		if errors.As(in.err, &bad) {
			s.log.Warn("refusing an offer that cannot run", "job_id", bad.JobID, "reason", bad.Reason)
			if err := s.c.send(protocol.Fail{JobID: bad.JobID, Error: bad.Error(), Retryable: false}); err != nil {
				return &disconnectError{op: "fail invalid offer", err: err}
			}
			return nil
		}
		s.log.Warn("dropping unparseable text frame", "error", in.err.Error())
		return &disconnectError{op: "read", err: in.err}
	}
	if !s.welcomed {
		switch f := in.frame.(type) {
		case *protocol.Welcome:
			s.welcomed = true
			s.setState(observers.SessionConnected, 0, "")
			s.log.Info(fmt.Sprintf("server welcomed %s server_time=%s", f.WorkerID, f.ServerTime))
			return nil
		case *protocol.Error:
			return errorFrame(f)
		default:
			s.log.Warn("ignoring frame before welcome", "type", in.frame.FrameType())
			return nil
		}
	}
	switch f := in.frame.(type) {
	case *protocol.Offer:
		return s.offer(f.Claim)
	case *protocol.HeartbeatAck:
		s.obs.SetHeartbeat(observers.HeartbeatStatus{Outcome: observers.HeartbeatOK, LastAttemptAt: time.Now()})
	case *protocol.CompleteAck:
		s.log.Info("studio confirmed completion of job "+f.JobID, "job_id", f.JobID)
	case *protocol.FailAck:
		s.log.Info("studio confirmed failure of job "+f.JobID, "job_id", f.JobID)
	case *protocol.Error:
		return errorFrame(f)
	case *protocol.Welcome:
		s.log.Warn("ignoring a second welcome", "worker_id", f.WorkerID)
	}
	return nil
}

// errorFrame maps the studio's error frame to how the session ends.
// internal_error (and codes this version does not know) reconnect.
func errorFrame(f *protocol.Error) error {
	reason := fmt.Sprintf("%s: %s", f.Code, f.Message)
	switch f.Code {
	case protocol.ErrAuthFailed:
		return &AuthFailedError{Reason: reason}
	case protocol.ErrProtocolViolation, protocol.ErrDuplicateWorker, protocol.ErrWorkerDeleted:
		return &FatalError{Reason: reason}
	}
	return &disconnectError{op: "studio error", err: errors.New(reason)}
}

func (s *session) offer(claim protocol.JobOfferClaim) error {
	s.log.Info("offer received", "job_id", claim.JobID, "game", claim.GameID, "asset", claim.AssetName,
		"model", claim.Model, "kind", string(claim.Task.Kind), "vram_gb", claim.VRAMGbEstimate)
	reject := func(code protocol.RejectCode, reason string) error {
		if err := s.c.send(protocol.Reject{JobID: claim.JobID, Reason: reason, Code: code}); err != nil {
			s.log.Error(fmt.Sprintf("reject send failed for offer %s: %v", claim.JobID, err), "job_id", claim.JobID)
			return &disconnectError{op: "reject", err: err}
		}
		return nil
	}
	if s.stopping || s.stopCtx.Err() != nil {
		return reject(protocol.RejectBusy, ReasonShuttingDown)
	}
	if !s.obs.Enabled() {
		return reject(protocol.RejectPaused, protocol.ReasonPaused)
	}
	release, ok := s.obs.TryReserveJob()
	if !ok && s.job != nil && s.job.engineDone.Load() && s.parked == nil {
		// The studio offers the next job as soon as it has this one's
		// outcome: for an upload that is before the worker has even read
		// the HTTP answer. The slot is about to be free, so answer the
		// offer when the job is done rather than refuse it busy (a busy
		// reject makes the studio wait for the next heartbeat).
		s.parked = &claim
		return nil
	}
	if !ok {
		return reject(protocol.RejectBusy, protocol.ReasonBusy)
	}
	if s.stopCtx.Err() != nil {
		// A stop that holds the slot until it is requested (the updater's
		// restart) is visible by now, even if this loop has not seen it.
		release()
		return reject(protocol.RejectBusy, ReasonShuttingDown)
	}
	if err := s.c.send(protocol.Accept{JobID: claim.JobID}); err != nil {
		release()
		s.log.Error(fmt.Sprintf("accept send failed for offer %s: %v", claim.JobID, err), "job_id", claim.JobID)
		return &disconnectError{op: "accept", err: err}
	}
	s.startJob(claim, release)
	return nil
}

// jobFinished forgets the finished job and answers an offer parked behind it.
func (s *session) jobFinished() error {
	s.job = nil
	if c := s.parked; c != nil {
		s.parked = nil
		return s.offer(*c)
	}
	return nil
}

func (s *session) sendHeartbeat() error {
	caps := s.cfg.Capabilities()
	caps.AutoEnabled = s.obs.Enabled()
	if caps.AutoEnabled != s.lastEnabled {
		if caps.AutoEnabled {
			s.log.Info("claiming resumed by operator; accepting new offers again")
		} else {
			s.log.Info("claiming paused by operator; new offers are rejected until resumed")
		}
		s.lastEnabled = caps.AutoEnabled
	}
	hb := protocol.Heartbeat{Capabilities: caps}
	if s.job != nil && !s.job.reported.Load() {
		hb.CurrentJobID = s.job.id
	}
	if err := s.c.send(hb); err != nil {
		s.obs.SetHeartbeat(observers.HeartbeatStatus{Outcome: observers.HeartbeatErr, Reason: err.Error(), LastAttemptAt: time.Now()})
		return &disconnectError{op: "heartbeat", err: err}
	}
	return nil
}

// Log batches are bounded so one frame stays far below the studio's 1 MiB
// message limit however long or escape-heavy the queued lines are: each
// message is clipped to maxShippedMessage bytes and a batch whose encoding
// exceeds logBatchBytes is halved, the rest going back to the queue.
const (
	logBatchEntries   = 1000
	logBatchBytes     = 256 << 10
	maxShippedMessage = 4 << 10
)

// flushLogs ships everything queued, in bounded batches; a batch that cannot
// be sent goes back to the front of the queue for the next session.
func (s *session) flushLogs() error {
	if s.cfg.Logs == nil {
		return nil
	}
	for s.cfg.Logs.Len() > 0 {
		batch := s.cfg.Logs.Drain(logBatchEntries)
		if len(batch) == 0 {
			return nil
		}
		frame, err := encodeLogBatch(batch)
		for err == nil && len(frame) > logBatchBytes && len(batch) > 1 {
			half := len(batch) / 2
			s.cfg.Logs.Requeue(batch[half:])
			batch = batch[:half]
			frame, err = encodeLogBatch(batch)
		}
		if err == nil {
			err = s.c.sendEncoded(protocol.TypeLogBatch, frame)
		}
		if err != nil {
			s.cfg.Logs.Requeue(batch)
			return &disconnectError{op: "log batch", err: err}
		}
	}
	return nil
}

// encodeLogBatch clips over-long messages in a copy, so a batch that fails
// goes back to the queue as it was.
func encodeLogBatch(batch []protocol.LogEntry) ([]byte, error) {
	wire, copied := batch, false
	for i, e := range batch {
		if len(e.Message) <= maxShippedMessage {
			continue
		}
		if !copied {
			wire, copied = append([]protocol.LogEntry(nil), batch...), true
		}
		wire[i].Message = clipMessage(e.Message)
	}
	return protocol.Encode(protocol.LogBatch{Entries: wire})
}

// clipMessage cuts a log message to maxShippedMessage bytes on a rune
// boundary and says so.
func clipMessage(m string) string {
	const marker = "… [clipped]"
	cut := maxShippedMessage - len(marker)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + marker
}

// logCapabilities writes the one summary line per session the reference
// writes, and warns when the threshold promises more VRAM than was detected.
func (s *session) logCapabilities(c protocol.Capabilities) {
	kinds := make([]string, len(c.TaskKinds))
	for i, k := range c.TaskKinds {
		kinds[i] = string(k)
	}
	models := append([]string(nil), c.SupportedModels...)
	sort.Strings(models)
	s.log.Info(fmt.Sprintf("advertising engine=%s, vram=%g/%gGB threshold, auto_enabled=%t, kinds=[%s], %d model(s)=[%s]",
		c.Engine, c.VRAMTotalGb, c.VRAMThresholdGb, c.AutoEnabled, strings.Join(kinds, ", "), len(models), strings.Join(models, ", ")))
	if c.VRAMTotalGb > 0 && c.VRAMThresholdGb > c.VRAMTotalGb {
		s.log.Warn(fmt.Sprintf("vram_threshold_gb %g is above the %g GB of VRAM detected; jobs that size may run out of memory", c.VRAMThresholdGb, c.VRAMTotalGb))
	}
}

func terminalCloseReason(err error) string {
	var af *AuthFailedError
	if errors.As(err, &af) {
		return "auth failed"
	}
	return "protocol violation"
}
