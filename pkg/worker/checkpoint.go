package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Checkpoint returns the value saved under name by SaveCheckpoint, in this attempt or an
// earlier attempt of the same job (including attempts before an operator's retry).
func (j *Job) Checkpoint(name string) (json.RawMessage, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.checkpoints[name]
	if !ok {
		return nil, false
	}
	return append(json.RawMessage(nil), v...), true
}

// SaveCheckpoint records v (marshalled to JSON) under name, durably, before it returns: a
// later attempt of the job, on this worker or another, finds it with Checkpoint. Use it to
// record work that must not be done twice, such as an upload that ingest accepted.
//
// While PostgreSQL is unreachable it retries for a short while (the job's lease), bounded
// by ctx. It fails with an error wrapping jobstore.ErrLeaseLost when the job is no longer
// this worker's. Even when saving fails, Checkpoint returns v for the rest of this
// attempt, and the worker writes it when the attempt ends, with the attempt's outcome
// (finished or rescheduled), as long as the job is still this worker's. A Job that no
// Worker made (a handler's own test) keeps checkpoints in memory.
func (j *Job) SaveCheckpoint(ctx context.Context, name string, v any) error {
	if name == "" {
		return errors.New("worker: a checkpoint needs a name")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("worker: checkpoint %q: %w", name, err)
	}
	j.mu.Lock()
	if j.checkpoints == nil {
		j.checkpoints = map[string]json.RawMessage{}
	}
	j.checkpoints[name] = b
	save := j.save
	j.mu.Unlock()
	if save == nil {
		return nil
	}
	err = save(ctx, name, b)
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case err != nil:
		if j.unsaved == nil {
			j.unsaved = map[string]bool{}
		}
		j.unsaved[name] = true
	case bytes.Equal(j.checkpoints[name], b): // not replaced meanwhile by a value not saved
		delete(j.unsaved, name)
	}
	return err
}

// unsavedCheckpoints returns the checkpoints whose latest value did not reach the job
// store, nil when there are none.
func (j *Job) unsavedCheckpoints() map[string]json.RawMessage {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.unsaved) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(j.unsaved))
	for name := range j.unsaved {
		out[name] = append(json.RawMessage(nil), j.checkpoints[name]...)
	}
	return out
}

// saveCheckpoint writes a checkpoint of the job, retrying while PostgreSQL does not answer,
// for at most one lease (a longer outage likely costs the lease anyway) and within ctx.
func (w *Worker) saveCheckpoint(ctx context.Context, job *Job, name string, value json.RawMessage) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Lease)
	defer cancel()
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		cctx, ccancel := context.WithTimeout(ctx, w.cfg.Lease/3)
		err := w.cfg.Store.SaveCheckpoint(cctx, job.ID, w.cfg.Owner, name, value)
		ccancel()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, jobstore.ErrLeaseLost):
			job.Logger.Warn("checkpoint not saved: lease lost", "checkpoint", name)
			return fmt.Errorf("worker: checkpoint %q: %w", name, err)
		}
		job.Logger.Warn("saving a checkpoint failed; retrying", "checkpoint", name, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			job.Logger.Error("checkpoint not saved", "checkpoint", name, "error", err)
			return fmt.Errorf("worker: checkpoint %q not saved: %w", name, err)
		case <-t.C:
		}
	}
}
