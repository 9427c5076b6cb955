package pacifica

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// JobIDKey is the key/value that the dispatcher adds to every upload it makes: the UUID
// (a JSON string) of the dispatcher job that made it, next to the lineage key
// Transactions._id.
const JobIDKey = "dispatcher.job_id"

// LineageKey is the key/value that links an upload of the dispatcher to its source: the
// source transaction's id (Pacifica's way of linking a result to its source). Events that carry it are the dispatcher's
// own uploads and match no route.
const LineageKey = "Transactions._id"

// UploadCheckpointPrefix prefixes the name of the checkpoint in which UploadOnce records
// the ingest job of an upload: "upload/" + name.
const UploadCheckpointPrefix = "upload/"

// Ledger records what a job did, durably, across its attempts: a value saved by
// SaveCheckpoint (durable when it returns nil) is returned by Checkpoint in every later
// attempt of the same job. *worker.Job is one.
type Ledger interface {
	Checkpoint(name string) (json.RawMessage, bool)
	SaveCheckpoint(ctx context.Context, name string, v any) error
}

// uploadCheckpoint is the value of an upload's checkpoint: the upload's ingest job once
// ingest accepted it; before, when the upload was started (set just before the request).
// Neither says that no upload of that name can be in Pacifica.
type uploadCheckpoint struct {
	JobID   int64      `json:"job_id,omitempty"`
	Started *time.Time `json:"started,omitempty"`
}

// saveTimeout bounds the recording of an accepted upload, which goes on even when ctx is
// cancelled right after ingest accepted it.
const saveTimeout = 30 * time.Second

// UploadOnce is Upload for jobs that may run more than once: the upload called name is
// sent to ingest at most once per job, whatever the number of attempts, as long as the
// ledger keeps its checkpoint ("upload/" + name).
//
// Right before it sends the upload, UploadOnce records in the ledger that it started it,
// with the time; if that cannot be recorded, nothing is sent and the error is retryable.
// Once ingest accepts the upload, it records the ingest job id at once, before waiting for
// the upload to be ingested. When the ledger cannot record the id (the job store
// unreachable for longer than the ledger retries, or the job's lease lost), the upload is
// not sent again: UploadOnce still waits and returns the id, and reports the failure
// through the ledger's Logf method when it has one (*worker.Job has; a worker writes the
// id with the attempt's end). When ingest answers that it did not take the upload (an
// error status other than a proxy's 502 or 504), or cannot be reached at all, the start is
// cleared.
//
// A later attempt reads the checkpoint:
//   - An ingest job: UploadOnce asks ingest about it. Ingested or still in progress, it
//     waits for it and returns its id without uploading anything; FAILED or unknown to
//     ingest (404), the upload is sent again; any other error is returned (retryable as
//     Upload's are).
//   - Only a start: the earlier attempt may have sent the upload without learning its job
//     id (it ended between the two). UploadOnce asks Pacifica metadata for the
//     transactions carrying the upload's JobIDKey and reuses the first one that has the
//     upload's identity key/values (meta.IdentityKeys): its id is recorded and returned,
//     nothing is uploaded. While none is there and the ingest time limit (INGEST_TIMEOUT)
//     has not passed since the start, ingest may still be storing it: UploadOnce asks
//     again, at growing intervals, until it appears or the time passes; then it uploads.
//     Metadata unreachable is a retryable error, and nothing is uploaded.
//
// A duplicate remains possible only when an earlier upload is stored in Pacifica later
// than the ingest time limit after its start (or the clocks of two workers disagree by
// more than that), or when the ledger lost its checkpoint.
func (c *IngestClient) UploadOnce(ctx context.Context, ledger Ledger, name, dir string, meta UploadMeta) (int64, error) {
	key := UploadCheckpointPrefix + name
	if raw, ok := ledger.Checkpoint(key); ok {
		var cp uploadCheckpoint
		err := json.Unmarshal(raw, &cp)
		switch {
		case err == nil && cp.JobID > 0:
			reuse, err := c.reusable(ctx, ledger, name, cp.JobID)
			if err != nil {
				return 0, err
			}
			if reuse {
				_, err := c.Wait(ctx, cp.JobID)
				return cp.JobID, err
			}
		case err == nil && cp.Started != nil:
			id, found, err := c.findStarted(ctx, ledger, name, meta, *cp.Started)
			if err != nil {
				return 0, err
			}
			if found {
				c.record(ctx, ledger, name, key, uploadCheckpoint{JobID: id})
				return id, nil
			}
		case err == nil:
			// Cleared: nothing was sent.
		default:
			logf(ledger, "upload %q: checkpoint %s is not an upload's; uploading", name, raw)
		}
	}
	sent := false
	id, err := c.send(ctx, dir, meta, func() error {
		now := time.Now().UTC()
		if err := ledger.SaveCheckpoint(ctx, key, uploadCheckpoint{Started: &now}); err != nil {
			return &unrecordedStartError{name: name, err: err}
		}
		sent = true
		return nil
	})
	switch {
	case err != nil && id > 0:
		// Ingest took it and failed it at once: a later attempt asks ingest and uploads again.
		c.record(ctx, ledger, name, key, uploadCheckpoint{JobID: id})
		return id, err
	case err != nil && sent && notTaken(err):
		c.record(ctx, ledger, name, key, uploadCheckpoint{})
		return 0, err
	case err != nil:
		return 0, err
	}
	c.record(ctx, ledger, name, key, uploadCheckpoint{JobID: id})
	if _, err := c.Wait(ctx, id); err != nil {
		return id, err
	}
	return id, nil
}

