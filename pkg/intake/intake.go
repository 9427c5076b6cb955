package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

// IngestEventType is the type of Pacifica's "new data" events, whose data is validated at
// intake (file paths, key/values) before any job may run.
const IngestEventType = "org.pacifica.metadata.ingest"

// ErrUnavailable means that neither PostgreSQL nor RabbitMQ could hold the event: the
// receiver answers 503 and the sender may try again.
var ErrUnavailable = errors.New("intake: neither the job store nor the broker can hold the event")

// Store is what intake needs of the job store.
type Store interface {
	Record(ctx context.Context, ev jobstore.NewEvent, jobs []jobstore.NewJob) ([]jobstore.Recorded, error)
	RecordMany(ctx context.Context, items []jobstore.Item) ([][]jobstore.Recorded, error)
	Pending(ctx context.Context, limit int, unconfirmedFor time.Duration) ([]jobstore.Publication, error)
	MarkPublished(ctx context.Context, ps []jobstore.Publication) error
	Unpublished(ctx context.Context, ps []jobstore.Publication) error
}

// Publisher is what intake needs of the broker.
type Publisher interface {
	Publish(ctx context.Context, routingKey string, m broker.Message) error
}

// Config configures an Intake. Routes, Store and Broker are required.
type Config struct {
	Routes *route.Table
	Store  Store
	Broker Publisher
	// JobsQueue receives one message per queued job; IntakeQueue holds whole events while
	// PostgreSQL is unavailable.
	JobsQueue   string
	IntakeQueue string
	// MaxAttempts is the attempt budget of a new job (default 5).
	MaxAttempts int
	// RecordTimeout bounds the PostgreSQL write of one event before the broker fallback is
	// tried (default 5s). PublishTimeout bounds one confirmed publish (default 5s).
	RecordTimeout  time.Duration
	PublishTimeout time.Duration
	// Publishers is the number of background goroutines publishing new jobs (default 4),
	// and PublishBuffer how many jobs may wait for them (default 4096); when it is full
	// the relay publishes the rest.
	Publishers    int
	PublishBuffer int
	// Committers is the number of group commits in flight at once (default 4).
	Committers int
	// MaxRouteSteps bounds the work of routing one event, in jsonpath2 evaluation steps
	// for every route's filter together (default DefaultMaxRouteSteps). An event that needs
	// more is recorded unrouted with the reason, and accepted.
	MaxRouteSteps int
	Metrics       *Metrics
	Logger        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() error {
	switch {
	case c.Routes == nil:
		return errors.New("intake: no route table")
	case c.Store == nil:
		return errors.New("intake: no job store")
	case c.Broker == nil:
		return errors.New("intake: no broker")
	case c.JobsQueue == "" || c.IntakeQueue == "":
		return errors.New("intake: jobs and intake queue names are required")
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.RecordTimeout <= 0 {
		c.RecordTimeout = 5 * time.Second
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.Publishers <= 0 {
		c.Publishers = 4
	}
	if c.Committers <= 0 {
		c.Committers = 4
	}
	if c.PublishBuffer <= 0 {
		c.PublishBuffer = 4096
	}
	if c.MaxRouteSteps <= 0 {
		c.MaxRouteSteps = DefaultMaxRouteSteps
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	return nil
}

// Intake accepts events. Create it with New and start its background publishers with Run.
type Intake struct {
	cfg     Config
	publish chan outgoing
	commits chan commitRequest
	running atomic.Bool
}

// New returns an Intake for the given configuration.
func New(cfg Config) (*Intake, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Intake{cfg: cfg, publish: make(chan outgoing, cfg.PublishBuffer),
		commits: make(chan commitRequest, maxGroup*cfg.Committers)}, nil
}

// Durability says where an accepted event is held.
type Durability string

const (
	// InStore: the event and its jobs are committed in PostgreSQL.
	InStore Durability = "postgres"
	// InBroker: the event is confirmed by RabbitMQ's intake queue; its jobs are recorded
	// when PostgreSQL is back, under the ids given in the receipt.
	InBroker Durability = "broker"
)

// Receipt tells the sender what became of an accepted event.
type Receipt struct {
	EventID string
	Source  string
	Durable Durability
	Jobs    []JobRef
}

// JobRef names one job of an accepted event.
type JobRef struct {
	ID    uuid.UUID
	Route string
	State jobstore.State
	// Duplicate is true when the job already existed: the event was delivered before.
	Duplicate bool
	Error     string
}

// Unrouted reports whether the job was just recorded for an event no route wants.
func (j JobRef) Unrouted() bool { return j.State == jobstore.Unrouted && !j.Duplicate }

// Invalid reports whether the job was just recorded failed because its event is invalid.
func (j JobRef) Invalid() bool { return j.State == jobstore.Failed && !j.Duplicate && j.Error != "" }

// Accept makes ev durable and returns its jobs. It fails only with ErrUnavailable (or the
// context's error) when neither PostgreSQL nor RabbitMQ could hold the event.
func (in *Intake) Accept(ctx context.Context, ev *event.Event) (Receipt, error) {
	return in.AcceptWithin(ctx, ev, nil)
}

// AcceptWithin is Accept for one event of a group (a batch) whose routing shares budget: the
// event's routing takes its steps from it, and once it is spent the group's remaining
// events are recorded unrouted with the reason. A nil budget is Accept.
func (in *Intake) AcceptWithin(ctx context.Context, ev *event.Event, budget *RouteBudget) (Receipt, error) {
	plan := in.plan(ev, budget)
	rctx, cancel := context.WithTimeout(ctx, in.cfg.RecordTimeout)
	rec, err := in.commitGrouped(rctx, jobstore.Item{Event: plan.event, Jobs: plan.jobs})
	cancel()
	if err == nil {
		in.enqueue(rec)
		in.cfg.Metrics.observeAccepted(InStore)
		return receipt(ev, InStore, fromRecorded(rec)), nil
	}
	if ctx.Err() != nil {
		return Receipt{}, ctx.Err()
	}
	in.cfg.Logger.Warn("job store unavailable, holding the event in the broker",
		"event_id", ev.ID(), "source", ev.Source(), "error", err)
	if perr := in.hold(ctx, ev); perr != nil {
		in.cfg.Metrics.observeRefused()
		in.cfg.Logger.Error("event refused: neither the job store nor the broker can hold it",
			"event_id", ev.ID(), "source", ev.Source(), "store_error", err, "broker_error", perr)
		return Receipt{}, fmt.Errorf("%w: store: %v; broker: %v", ErrUnavailable, err, perr)
	}
	in.cfg.Metrics.observeAccepted(InBroker)
	return receipt(ev, InBroker, fromPlan(plan.jobs)), nil
}

// plan is what an event becomes: its record and its jobs.
type plan struct {
	event jobstore.NewEvent
	jobs  []jobstore.NewJob
}

// plan routes the event and builds its record. An event that no route matches gets one job
// in state unrouted, so that operators see what arrives. An ingest event whose data is
// invalid (a file path escaping its directory, a key/value that would inject lines) gets
// its jobs recorded as failed with the reason: it is well-formed, so it is accepted, but it
// never runs.
//
// Routing is bounded: the document is decoded within DecodeLimit of its size, and the
// filters run within MaxRouteSteps (and what is left of the group's budget). An event past a
// bound is recorded unrouted with the reason ("not routed: ..."): it is well-formed, so it
// is accepted, but it costs no more.
func (in *Intake) plan(ev *event.Event, budget *RouteBudget) plan {
	p := plan{event: newEvent(ev, in.cfg.Now())}
	var routes []route.Route
	var doc any
	docText, docErr := ev.DocumentWithin(DecodeLimit(len(ev.Raw)))
	if docErr == nil {
		doc, docErr = jsonpath2.DecodeWithin(docText, DecodeLimit(len(docText)))
	}
	switch {
	case errors.Is(docErr, jsonpath2.ErrTooLarge):
		docErr = fmt.Errorf("not routed: the event document is too costly to decode for routing "+
			"(%d bytes; %v)", len(docText), docErr)
	case docErr != nil:
		docErr = fmt.Errorf("event document: %w", docErr)
	default:
		steps := budget.take(in.cfg.MaxRouteSteps)
		if steps <= 0 {
			docErr = errors.New("not routed: the routing budget of the batch it came in is spent")
			break
		}
		var used int
		routes, used, docErr = in.cfg.Routes.MatchWithin(doc, steps)
		budget.spend(used)
		if docErr != nil {
			routes = nil
			docErr = fmt.Errorf("not routed: %w", docErr)
		}
	}
	if len(routes) == 0 {
		j := jobstore.NewJob{
			ID:          jobstore.JobID(ev.Source(), ev.ID(), ""),
			State:       jobstore.Unrouted,
			MaxAttempts: in.cfg.MaxAttempts,
		}
		if docErr != nil {
			j.Error = docErr.Error()
		}
		p.jobs = []jobstore.NewJob{j}
		return p
	}
	var invalid error
	if ev.Type() == IngestEventType {
		// The document decoded for routing holds the data: validate it from there rather
		// than decode it again (the same answer as event.ParseIngest(ev.Data())).
		if _, err := ev.IngestFromDocument(doc); err != nil {
			invalid = err
		}
	}
	for _, r := range routes {
		j := jobstore.NewJob{
			ID:          jobstore.JobID(ev.Source(), ev.ID(), r.Name),
			Route:       r.Name,
			State:       jobstore.Queued,
			MaxAttempts: in.cfg.MaxAttempts,
		}
		if invalid != nil {
			j.State = jobstore.Failed
			j.Error = "invalid event: " + invalid.Error()
		}
		p.jobs = append(p.jobs, j)
	}
	return p
}

func newEvent(ev *event.Event, now time.Time) jobstore.NewEvent {
	ne := jobstore.NewEvent{
		Source:     ev.Source(),
		ID:         ev.ID(),
		Type:       ev.Type(),
		TimeText:   ev.TimeText(),
		ReceivedAt: now,
	}
	ne.Body, ne.ContentType = event.Stored(ev)
	if t, ok := ev.Time(); ok {
		ne.Time = &t
	}
	return ne
}

func receipt(ev *event.Event, d Durability, jobs []JobRef) Receipt {
	return Receipt{EventID: ev.ID(), Source: ev.Source(), Durable: d, Jobs: jobs}
}

func fromRecorded(rec []jobstore.Recorded) []JobRef {
	out := make([]JobRef, 0, len(rec))
	for _, r := range rec {
		out = append(out, JobRef{ID: r.Job.ID, Route: r.Job.Route, State: r.Job.State,
			Duplicate: !r.Created, Error: r.Job.Error})
	}
	return out
}

func fromPlan(jobs []jobstore.NewJob) []JobRef {
	out := make([]JobRef, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, JobRef{ID: j.ID, Route: j.Route, State: j.State, Error: j.Error})
	}
	return out
}
