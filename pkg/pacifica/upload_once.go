package pacifica

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// JobIDKey is the key/value that the dispatcher adds to every upload it makes: the UUID
// (a JSON string) of the dispatcher job that made it, next to the lineage key
// Transactions._id.
const JobIDKey = "dispatcher.job_id"

// LineageKey is the key/value that links an upload of the dispatcher to its source: the
// source transaction's id (PROTOCOLS.md §3.4). Events that carry it are the dispatcher's
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

// uploadCheckpoint is the value of an upload's checkpoint.
type uploadCheckpoint struct {
	JobID int64 `json:"job_id"`
}

// saveTimeout bounds the recording of an accepted upload, which goes on even when ctx is
// cancelled right after ingest accepted it.
const saveTimeout = 30 * time.Second

// UploadOnce is Upload for jobs that may run more than once: the upload called name is
// sent to ingest at most once per job, whatever the number of attempts, as long as the
// ledger keeps its checkpoint ("upload/" + name).
//
// When the checkpoint names an ingest job, UploadOnce asks ingest about it: if it is
// ingested or still in progress, UploadOnce waits for it and returns its id without
// uploading anything; if ingest says it FAILED or does not know it (404), the upload is
// sent again; any other error is returned (retryable as Upload's are). Otherwise it sends
// the upload, records the job id in the ledger at once, before waiting, then waits.
//
// When the ledger cannot record the id (the job store unreachable for longer than the
// ledger retries, or the job's lease lost), the upload is not sent again: UploadOnce still
// waits and returns the id, and reports the failure through the ledger's Logf method when
// it has one (*worker.Job has). Failing instead would make the next attempt upload again
// for sure; going on only does so if this attempt also ends before the job is recorded.
// Two windows remain where a duplicate is possible: that one, and an attempt that ends
// after ingest accepted the body but before its answer (the job id) came back.
func (c *IngestClient) UploadOnce(ctx context.Context, ledger Ledger, name, dir string, meta UploadMeta) (int64, error) {
	key := UploadCheckpointPrefix + name
	if raw, ok := ledger.Checkpoint(key); ok {
		var cp uploadCheckpoint
		if err := json.Unmarshal(raw, &cp); err != nil || cp.JobID <= 0 {
			logf(ledger, "upload %q: checkpoint %s is not an ingest job; uploading", name, raw)
		} else {
			reuse, err := c.reusable(ctx, ledger, name, cp.JobID)
			if err != nil {
				return 0, err
			}
			if reuse {
				_, err := c.Wait(ctx, cp.JobID)
				return cp.JobID, err
			}
		}
	}
	id, err := c.Send(ctx, dir, meta)
	if err != nil {
		return id, err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	serr := ledger.SaveCheckpoint(sctx, key, uploadCheckpoint{JobID: id})
	cancel()
	if serr != nil {
		logf(ledger, "upload %q: ingest accepted it as job %d, but the checkpoint could not be saved (%v): "+
			"if this attempt ends before the job is recorded, the next one uploads it again", name, id, serr)
	}
	if _, err := c.Wait(ctx, id); err != nil {
		return id, err
	}
	return id, nil
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
