package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/intake"
)

// Accepter makes an event durable; *intake.Intake is one.
type Accepter interface {
	Accept(ctx context.Context, ev *event.Event) (intake.Receipt, error)
}

// Defaults of Config.
const (
	// DefaultMaxBodyBytes is the default limit of an event body: 16 MiB.
	DefaultMaxBodyBytes = 16 << 20
	// DefaultMemoryBudget is the default of Config.MemoryBudget: 64 MiB.
	DefaultMemoryBudget = 64 << 20
	// DefaultMaxBatchEvents is the default of Config.MaxBatchEvents.
	DefaultMaxBatchEvents = 1000
	// DefaultBatchRouteSteps is the default of Config.BatchRouteSteps: four events'
	// worth of intake.DefaultMaxRouteSteps.
	DefaultBatchRouteSteps = 4 * intake.DefaultMaxRouteSteps
)

// Config configures a Receiver. Intake is required.
type Config struct {
	Intake Accepter
	// MaxBodyBytes is the largest body accepted; larger ones answer 413.
	MaxBodyBytes int64
	// MemoryBudget bounds the bytes held at once by the deliveries being read, decoded and
	// stored (default DefaultMemoryBudget): each reserves its body and the memory of decoding
	// it (intake.MemoryFor) before its body is read, and waits while there is no room.
	MemoryBudget int64
	// MaxBatchEvents is the largest number of events in a CloudEvents batch (default
	// DefaultMaxBatchEvents); a larger batch is answered 413. Pacifica never sends batches.
	MaxBatchEvents int
	// BatchRouteSteps bounds the routing work of all the events of one batch together
	// (default DefaultBatchRouteSteps): the events past it are recorded unrouted with the
	// reason.
	BatchRouteSteps int64
	// Auth is the optional sender authentication.
	Auth Auth
	// JobURL gives the status URL of a job in answers (default "/jobs/<id>").
	JobURL func(uuid.UUID) string
	// AcceptTimeout bounds the work on one request (default 30s). It is not tied to the
	// client's connection: an event whose sender went away is still made durable.
	AcceptTimeout time.Duration
	Metrics       *Metrics
	Logger        *slog.Logger
}

// batchAccepter is an Accepter whose events of one batch can share a routing budget;
// *intake.Intake is one.
type batchAccepter interface {
	AcceptWithin(ctx context.Context, ev *event.Event, budget *intake.RouteBudget) (intake.Receipt, error)
}

// Receiver is the http.Handler of POST /receive and POST /.
type Receiver struct {
	cfg    Config
	memory *memoryBudget
}

