package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Causes of a job context's cancellation, besides errShutdown.
var (
	errCancelRequested = errors.New("cancelled by an operator")
	errLeaseLost       = errors.New("lease lost: another worker took the job")
	ErrTimeLimit       = errors.New("the job's time limit was exceeded")
)

// run runs one claimed attempt of a job and records how it ended.
func (w *Worker) run(j jobstore.Job) {
	job := w.newJob(j)
	log := job.Logger
	start := time.Now()
	w.cfg.Metrics.running.Inc()
	defer w.cfg.Metrics.running.Dec()

	timeout := w.cfg.DefaultTimeout
	if t, ok := w.cfg.Timeouts[j.Route]; ok && t > 0 {
		timeout = t
	}
	jctx, cancel := context.WithCancelCause(w.jobsCtx)
	defer cancel(nil)
	tctx, cancelT := context.WithTimeoutCause(jctx, timeout, ErrTimeLimit)
	defer cancelT()

	job.Logf("attempt %d of %d started by %s", j.Attempts, j.MaxAttempts, w.cfg.Owner)

	hbDone, logDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(jctx, job, cancel)
	}()
	go func() {
		defer close(logDone)
		w.streamLog(jctx, job)
	}()

	res, err := w.attempt(tctx, job, j)
	if err != nil && errors.Is(context.Cause(tctx), ErrTimeLimit) {
		// The job's own time limit is final: running it again would hit it again.
		err = Permanent(fmt.Errorf("time limit of %s exceeded: %w", timeout, err))
	}
	cancelT()
	cause := context.Cause(jctx)
	cancel(nil)
	<-hbDone
	<-logDone

	// Record the end even when the worker is shutting down.
	fctx, fcancel := context.WithTimeout(context.Background(), 2*w.cfg.Lease)
	defer fcancel()
	w.finish(fctx, log, job, j, res, err, cause)
	w.cfg.Metrics.duration.WithLabelValues(j.Route).Observe(time.Since(start).Seconds())
}

// attempt prepares the job's directory and event and calls the handler.
func (w *Worker) attempt(ctx context.Context, job *Job, j jobstore.Job) (Result, error) {
	h, ok := w.cfg.Handlers[j.Route]
	if !ok {
		return Result{}, Permanent(fmt.Errorf("no handler for route %q in this worker", j.Route))
	}
	var body []byte
	var ct string
	if j.Event != nil { // read with the claim
		body, ct = j.Event.Body, j.Event.ContentType
	} else {
		var err error
		if body, ct, err = w.cfg.Store.EventBody(ctx, j.ID); err != nil {
			return Result{}, Transient(fmt.Errorf("reading the job's event: %w", err))
		}
	}
	ev, err := event.Load(body, ct)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("the job's event does not parse: %w", err))
	}
	job.Event = ev
	job.Dir = filepath.Join(w.cfg.DataDir, j.ID.String(), strconv.Itoa(j.Attempts))
	if err := removeAll(job.Dir); err != nil {
		return Result{}, fmt.Errorf("clearing the job directory: %w", err)
	}
	if err := os.MkdirAll(job.Dir, 0o700); err != nil {
		return Result{}, fmt.Errorf("creating the job directory: %w", err)
	}
	defer func() {
		if err := removeAll(filepath.Join(w.cfg.DataDir, j.ID.String())); err != nil {
			job.Logger.Warn("removing the job directory", "error", err)
		}
	}()
	return safeRun(ctx, h, job)
}

// safeRun calls the handler, turning a panic into a permanent failure.
func safeRun(ctx context.Context, h Handler, job *Job) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			job.Logger.Error("handler panicked", "panic", p)
			err = Permanent(fmt.Errorf("internal error: handler panicked: %v", p))
		}
	}()
	return h.Run(ctx, job)
}

// heartbeat renews the job's lease until ctx ends, and cancels the job when an operator
// asks for it or when the lease is lost. (streamLog writes the job's log meanwhile.)
func (w *Worker) heartbeat(ctx context.Context, job *Job, cancel context.CancelCauseFunc) {
	t := time.NewTicker(w.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, hcancel := context.WithTimeout(ctx, w.cfg.Lease/3)
		cancelRequested, err := w.cfg.Store.Heartbeat(hctx, job.ID, w.cfg.Owner, w.cfg.Lease)
		hcancel()
		if ctx.Err() != nil {
			return // the attempt ended while the heartbeat was in flight: nothing to report
		}
		switch {
		case errors.Is(err, jobstore.ErrLeaseLost):
			job.Logger.Warn("lease lost; stopping the job")
			cancel(errLeaseLost)
			return
		case err != nil:
			// PostgreSQL is unreachable: keep running; nobody can take the job meanwhile.
			job.Logger.Warn("heartbeat failed", "error", err)
		case cancelRequested:
			job.Logger.Info("cancel requested; stopping the job")
			cancel(errCancelRequested)
			return
		}
	}
}

