package pacifica

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const ingest = "ingest"

// IngestClient uploads to Pacifica's ingest service (pacifica-ingest: POST /upload of a tar bundle, GET /get_state?job_id=N).
type IngestClient struct {
	c         caller
	uploadURL string
	statusURL string
	timeout   time.Duration
	// metadata finds the upload of an earlier attempt that ingest accepted without the
	// attempt learning its job id (UploadOnce).
	metadata *MetadataClient
}

// IngestState is ingest's answer about an upload job (§3.3).
type IngestState struct {
	JobID       int64  `json:"job_id"`
	State       string `json:"state"`
	Task        string `json:"task"`
	TaskPercent string `json:"task_percent"`
	Exception   string `json:"exception"`
}

// Done reports whether the upload is ingested: state OK, task "ingest metadata", 100%.
func (s IngestState) Done() bool {
	p, err := strconv.ParseFloat(strings.TrimSpace(s.TaskPercent), 64)
	return s.State == "OK" && s.Task == "ingest metadata" && err == nil && p >= 100
}

// Upload sends dir as a new transaction and waits until it is ingested. It returns the new
// transaction's id. A FAILED upload is a permanent error carrying ingest's exception.
func (c *IngestClient) Upload(ctx context.Context, dir string, meta UploadMeta) (int64, error) {
	id, err := c.Send(ctx, dir, meta)
	if err != nil {
		return 0, err
	}
	if _, err := c.Wait(ctx, id); err != nil {
		return id, err
	}
	return id, nil
}

// Send streams the bundle of dir to ingest (POST, application/octet-stream, an exact
// Content-Length; never a temporary file, never the whole bundle in memory) and returns the
// upload's job id, which is the new transaction's id.
func (c *IngestClient) Send(ctx context.Context, dir string, meta UploadMeta) (int64, error) {
	return c.send(ctx, dir, meta, nil)
}

// send is Send, calling beforePost (when not nil) once the bundle is ready, right before
// the request: an error of beforePost stops the upload before anything is sent.
func (c *IngestClient) send(ctx context.Context, dir string, meta UploadMeta, beforePost func() error) (int64, error) {
	op := fmtOp("upload %s", dir)
	files, err := BundleFiles(dir)
	if err != nil {
		return 0, &Error{Service: ingest, Op: op, Err: err}
	}
	if err := hashFiles(dir, files); err != nil {
		return 0, &Error{Service: ingest, Op: op, Err: err}
	}
	size, err := BundleSize(files, meta)
	if err != nil {
		return 0, &Error{Service: ingest, Op: op, Err: err}
	}
	if beforePost != nil {
		if err := beforePost(); err != nil {
			return 0, err
		}
	}
	pr, pw := io.Pipe()
	go func() {
		n, err := WriteBundle(pw, dir, files, meta)
		if err == nil && n != size {
			err = fmt.Errorf("bundle is %d bytes, announced %d", n, size)
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.uploadURL, pr)
	if err != nil {
		pr.Close()
		return 0, &Error{Service: ingest, Op: op, Err: err}
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.c.hc.Do(req)
	pr.Close()
	if err != nil {
		return 0, transportError(ingest, op, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, statusError(ingest, op, resp.StatusCode, body)
	}
	var st IngestState
	if err := json.Unmarshal(body, &st); err != nil || st.JobID == 0 {
		return 0, &Error{Service: ingest, Op: op, StatusCode: resp.StatusCode,
			Message: "the answer has no job_id: " + excerpt(body)}
	}
	if st.State == "FAILED" {
		return st.JobID, &Error{Service: ingest, Op: op, Message: "FAILED: " + st.Exception}
	}
	return st.JobID, nil
}

// State reads an upload job's state.
func (c *IngestClient) State(ctx context.Context, jobID int64) (IngestState, error) {
	op := fmtOp("state of upload job %d", jobID)
	u, err := url.Parse(c.statusURL)
	if err != nil {
		return IngestState{}, &Error{Service: ingest, Op: op, Err: err}
	}
	q := u.Query()
	q.Set("job_id", strconv.FormatInt(jobID, 10))
	u.RawQuery = q.Encode()
	code, _, body, err := c.c.call(ctx, ingest, op, http.MethodGet, u.String(), nil, nil)
	if err != nil {
		return IngestState{}, err
	}
	if code != http.StatusOK {
		return IngestState{}, statusError(ingest, op, code, body)
	}
	var st IngestState
	if err := json.Unmarshal(body, &st); err != nil {
		return IngestState{}, &Error{Service: ingest, Op: op, StatusCode: code, Message: "not a job state: " + excerpt(body)}
	}
	return st, nil
}

// Wait polls the upload job until it is ingested (first interval FirstPollInterval, doubling
// to MaxPollInterval, up to the ingest time limit: a time-out is retryable), or FAILED
// (permanent, with ingest's exception).
func (c *IngestClient) Wait(ctx context.Context, jobID int64) (IngestState, error) {
	deadline := time.Now().Add(c.timeout)
	interval := FirstPollInterval
	for {
		st, err := c.State(ctx, jobID)
		if err != nil {
			return st, err
		}
		switch {
		case st.State == "FAILED":
			return st, &Error{Service: ingest, Op: fmtOp("upload job %d", jobID),
				Message: fmt.Sprintf("FAILED in %q: %s", st.Task, st.Exception)}
		case st.Done():
			return st, nil
		}
		if time.Now().Add(interval).After(deadline) {
			return st, &Error{Service: ingest, Op: fmtOp("upload job %d", jobID), Temporary: true,
				Message: fmt.Sprintf("not ingested after %s (task %q, %s%%)", c.timeout, st.Task, st.TaskPercent)}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, fmt.Errorf("ingest: wait for upload job %d: %w", jobID, ctx.Err())
		case <-t.C:
		}
		interval = min(interval*2, MaxPollInterval)
	}
}

func excerpt(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
