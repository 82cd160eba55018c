package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"time"

	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// MIMEForExt is the content type of the uploaded file part.
func MIMEForExt(ext string) string {
	switch ext {
	case "png":
		return "image/png"
	case "webp":
		return "image/webp"
	case "gif":
		return "image/gif"
	case "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mpeg"
	case "mp4":
		return "video/mp4"
	}
	return "application/octet-stream"
}

// upload posts a binary result as multipart (fields prompt and ext, file part
// "image" for every kind, as the studio expects), retrying 5xx and transport
// errors with a linearly growing pause.
func (s *session) upload(ctx context.Context, jobID, prompt string, res engine.Result) error {
	u, err := protocol.Endpoint(s.base, "workers", s.creds.WorkerID, "jobs", jobID, "complete")
	if err != nil {
		return err
	}
	body, contentType, err := multipartBody(jobID, prompt, res)
	if err != nil {
		return err
	}
	sched := s.cfg.Schedule
	for attempt := 0; ; attempt++ {
		err = s.postOnce(ctx, u.String(), contentType, body)
		if err == nil || attempt >= sched.UploadRetries || !retryableUpload(err) || ctx.Err() != nil {
			return err
		}
		pause := sched.UploadRetryPause * time.Duration(attempt+1)
		s.log.Warn(fmt.Sprintf("upload attempt %d failed: %v; retrying in %s", attempt+1, err, pause), "job_id", jobID)
		if !sleep(ctx, pause) {
			return fmt.Errorf("upload: %w", context.Cause(ctx))
		}
	}
}

func multipartBody(jobID, prompt string, res engine.Result) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("prompt", prompt); err != nil {
		return nil, "", err
	}
	if err := w.WriteField("ext", res.Ext); err != nil {
		return nil, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("image", jobID+"."+res.Ext))
	h.Set("Content-Type", MIMEForExt(res.Ext))
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(res.Data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

func (s *session) postOnce(ctx context.Context, url, contentType string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Schedule.UploadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+s.creds.AuthToken)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return &transportError{op: "upload", err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &protocol.HTTPError{Op: "upload", Status: resp.StatusCode, Body: string(bytes.TrimSpace(snippet))}
}

// transportError is a request that got no HTTP answer. *url.Error carries the
// URL, which holds no credential here (the token travels in a header).
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return fmt.Sprintf("%s: %v", e.op, e.err) }
func (e *transportError) Unwrap() error { return e.err }

func retryableUpload(err error) bool {
	var st *protocol.HTTPError
	if errors.As(err, &st) {
		return st.Status >= 500
	}
	var te *transportError
	return errors.As(err, &te)
}