// New returns a Receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.Intake == nil {
		return nil, errors.New("receiver: no intake")
	}
	if err := cfg.Auth.Validate(); err != nil {
		return nil, fmt.Errorf("receiver: sender authentication: %w", err)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = DefaultMemoryBudget
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if cfg.BatchRouteSteps <= 0 {
		cfg.BatchRouteSteps = DefaultBatchRouteSteps
	}
	if cfg.JobURL == nil {
		cfg.JobURL = func(id uuid.UUID) string { return "/jobs/" + id.String() }
	}
	if cfg.AcceptTimeout <= 0 {
		cfg.AcceptTimeout = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Receiver{cfg: cfg, memory: newMemoryBudget(cfg.MemoryBudget)}, nil
}

// Mux is what Register adds the receiver's routes to; *http.ServeMux is one.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the receiver's routes to mux: POST /receive (the Python dispatcher's path,
// which existing subscriptions point at) and POST /, and OPTIONS on both, the CloudEvents
// webhook handshake (see Handshake).
func (rc *Receiver) Register(mux Mux) {
	mux.Handle("POST /receive", rc)
	mux.Handle("POST /{$}", rc)
	hs := Handshake(mux)
	mux.Handle("OPTIONS /receive", hs)
	mux.Handle("OPTIONS /{$}", hs)
}

// ServeHTTP receives one delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.cfg.Auth.Enabled() && !rc.cfg.Auth.Check(r) {
		rc.cfg.Metrics.observe("", outcomeUnauthorized)
		w.Header().Set("WWW-Authenticate", rc.cfg.Auth.Challenge())
		writeError(w, http.StatusUnauthorized, "the request does not carry the credentials configured for senders")
		return
	}
	if r.ContentLength > rc.cfg.MaxBodyBytes {
		// Refused from its announced length, unread: the connection is closed rather than
		// drained.
		w.Header().Set("Connection", "close")
		rc.tooLarge(w)
		return
	}
	size := r.ContentLength
	if size < 0 {
		size = rc.cfg.MaxBodyBytes // chunked: as much as may come
	}
	release, err := rc.memory.acquire(r.Context(), intake.MemoryFor(size))
	if err != nil {
		return // the sender went away while waiting for room: there is no one to answer
	}
	defer release()
	body, err := readBody(w, r, rc.cfg.MaxBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rc.tooLarge(w)
			return
		}
		rc.cfg.Metrics.observe("", outcomeMalformed)
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	events, err := event.Parse(r.Header, body)
	if err != nil {
		status, outcome := http.StatusBadRequest, outcomeMalformed
		if errors.Is(err, event.ErrUnsupportedContentType) {
			status, outcome = http.StatusUnsupportedMediaType, outcomeUnsupported
		}
		rc.cfg.Metrics.observe("", outcome)
		rc.cfg.Logger.Info("delivery refused", "status", status, "error", err, "remote", r.RemoteAddr)
		writeError(w, status, err.Error())
		return
	}
	if len(events) > rc.cfg.MaxBatchEvents {
		rc.cfg.Metrics.observe("", outcomeTooLarge)
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the batch holds %d events, more than the limit of %d: "+
			"send it as smaller batches", len(events), rc.cfg.MaxBatchEvents))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), rc.cfg.AcceptTimeout)
	defer cancel()
	answers, stored, err := rc.acceptAll(ctx, events)
	if err != nil {
		// The answer names no internal error (the log has it): only what became of the events.
		w.Header().Set("Retry-After", "5")
		msg := "the event could not be stored: the job store and the broker are both unavailable"
		if len(events) > 1 && !errors.Is(err, intake.ErrUnavailable) {
			msg = fmt.Sprintf("the events could not all be stored within %s (%d of %d stored); sending them again is safe, "+
				"an event maps to the same jobs", rc.cfg.AcceptTimeout, stored, len(events))
		}
		writeError(w, http.StatusServiceUnavailable, msg)
		return
	}
	if len(events) == 1 && events[0].Mode != event.ModeBatch {
		writeJSON(w, http.StatusAccepted, answers[0])
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"events": answers})
}

func (rc *Receiver) tooLarge(w http.ResponseWriter) {
	rc.cfg.Metrics.observe("", outcomeTooLarge)
	writeError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("the body is larger than the limit of %d bytes", rc.cfg.MaxBodyBytes))
}

// readBody reads the body, at most limit bytes: into one buffer of the announced length,
// or, for a chunked body, growing as it comes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// batchConcurrency is how many events of one batch are made durable at once: together
// they share the intake's group commits instead of waiting for one another.
const batchConcurrency = 32