// record saves an upload's checkpoint even when ctx was cancelled meanwhile; a failure is
// logged, not returned (see UploadOnce).
func (c *IngestClient) record(ctx context.Context, ledger Ledger, name, key string, cp uploadCheckpoint) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	err := ledger.SaveCheckpoint(sctx, key, cp)
	switch {
	case err == nil:
	case cp.JobID > 0:
		logf(ledger, "upload %q: ingest job %d, but the checkpoint could not be saved (%v): "+
			"if the job store never gets it, a later attempt looks for the upload in Pacifica metadata", name, cp.JobID, err)
	default:
		logf(ledger, "upload %q: ingest did not take it, but the checkpoint could not be cleared (%v)", name, err)
	}
}

// notTaken reports whether a failed send surely left nothing with ingest: the connection
// was refused, or an error status came back, except 502 and 504, which a fronting proxy
// answers when it may have passed the upload on (the upstream reset or too slow).
func notTaken(err error) bool {
	var pe *Error
	if errors.As(err, &pe) && pe.StatusCode != 0 {
		switch pe.StatusCode {
		case http.StatusOK, http.StatusBadGateway, http.StatusGatewayTimeout:
			return false
		}
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// unrecordedStartError is an upload not sent because its start could not be recorded.
type unrecordedStartError struct {
	name string
	err  error
}

func (e *unrecordedStartError) Error() string {
	return fmt.Sprintf("upload %q not sent: its start could not be recorded: %v", e.name, e.err)
}

func (e *unrecordedStartError) Unwrap() error { return e.err }

// Retryable reports true: the job store may answer later.
func (e *unrecordedStartError) Retryable() bool { return true }

// findStarted looks in Pacifica metadata for the upload that an earlier attempt started
// at started (see UploadOnce), waiting for it while ingest may still be storing it.
func (c *IngestClient) findStarted(ctx context.Context, ledger Ledger, name string, meta UploadMeta, started time.Time) (int64, bool, error) {
	jobID, ok := metadataText(valueOf(meta.KeyValues, JobIDKey))
	switch {
	case !ok || jobID == "":
		logf(ledger, "upload %q: an earlier attempt started it, but it carries no %s to look for; uploading", name, JobIDKey)
		return 0, false, nil
	case c.metadata == nil:
		logf(ledger, "upload %q: an earlier attempt started it, but no metadata client can look for it; uploading", name)
		return 0, false, nil
	}
	deadline := started.Add(c.timeout)
	waiting := false
	for interval := 500 * time.Millisecond; ; interval = min(interval*2, 5*time.Second) {
		id, found, err := c.findUpload(ctx, jobID, meta)
		if err != nil {
			return 0, false, err
		}
		if found {
			logf(ledger, "upload %q: transaction %d, uploaded by an earlier attempt (started %s) that did not record it, "+
				"found in Pacifica metadata and reused, not uploaded again", name, id, started.Format(time.RFC3339))
			return id, true, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			logf(ledger, "upload %q: an earlier attempt started it at %s, and Pacifica metadata has no transaction of it "+
				"after the ingest time limit (%s); uploading", name, started.Format(time.RFC3339), c.timeout)
			return 0, false, nil
		}
		if !waiting {
			waiting = true
			logf(ledger, "upload %q: an earlier attempt started it at %s without recording ingest's answer; "+
				"waiting until %s for it to appear in Pacifica metadata", name, started.Format(time.RFC3339), deadline.Format(time.RFC3339))
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false, fmt.Errorf("upload %q: waiting for an earlier attempt's upload: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// findUpload returns the first transaction carrying JobIDKey = jobID that has the
// identity key/values of meta.
func (c *IngestClient) findUpload(ctx context.Context, jobID string, meta UploadMeta) (int64, bool, error) {
	ids, err := c.metadata.TransactionsWithKeyValue(ctx, JobIDKey, jobID)
	if err != nil {
		return 0, false, err
	}
	for _, id := range ids {
		info, err := c.metadata.TransactionInfo(ctx, id)
		var unknown *UnknownTransactionError
		switch {
		case errors.As(err, &unknown):
			continue
		case err != nil:
			return 0, false, err
		}
		if sameIdentity(info.KeyValues, meta) {
			return id, true, nil
		}
	}
	return 0, false, nil
}

// sameIdentity reports whether a transaction's key/values (as metadata keeps them, text)
// are those of meta for JobIDKey and every identity key, present or absent alike.
func sameIdentity(kvs map[string]string, meta UploadMeta) bool {
	for _, k := range append([]string{JobIDKey}, meta.IdentityKeys...) {
		raw := valueOf(meta.KeyValues, k)
		got, has := kvs[k]
		if raw == nil {
			if has {
				return false
			}
			continue
		}
		want, ok := metadataText(raw)
		if !ok || !has || got != want {
			return false
		}
	}
	return true
}

// valueOf returns the value of the last key/value named key (metadata keeps the last of
// a key given twice), nil when there is none.
func valueOf(kvs []KeyValue, key string) json.RawMessage {
	var v json.RawMessage
	for _, kv := range kvs {
		if kv.Key == key {
			v = kv.Value
		}
	}
	return v
}

// metadataText is the text metadata keeps for an uploaded value (Python's str()): a
// string itself, an integer its digits, true, false and null as Python writes them. Other
// numbers are not compared (ok false).
func metadataText(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if raw == nil || d.Decode(&v) != nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return v.String(), true
		}
	case bool:
		if v {
			return "True", true
		}
		return "False", true
	case nil:
		return "None", true
	}
	return "", false
}

// reusable says whether the ingest job of an earlier attempt stands: true when ingest has
// it in state OK (ingested or in progress), false when it FAILED or is unknown.
func (c *IngestClient) reusable(ctx context.Context, ledger Ledger, name string, jobID int64) (bool, error) {
	st, err := c.State(ctx, jobID)
	var pe *Error
	switch {
	case errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound:
		logf(ledger, "upload %q: ingest does not know job %d of an earlier attempt; uploading again", name, jobID)
		return false, nil
	case err != nil:
		return false, err
	case st.State == "FAILED":
		logf(ledger, "upload %q: ingest job %d of an earlier attempt FAILED (%s); uploading again", name, jobID, st.Exception)
		return false, nil
	}
	logf(ledger, "upload %q: ingest job %d of an earlier attempt reused, not uploaded again", name, jobID)
	return true, nil
}

// logf logs to the ledger when it keeps a log.
func logf(ledger Ledger, format string, args ...any) {
	if l, ok := ledger.(interface{ Logf(string, ...any) }); ok {
		l.Logf(format, args...)
	}
}