// finish records the attempt's end, retrying while PostgreSQL is unreachable so that a
// finished job is not run again. The checkpoints the attempt could not save are written in
// the same statement, so that the next attempt (or an operator's retry) finds them. The
// error is stored as ErrorText makes it (the job log has it whole). When PostgreSQL
// refuses what the attempt left for its data (a data exception), trying again cannot help
// and a lease left to expire would run the job again: the end is recorded without its
// text and details (its checkpoints kept), the job failed for good (or succeeded, when it
// had).
func (w *Worker) finish(ctx context.Context, log interface {
	Info(string, ...any)
	Warn(string, ...any)
	Error(string, ...any)
}, job *Job, j jobstore.Job, res Result, runErr error, cause error) {
	var (
		outcome    *jobstore.Outcome
		reschedule *time.Time
		errText    string
	)
	switch {
	case errors.Is(cause, errLeaseLost):
		log.Warn("attempt abandoned: lease lost")
		w.cfg.Metrics.finished.WithLabelValues(j.Route, "lease_lost").Inc()
		return
	case runErr == nil:
		outcome = &jobstore.Outcome{State: jobstore.Succeeded, TransactionID: res.TransactionID, Details: res.Details}
		job.Logf("succeeded")
	case errors.Is(cause, errCancelRequested):
		outcome = &jobstore.Outcome{State: jobstore.Cancelled, Error: "cancelled by an operator", Details: res.Details}
		job.Logf("cancelled by an operator")
	case errors.Is(cause, errShutdown):
		at := time.Now()
		reschedule, errText = &at, "handed back: the worker shut down during the attempt"
		job.Logf("%s", errText)
	default:
		full := runErr.Error()
		msg := ErrorText(full)
		switch Classify(runErr) {
		case ClassTransient:
			if j.Attempts < j.MaxAttempts {
				at := time.Now().Add(w.backoff(j.Attempts))
				reschedule, errText = &at, msg
				job.Logf("attempt %d failed (will retry at %s): %s", j.Attempts, at.UTC().Format(time.RFC3339), full)
				break
			}
			msg = fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, msg)
			full = fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, full)
		case ClassCancelled:
			// A context cancelled without our cause: the job's own time limit, or shutdown.
		}
		if reschedule == nil {
			outcome = &jobstore.Outcome{State: jobstore.Failed, Error: msg, TransactionID: res.TransactionID, Details: res.Details}
			job.Logf("failed: %s", full)
		}
	}
	cps := job.unsavedCheckpoints()
	if len(cps) > 0 {
		log.Info("writing the checkpoints not saved during the attempt with its end", "checkpoints", len(cps))
	}
	if outcome != nil {
		outcome.Checkpoints = cps
	}
	refused := false
	for delay := 200 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		var err error
		if outcome != nil {
			err = w.finishWithLog(ctx, job, outcome)
		} else {
			w.flushLog(ctx, job)
			_, err = w.cfg.Store.Reschedule(ctx, j.ID, w.cfg.Owner, errText, *reschedule, cps)
		}
		switch {
		case err == nil:
			state := "rescheduled"
			if outcome != nil {
				state = string(outcome.State)
			}
			w.cfg.Metrics.finished.WithLabelValues(j.Route, state).Inc()
			log.Info("attempt ended", "outcome", state, "error", errText+outcomeError(outcome))
			return
		case errors.Is(err, jobstore.ErrLeaseLost):
			log.Warn("attempt ended but the lease was lost meanwhile; another worker owns the job")
			w.cfg.Metrics.finished.WithLabelValues(j.Route, "lease_lost").Inc()
			return
		case jobstore.IsDataError(err) && !refused:
			refused = true
			log.Error("PostgreSQL refused the data of the attempt's end; recording the end without it",
				"error", err, "job_error", errText+outcomeError(outcome))
			outcome, reschedule = refusedOutcome(outcome, res, err), nil
			outcome.Checkpoints = cps
			job.Logf("PostgreSQL refused to record this attempt's end (%v); the job ends %s", err, outcome.State)
			continue
		}
		log.Warn("recording the end of the attempt failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			log.Error("could not record the end of the attempt; the lease will expire and the job run again", "error", err)
			return
		case <-time.After(delay):
		}
		// Keep the lease while we wait, so the reaper does not hand the job out again.
		_, _ = w.cfg.Store.Heartbeat(ctx, j.ID, w.cfg.Owner, w.cfg.Lease)
	}
}

// finishWithLog ends the job with what waits of its log, in one statement: the last lines
// (the attempt's outcome) need no round trip of their own. A log that could not be stored
// waits for the next try (LogText makes it text PostgreSQL takes: a refused end is refused
// for its other data).
func (w *Worker) finishWithLog(ctx context.Context, job *Job, o *jobstore.Outcome) error {
	job.flushMu.Lock()
	defer job.flushMu.Unlock()
	text := job.takeLog()
	o.Log = LogText(text)
	_, err := w.cfg.Store.Finish(ctx, job.ID, w.cfg.Owner, *o)
	if err != nil {
		job.putBackLog(text)
	}
	return err
}

// refusedOutcome is the end recorded when PostgreSQL refused the data of o (nil: a
// reschedule): the data error is permanent, so the job ends; a job that succeeded stays
// succeeded, without its details.
func refusedOutcome(o *jobstore.Outcome, res Result, err error) *jobstore.Outcome {
	if o != nil && o.State == jobstore.Succeeded {
		return &jobstore.Outcome{State: jobstore.Succeeded, TransactionID: o.TransactionID}
	}
	return &jobstore.Outcome{State: jobstore.Failed, TransactionID: res.TransactionID,
		Error: fmt.Sprintf("the attempt's end could not be recorded: PostgreSQL refused its data (SQLSTATE %s); the job log has the error",
			jobstore.SQLState(err))}
}

func outcomeError(o *jobstore.Outcome) string {
	if o == nil {
		return ""
	}
	return o.Error
}

// backoff is the delay before retry number attempt, drawn in Backoff's range.
func (w *Worker) backoff(attempt int) time.Duration {
	lo, hi := Backoff(w.cfg.BackoffBase, w.cfg.BackoffMax, attempt)
	return lo + rand.N(hi-lo+1)
}

// Backoff is the range of the delay before retry number attempt (from 1):
// base·2^(attempt-1), capped at max, with jitter between half and all of it.
func Backoff(base, max time.Duration, attempt int) (lo, hi time.Duration) {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d / 2, d
}
