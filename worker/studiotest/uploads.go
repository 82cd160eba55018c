package studiotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// UploadField is the multipart field the real studio reads the file from,
// whatever the result kind.
const UploadField = "image"

// maxUploadField bounds a multipart text field (prompt, ext).
const maxUploadField = 1 << 20

// Upload is one accepted multipart result.
type Upload struct {
	WorkerID      string
	JobID         string
	Prompt        string
	Ext           string
	FieldName     string
	Filename      string
	ContentType   string // of the file part
	Data          []byte
	Authorization string // raw header
	At            time.Time
}

func (s *Studio) handleUpload(w http.ResponseWriter, r *http.Request) {
	workerID, jobID := r.PathValue("workerId"), r.PathValue("jobId")
	s.mu.Lock()
	s.uploadAttempts[jobID]++
	s.notifyLocked()
	s.mu.Unlock()

	if !s.tokenOK(r, workerID) {
		s.logf("studio: upload for job %s: bad or missing token", jobID)
		writeError(w, http.StatusUnauthorized, "invalid worker token")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	up, err := readUpload(r)
	if err != nil {
		s.logf("studio: upload for job %s: %v", jobID, err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	up.WorkerID, up.JobID, up.At = workerID, jobID, time.Now()
	up.Authorization = r.Header.Get("Authorization")

	status, msg, finished, fn := s.acceptUpload(up)
	if status != http.StatusOK {
		writeError(w, status, msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "jobId": jobID})
	if fn != nil {
		fn(finished)
	}
}

// acceptUpload decides the answer to a parsed upload; on success it records
// it and completes the job.
func (s *Studio) acceptUpload(up Upload) (status int, msg string, st JobState, fn func(JobState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failUpN > 0 {
		s.failUpN--
		s.logf("studio: upload for job %s answered %d (injected)", up.JobID, s.failUpStatus)
		return s.failUpStatus, "injected failure", JobState{}, nil
	}
	j := s.jobs[up.JobID]
	// The real studio claims the job's row for the worker before it sends the
	// offer, and the upload travels on its own connection, so an upload may
	// overtake the worker's accept: a held job (offered or accepted) counts.
	if j == nil || j.state.WorkerID != up.WorkerID || !j.held() {
		s.logf("studio: upload for job %s: not claimed by %s", up.JobID, up.WorkerID)
		return http.StatusConflict, "job is not claimed by this worker", JobState{}, nil
	}
	j.state.Status = StatusCompleted
	j.state.Prompt = up.Prompt
	j.state.FinishedAt = up.At
	s.uploads = append(s.uploads, up)
	s.notifyLocked()
	s.logf("studio: upload for job %s: %d bytes .%s", up.JobID, len(up.Data), up.Ext)
	return http.StatusOK, "", j.snapshot(), s.onFinished
}

// readUpload reads the text fields and the file part of a multipart body.
func readUpload(r *http.Request) (Upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return Upload{}, fmt.Errorf("read upload: %w", err)
	}
	var up Upload
	haveFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Upload{}, fmt.Errorf("read upload: %w", err)
		}
		name, filename := part.FormName(), part.FileName()
		if filename == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxUploadField))
			if err != nil {
				return Upload{}, fmt.Errorf("read upload field %q: %w", name, err)
			}
			switch name {
			case "prompt":
				up.Prompt = string(b)
			case "ext":
				up.Ext = string(b)
			}
			continue
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return Upload{}, fmt.Errorf("read upload file %q: %w", name, err)
		}
		if name == UploadField && !haveFile {
			haveFile = true
			up.FieldName, up.Filename, up.Data = name, filename, data
			up.ContentType = part.Header.Get("Content-Type")
		}
	}
	if !haveFile {
		return Upload{}, fmt.Errorf("read upload: no file part %q", UploadField)
	}
	return up, nil
}

// FailUploads makes the next n uploads answer status (after their body was
// read) without completing anything.
func (s *Studio) FailUploads(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failUpN, s.failUpStatus = n, status
}

// Uploads returns every accepted upload so far, oldest first.
func (s *Studio) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.uploads)
}

// UploadAttempts counts every request to jobID's upload route, whatever its
// answer.
func (s *Studio) UploadAttempts(jobID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploadAttempts[jobID]
}

// WaitUploadAttempts waits until jobID's upload route was called n times.
func (s *Studio) WaitUploadAttempts(ctx context.Context, jobID string, n int) error {
	return s.waitUntil(ctx, func() bool { return s.uploadAttempts[jobID] >= n })
}

// WaitUpload waits for an accepted upload of jobID.
func (s *Studio) WaitUpload(ctx context.Context, jobID string) (Upload, error) {
	var up Upload
	err := s.waitUntil(ctx, func() bool {
		for _, u := range s.uploads {
			if u.JobID == jobID {
				up = u
				return true
			}
		}
		return false
	})
	return up, err
}
