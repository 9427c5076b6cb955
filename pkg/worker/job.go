package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Handler runs the jobs of a route.
type Handler interface {
	// Run runs one attempt of the job. It returns the result, and an error when the job
	// did not succeed (classified by Classify: wrap with Permanent or Transient to be
	// explicit). A failed job may still have a result: the transaction that holds the
	// failed run's logs.
	Run(ctx context.Context, j *Job) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j *Job) (Result, error)

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, j *Job) (Result, error) { return f(ctx, j) }

// Job is one attempt of a job, as a handler sees it.
type Job struct {
	ID          uuid.UUID
	Route       string
	Attempt     int
	MaxAttempts int
	// Event is the event that made the job.
	Event *event.Event
	// Dir is the attempt's private directory, empty at the start and removed at the end.
	Dir string
	// Logger logs with the job and event ids.
	Logger *slog.Logger

	mu          sync.Mutex
	log         logBuffer
	flushMu     sync.Mutex
	checkpoints map[string]json.RawMessage
	// unsaved names the checkpoints whose latest value the job store has not got; the
	// attempt's end writes them.
	unsaved map[string]bool
	// save writes a checkpoint to the job store; nil keeps checkpoints in memory only.
	save func(ctx context.Context, name string, value json.RawMessage) error
	// compute is the worker's semaphore of jobs computing (nil: no limit), and computing
	// the gauge of the slots taken.
	compute   chan struct{}
	computing prometheus.Gauge
}

// Compute waits for one of the worker's compute slots (COMPUTE_CONCURRENCY) and returns
// what gives it back. A handler holds one only while it computes (runs a model or a
// script), not while it waits on Pacifica (a cart being staged, an upload being ingested):
// slow peers must not stop work whose data is ready.
func (j *Job) Compute(ctx context.Context) (release func(), err error) {
	if j.compute == nil {
		return func() {}, nil
	}
	select {
	case j.compute <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	if j.computing != nil {
		j.computing.Inc()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-j.compute
			if j.computing != nil {
				j.computing.Dec()
			}
		})
	}, nil
}

// Logf adds a line to the job's log, whose tail is kept with the job in the job store.
// The line reaches the store within about a second (see Output).
func (j *Job) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	j.appendLog([]byte(time.Now().UTC().Format(time.RFC3339) + " " + strings.TrimRight(line, "\n") + "\n"))
}

// Result is what a job produced.
type Result struct {
	// TransactionID is the Pacifica transaction the job uploaded, if any.
	TransactionID *int64
	// Details are handler-specific facts kept with the job (JSON object).
	Details json.RawMessage
}

// newJob is the handler's view of a claimed attempt.
func (w *Worker) newJob(j jobstore.Job) *Job {
	log := w.cfg.Logger.With("job_id", j.ID, "event_id", j.EventID, "route", j.Route, "attempt", j.Attempts)
	job := &Job{ID: j.ID, Route: j.Route, Attempt: j.Attempts, MaxAttempts: j.MaxAttempts, Logger: log,
		checkpoints: maps.Clone(j.Checkpoints), compute: w.compute}
	job.log.full = make(chan struct{}, 1)
	if w.cfg.Metrics != nil {
		job.computing = w.cfg.Metrics.computing
	}
	job.save = func(ctx context.Context, name string, value json.RawMessage) error {
		return w.saveCheckpoint(ctx, job, name, value)
	}
	return job
}