// acceptAll makes the events durable, those of a batch concurrently, and returns their
// answers in order. On failure it returns how many were stored and the first error.
func (rc *Receiver) acceptAll(ctx context.Context, events []*event.Event) ([]eventAnswer, int, error) {
	answers := make([]eventAnswer, len(events))
	errs := make([]error, len(events))
	var budget *intake.RouteBudget
	if len(events) > 1 || events[0].Mode == event.ModeBatch {
		budget = intake.NewRouteBudget(rc.cfg.BatchRouteSteps)
	}
	accept := func(i int) {
		ev := events[i]
		var (
			rcpt intake.Receipt
			err  error
		)
		if b, ok := rc.cfg.Intake.(batchAccepter); ok && budget != nil {
			rcpt, err = b.AcceptWithin(ctx, ev, budget)
		} else {
			rcpt, err = rc.cfg.Intake.Accept(ctx, ev)
		}
		if err != nil {
			rc.cfg.Metrics.observe(ev.Type(), outcomeRefused)
			rc.cfg.Logger.Error("event refused", "event_id", ev.ID(), "source", ev.Source(), "error", err)
			errs[i] = err
			return
		}
		rc.cfg.Metrics.observe(ev.Type(), outcomeOf(rcpt))
		rc.cfg.Logger.Info("event accepted", "event_id", ev.ID(), "source", ev.Source(),
			"type", ev.Type(), "held_in", rcpt.Durable, "jobs", len(rcpt.Jobs))
		answers[i] = rc.answer(rcpt)
	}
	if len(events) == 1 {
		accept(0)
	} else {
		sem := make(chan struct{}, batchConcurrency)
		var wg sync.WaitGroup
		for i := range events {
			sem <- struct{}{}
			if err := ctx.Err(); err != nil {
				// Out of time: the rest is not tried (the sender sends the batch again).
				<-sem
				rc.cfg.Metrics.observe(events[i].Type(), outcomeRefused)
				errs[i] = err
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				accept(i)
			}()
		}
		wg.Wait()
	}
	if ctx.Err() != nil && len(events) > 1 {
		rc.cfg.Logger.Error("batch cut short by the time limit", "events", len(events), "limit", rc.cfg.AcceptTimeout)
	}
	stored := 0
	var first error
	for _, err := range errs {
		switch {
		case err == nil:
			stored++
		case first == nil || (errors.Is(err, intake.ErrUnavailable) && !errors.Is(first, intake.ErrUnavailable)):
			first = err
		}
	}
	return answers, stored, first
}

// eventAnswer is the JSON answer for one accepted event. It says what the receiver did with
// the event and nothing else: no job's error or other internal text reaches the sender, and
// two deliveries of an event already recorded get the same answer.
type eventAnswer struct {
	EventID string      `json:"event_id"`
	Source  string      `json:"source"`
	HeldIn  string      `json:"held_in"`
	Jobs    []jobAnswer `json:"jobs"`
}

// jobAnswer is one job of an accepted event. State is the state this delivery recorded the
// job in (queued, unrouted, or failed for an event whose data is unsafe); a duplicate
// recorded nothing and has no state: the job's current state, which changes as it runs,
// is at StatusURL.
type jobAnswer struct {
	ID        uuid.UUID `json:"id"`
	Route     string    `json:"route,omitempty"`
	State     string    `json:"state,omitempty"`
	Duplicate bool      `json:"duplicate"`
	StatusURL string    `json:"status_url"`
}

func (rc *Receiver) answer(r intake.Receipt) eventAnswer {
	a := eventAnswer{EventID: r.EventID, Source: r.Source, HeldIn: string(r.Durable), Jobs: []jobAnswer{}}
	for _, j := range r.Jobs {
		ja := jobAnswer{ID: j.ID, Route: j.Route, Duplicate: j.Duplicate, StatusURL: rc.cfg.JobURL(j.ID)}
		if !j.Duplicate {
			ja.State = string(j.State)
		}
		a.Jobs = append(a.Jobs, ja)
	}
	return a
}

func outcomeOf(r intake.Receipt) string {
	dup := len(r.Jobs) > 0
	for _, j := range r.Jobs {
		switch {
		case j.Unrouted():
			return outcomeUnrouted
		case j.Invalid():
			return outcomeInvalid
		}
		dup = dup && j.Duplicate
	}
	if dup {
		return outcomeDuplicate
	}
	return outcomeAccepted
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{
		"status": fmt.Sprintf("%d %s", status, http.StatusText(status)),
		"error":  msg,
	})
}
