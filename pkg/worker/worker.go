package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Store is what workers need of the job store.
type Store interface {
	Get(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	Claim(ctx context.Context, id uuid.UUID, owner string, lease time.Duration) (jobstore.Job, error)
	Heartbeat(ctx context.Context, id uuid.UUID, owner string, lease time.Duration) (cancelRequested bool, err error)
	Finish(ctx context.Context, id uuid.UUID, owner string, o jobstore.Outcome) (jobstore.Job, error)
	Reschedule(ctx context.Context, id uuid.UUID, owner string, errText string, at time.Time,
		checkpoints map[string]json.RawMessage) (jobstore.Job, error)
	ReclaimExpired(ctx context.Context, limit int) (requeued, failed int, err error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	AppendLog(ctx context.Context, id uuid.UUID, text string) error
	EventBody(ctx context.Context, id uuid.UUID) (body []byte, contentType string, err error)
	SaveCheckpoint(ctx context.Context, id uuid.UUID, owner string, name string, value json.RawMessage) error
}

// Consumer is what workers need of the broker.
type Consumer interface {
	Consume(ctx context.Context, cfg broker.ConsumeConfig, h func(context.Context, broker.Delivery) broker.Disposition) error
}

// Config configures a Worker. Store, Consumer, Queue and Handlers are required.
type Config struct {
	Store    Store
	Consumer Consumer
	// Queue is the jobs queue.
	Queue string
	// Handlers run the jobs of each route, by route name.
	Handlers map[string]Handler
	// Timeouts bound one attempt of a route's jobs, by route name; DefaultTimeout (1h)
	// applies to the others.
	Timeouts       map[string]time.Duration
	DefaultTimeout time.Duration
	// Concurrency is the number of jobs run at once, computing or waiting on Pacifica
	// (default: four times ComputeConcurrency).
	Concurrency int
	// ComputeConcurrency is the number of jobs computing at once, running a model or a
	// script (Job.Compute; default: the number of CPUs).
	ComputeConcurrency int
	// Lease is how long a job stays owned without a heartbeat (default 30s); heartbeats
	// come every Lease/3, and the reaper looks for expired leases every Lease/2.
	Lease time.Duration
	// HoldMax bounds how long a job message is held while the job store is unavailable
	// (default HoldMax).
	HoldMax time.Duration
	// BackoffBase and BackoffMax shape the delay before a transient failure is retried:
	// BackoffBase·2^(attempt-1), capped at BackoffMax, with jitter (defaults 2s, 5m; the
	// service's are 5s and 1h).
	BackoffBase, BackoffMax time.Duration
	// DataDir holds the jobs' private directories (<DataDir>/<job id>/<attempt>), removed
	// when the attempt ends.
	DataDir string
	// ShutdownGrace is how long running jobs may go on after Run's context ends before
	// they are cancelled and handed back to the queue for another worker (default 30s).
	ShutdownGrace time.Duration
	// Owner names this worker in leases (default: host-pid-random).
	Owner   string
	Metrics *Metrics
	Logger  *slog.Logger
}

func (c *Config) defaults() error {
	switch {
	case c.Store == nil:
		return errors.New("worker: no job store")
	case c.Consumer == nil:
		return errors.New("worker: no broker")
	case c.Queue == "":
		return errors.New("worker: no queue")
	case len(c.Handlers) == 0:
		return errors.New("worker: no handlers")
	case c.DataDir == "":
		return errors.New("worker: no data directory")
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = time.Hour
	}
	if c.ComputeConcurrency <= 0 {
		c.ComputeConcurrency = runtime.NumCPU()
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4 * c.ComputeConcurrency
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Worker consumes and runs jobs. Create it with New and start it with Run.
type Worker struct {
	cfg     Config
	slots   chan struct{}
	compute chan struct{}
	jobs    sync.WaitGroup
	// jobsCtx is the parent of running jobs: it outlives Run's context by ShutdownGrace.
	jobsCtx    context.Context
	cancelJobs context.CancelCauseFunc
}

// New returns a Worker.
func New(cfg Config) (*Worker, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("worker: data directory: %w", err)
	}
	w := &Worker{cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), compute: make(chan struct{}, cfg.ComputeConcurrency)}
	w.jobsCtx, w.cancelJobs = context.WithCancelCause(context.Background())
	cfg.Metrics.start(cfg)
	return w, nil
}

// Owner returns the name this worker uses in leases.
func (w *Worker) Owner() string { return w.cfg.Owner }

// errShutdown is the cause of cancelling jobs still running ShutdownGrace after Run's
// context ended: they are handed back to the queue.
var errShutdown = errors.New("worker shutting down")

// Run first removes the job directories a dead process left in DataDir, then consumes jobs
// until ctx is cancelled. Then it stops taking jobs, lets the running
// ones finish for up to ShutdownGrace, cancels the rest and hands them back to the queue,
// and returns.
func (w *Worker) Run(ctx context.Context) error {
	w.sweep(ctx)
	reaperDone := make(chan struct{})
	go func() {
		defer close(reaperDone)
		w.reap(ctx)
	}()
	err := w.cfg.Consumer.Consume(ctx, broker.ConsumeConfig{
		Queue: w.cfg.Queue, Prefetch: w.cfg.Concurrency, Workers: w.cfg.Concurrency,
	}, w.handle)
	<-reaperDone

	done := make(chan struct{})
	go func() {
		w.jobs.Wait()
		close(done)
	}()
	t := time.NewTimer(w.cfg.ShutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		w.cfg.Logger.Warn("shutdown grace over: handing running jobs back", "grace", w.cfg.ShutdownGrace)
		w.cancelJobs(errShutdown)
		<-done
	}
	w.cancelJobs(errShutdown)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("worker: consume: %w", err)
	}
	return nil
}

// handle takes one job message: it waits for a free slot, claims the job, starts it, and
// acknowledges the message (the lease now guards the job).
func (w *Worker) handle(ctx context.Context, d broker.Delivery) broker.Disposition {
	var m jobstore.JobMessage
	if err := json.Unmarshal(d.Body, &m); err != nil || m.JobID == uuid.Nil {
		w.cfg.Logger.Error("job message is not valid; dead-lettered", "message_id", d.MessageID, "error", err)
		w.cfg.Metrics.messages.WithLabelValues("invalid").Inc()
		return broker.Reject
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return broker.Requeue
	}
	job, err := w.claim(ctx, m.JobID)
	switch {
	case errors.Is(err, jobstore.ErrNotClaimable), errors.Is(err, jobstore.ErrNotFound):
		<-w.slots
		w.cfg.Metrics.messages.WithLabelValues("ignored").Inc()
		w.cfg.Logger.Debug("job message ignored", "job_id", m.JobID, "reason", err)
		return broker.Ack
	case err != nil:
		<-w.slots
		w.cfg.Metrics.messages.WithLabelValues("requeued").Inc()
		w.cfg.Logger.Warn("cannot claim job; message requeued", "job_id", m.JobID, "error", err)
		return broker.Requeue
	}
	w.cfg.Metrics.messages.WithLabelValues("claimed").Inc()
	w.jobs.Add(1)
	go func() {
		defer w.jobs.Done()
		defer func() { <-w.slots }()
		w.run(job)
	}()
	return broker.Ack
}

// HoldMax bounds how long a job message is held, unacknowledged, while the job store is
// unavailable: under RabbitMQ's consumer acknowledgement timeout (30 minutes by default).
const HoldMax = 20 * time.Minute

// claim claims the job, and while the job store is unavailable keeps the message and
// tries again, from 1 s doubling to 30 s, for up to HoldMax. Requeueing at once instead
// would spin the message through RabbitMQ every second, and a quorum queue dead-letters a
// message past its delivery limit (20 by default on RabbitMQ 4).
func (w *Worker) claim(ctx context.Context, id uuid.UUID) (jobstore.Job, error) {
	start, wait := time.Now(), time.Second
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		job, err := w.cfg.Store.Claim(cctx, id, w.cfg.Owner, w.cfg.Lease)
		cancel()
		if err == nil || errors.Is(err, jobstore.ErrNotClaimable) || errors.Is(err, jobstore.ErrNotFound) ||
			ctx.Err() != nil || time.Since(start)+wait > w.holdMax() {
			return job, err
		}
		if wait == time.Second {
			w.cfg.Logger.Warn("job store unavailable: holding the job message and trying again", "job_id", id, "error", err)
		}
		pause(ctx, wait)
		wait = min(2*wait, 30*time.Second)
	}
}

func (w *Worker) holdMax() time.Duration {
	if w.cfg.HoldMax > 0 {
		return w.cfg.HoldMax
	}
	return HoldMax
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// reap hands back the jobs of dead workers until ctx ends, once reapGate allows it.
func (w *Worker) reap(ctx context.Context) {
	t := time.NewTicker(w.cfg.Lease / 2)
	defer t.Stop()
	gate := &reapGate{lease: w.cfg.Lease}
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		reachable := w.cfg.Store.Ping(pctx) == nil
		cancel()
		if gate.allow(time.Now(), reachable) {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			requeued, failed, err := w.cfg.Store.ReclaimExpired(rctx, 100)
			cancel()
			switch {
			case err != nil:
				gate.allow(time.Now(), false)
			case requeued+failed > 0:
				w.cfg.Metrics.reclaimed.Add(float64(requeued + failed))
				w.cfg.Logger.Warn("reclaimed jobs of lost workers", "requeued", requeued, "failed", failed)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
