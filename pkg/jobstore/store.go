package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors of the store.
var (
	ErrNotFound     = errors.New("jobstore: not found")
	ErrNotClaimable = errors.New("jobstore: job is not claimable")
	ErrLeaseLost    = errors.New("jobstore: lease lost")
	ErrConflict     = errors.New("jobstore: the job's state does not allow this")
	ErrBadCursor    = errors.New("jobstore: bad cursor")
)

// State is a job's state.
type State string

// The states of a job.
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	Unrouted  State = "unrouted"
)

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	switch s {
	case Queued, Running, Succeeded, Failed, Cancelled, Unrouted:
		return true
	}
	return false
}

// Final reports whether a job in state s is over.
func (s State) Final() bool { return s == Succeeded || s == Failed || s == Cancelled || s == Unrouted }

// Config configures a Store. URL is required.
type Config struct {
	URL string
	// MaxConns bounds the pool (default 16).
	MaxConns int32
	// LogTailBytes is how much of a job's log is kept, in characters (default 65536).
	LogTailBytes int
	// RetryBudget is the number of attempts an operator's retry gives a job (default 5).
	RetryBudget int
	Logger      *slog.Logger
}

// Store is the job store. It is safe for concurrent use.
type Store struct {
	pool        *pgxpool.Pool
	log         *slog.Logger
	logTail     int
	retryBudget int
	traffic     *counter
}

// Open creates the connection pool. It does not connect yet, nor migrate: PostgreSQL may
// be down when the service starts.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("jobstore: DATABASE_URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	} else {
		pc.MaxConns = 16
	}
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	traffic := &counter{}
	pc.ConnConfig.Tracer = traffic
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("jobstore: %w", err)
	}
	s := &Store{pool: pool, log: cfg.Logger, logTail: cfg.LogTailBytes, traffic: traffic}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.retryBudget = cfg.RetryBudget
	if s.retryBudget <= 0 {
		s.retryBudget = 5
	}
	if s.logTail <= 0 {
		s.logTail = 64 << 10
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// namespace is the UUIDv5 namespace of job and event ids.
var namespace = uuid.MustParse("8d5c1f0e-4a0b-4b8e-9f2d-6b1f4a3c2e10")

// EventKey identifies an event: the same source and id are the same event.
func EventKey(source, eventID string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("event\x00"+source+"\x00"+eventID))
}

// JobID identifies the job of an event for a route ("" for an unrouted event): the same
// event delivered again maps to the same job.
func JobID(source, eventID, route string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("job\x00"+source+"\x00"+eventID+"\x00"+route))
}

// NewEvent is an event to record.
type NewEvent struct {
	Source, ID, Type string
	Time             *time.Time
	TimeText         string
	Body             []byte
	ContentType      string
	ReceivedAt       time.Time
}

// NewJob is a job to record with its event.
type NewJob struct {
	ID    uuid.UUID
	Route string
	// State is Queued, Unrouted, or Failed (an invalid event, with Error).
	State       State
	Error       string
	MaxAttempts int
}

// Job is a job as stored.
type Job struct {
	ID                              uuid.UUID
	Route                           string
	State                           State
	EventSource, EventID, EventType string
	EventTime                       *time.Time
	EventTimeText                   string
	Attempts, MaxAttempts           int
	ReceivedAt, UpdatedAt           time.Time
	StartedAt, FinishedAt           *time.Time
	NextAttemptAt, LeaseExpiresAt   *time.Time
	LeaseOwner                      string
	Published, CancelRequested      bool
	Error                           string
	TransactionID                   *int64
	Logs                            string
	Details                         json.RawMessage
	// Checkpoints are the values the job's handler saved with SaveCheckpoint, by name, in
	// this attempt or an earlier one (never nil when read from the store).
	Checkpoints map[string]json.RawMessage
	// Event is the job's event as stored, read by Claim with the job (nil otherwise).
	Event *EventBody
}

// Recorded is a job returned by Record: Created is false when it existed already.
type Recorded struct {
	Job     Job
	Created bool
}

// jobCols are the columns of Job, from jobs j joined with events e.
const jobCols = `j.id, j.route, j.state, e.source, e.event_id, e.type, e.time, e.time_text,
	j.attempts, j.max_attempts, j.received_at, j.updated_at, j.started_at, j.finished_at,
	j.next_attempt_at, j.lease_expires_at, j.lease_owner, j.published, j.cancel_requested,
	j.error, j.transaction_id, j.logs, j.details, j.checkpoints`

const jobFrom = ` FROM jobs j JOIN events e ON e.key = j.event_key `

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	var state string
	err := row.Scan(&j.ID, &j.Route, &state, &j.EventSource, &j.EventID, &j.EventType, &j.EventTime,
		&j.EventTimeText, &j.Attempts, &j.MaxAttempts, &j.ReceivedAt, &j.UpdatedAt, &j.StartedAt,
		&j.FinishedAt, &j.NextAttemptAt, &j.LeaseExpiresAt, &j.LeaseOwner, &j.Published,
		&j.CancelRequested, &j.Error, &j.TransactionID, &j.Logs, &j.Details, &j.Checkpoints)
	j.State = State(state)
	return j, err
}

// Record stores an event and its jobs, unless they exist already (the same source and
// event id), and returns every job of the event with Created set for the new ones. It
// takes one statement, and a second only when some job existed.
func (s *Store) Record(ctx context.Context, ev NewEvent, jobs []NewJob) ([]Recorded, error) {
	out, err := s.RecordMany(ctx, []Item{{Event: ev, Jobs: jobs}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Item is one event with its jobs, for RecordMany.
type Item struct {
	Event NewEvent
	Jobs  []NewJob
}

// recordSQL inserts the events and jobs of a group in one statement, each array one column
// (an event's jobs point to it by event_key), and returns the jobs it created. The foreign
// key is checked at the statement's end, when the events are in. A new queued job is
// recorded published, with a row in job_unconfirmed until its message is confirmed
// (MarkPublished): its publish follows at once, and the relay takes over when it fails.
const recordSQL = `
WITH ev AS (
	INSERT INTO events (key, source, event_id, type, time, time_text, body, content_type, received_at)
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
		$7::bytea[], $8::text[], $9::timestamptz[])
	ON CONFLICT (key) DO NOTHING
), j AS (
	INSERT INTO jobs (id, event_key, route, state, error, max_attempts, received_at, published)
	SELECT u.*, u.state = 'queued'
	FROM unnest($10::uuid[], $11::uuid[], $12::text[], $13::text[], $14::text[], $15::int[], $16::timestamptz[])
		AS u(id, event_key, route, state, error, max_attempts, received_at)
	ON CONFLICT (id) DO NOTHING
	RETURNING *
), uc AS (
	INSERT INTO job_unconfirmed (job_id, version) SELECT id, updated_at FROM j WHERE state = 'queued'
)
SELECT ` + ownCols + ` FROM j`

// ownCols are the columns of Job that are the jobs table's own (the event's are not).
const ownCols = `j.id, j.route, j.state, j.attempts, j.max_attempts, j.received_at, j.updated_at,
	j.started_at, j.finished_at, j.next_attempt_at, j.lease_expires_at, j.lease_owner, j.published,
	j.cancel_requested, j.error, j.transaction_id, j.logs, j.details, j.checkpoints`

func scanOwn(row pgx.Row) (Job, error) {
	var j Job
	var state string
	err := row.Scan(&j.ID, &j.Route, &state, &j.Attempts, &j.MaxAttempts, &j.ReceivedAt, &j.UpdatedAt,
		&j.StartedAt, &j.FinishedAt, &j.NextAttemptAt, &j.LeaseExpiresAt, &j.LeaseOwner, &j.Published,
		&j.CancelRequested, &j.Error, &j.TransactionID, &j.Logs, &j.Details, &j.Checkpoints)
	j.State = State(state)
	return j, err
}

// groupColumns are the arrays of recordSQL: one element per event, then one per job.
type groupColumns struct {
	keys                            []uuid.UUID
	sources, ids, types, texts, cts []string
	times                           []*time.Time
	received                        []time.Time
	bodies                          [][]byte
	jobIDs, jobEvents               []uuid.UUID
	routes, states, errs            []string
	maxes                           []int32
	jobReceived                     []time.Time
}

func columnsOf(items []Item) groupColumns {
	var c groupColumns
	for _, it := range items {
		ev := it.Event
		at := ev.ReceivedAt
		if at.IsZero() {
			at = time.Now()
		}
		key := EventKey(ev.Source, ev.ID)
		c.keys, c.sources, c.ids, c.types = append(c.keys, key), append(c.sources, ev.Source), append(c.ids, ev.ID), append(c.types, ev.Type)
		c.times, c.texts, c.bodies = append(c.times, ev.Time), append(c.texts, ev.TimeText), append(c.bodies, ev.Body)
		c.cts, c.received = append(c.cts, ev.ContentType), append(c.received, at)
		for _, j := range it.Jobs {
			m := int32(j.MaxAttempts)
			if m <= 0 {
				m = 5
			}
			c.jobIDs, c.jobEvents, c.routes = append(c.jobIDs, j.ID), append(c.jobEvents, key), append(c.routes, j.Route)
			c.states, c.errs, c.maxes = append(c.states, string(j.State)), append(c.errs, j.Error), append(c.maxes, m)
			c.jobReceived = append(c.jobReceived, at)
		}
	}
	return c
}

// RecordMany records several events in one statement (group commit: they share one
// transaction, one commit and one firing of the counting trigger), with Record's semantics
// for each. A job that existed already (a duplicate delivery, the same event twice in the
// group) is read back in a second statement. It fails as a whole.
func (s *Store) RecordMany(ctx context.Context, items []Item) ([][]Recorded, error) {
	c := columnsOf(items)
	rows, err := s.pool.Query(ctx, recordSQL, c.keys, c.sources, c.ids, c.types, c.times, c.texts, c.bodies, c.cts,
		c.received, c.jobIDs, c.jobEvents, c.routes, c.states, c.errs, c.maxes, c.jobReceived)
	if err != nil {
		return nil, fmt.Errorf("jobstore: record %d events: %w", len(items), err)
	}
	created, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanOwn(r) })
	if err != nil {
		return nil, fmt.Errorf("jobstore: record %d events: %w", len(items), err)
	}
	fresh := make(map[uuid.UUID]Job, len(created))
	for _, j := range created {
		fresh[j.ID] = j
	}
	out := make([][]Recorded, len(items))
	missing := map[uuid.UUID]bool{}
	for i, it := range items {
		out[i] = make([]Recorded, 0, len(it.Jobs))
		for _, nj := range it.Jobs {
			j, ok := fresh[nj.ID]
			if !ok {
				missing[nj.ID] = true
				continue
			}
			delete(fresh, nj.ID) // the same job twice in the group: the first one created it
			ev := it.Event
			j.EventSource, j.EventID, j.EventType, j.EventTime, j.EventTimeText = ev.Source, ev.ID, ev.Type, ev.Time, ev.TimeText
			out[i] = append(out[i], Recorded{Job: j, Created: true})
		}
	}
	if len(missing) > 0 {
		byID, err := s.jobsByID(ctx, missing)
		if err != nil {
			return nil, fmt.Errorf("jobstore: record %d events: %w", len(items), err)
		}
		for i, it := range items {
			for _, nj := range it.Jobs {
				if slices.ContainsFunc(out[i], func(r Recorded) bool { return r.Created && r.Job.ID == nj.ID }) {
					continue
				}
				j, ok := byID[nj.ID]
				if !ok {
					return nil, fmt.Errorf("jobstore: record event %s: job %s neither created nor found", it.Event.ID, nj.ID)
				}
				out[i] = append(out[i], Recorded{Job: j})
			}
		}
	}
	for i := range out {
		slices.SortFunc(out[i], func(a, b Recorded) int { return strings.Compare(a.Job.Route, b.Job.Route) })
	}
	return out, nil
}

// jobsByID reads the jobs of the given ids.
func (s *Store) jobsByID(ctx context.Context, ids map[uuid.UUID]bool) (map[uuid.UUID]Job, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+jobCols+jobFrom+`WHERE j.id = ANY($1)`, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanJob(r) })
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Job, len(found))
	for _, j := range found {
		out[j.ID] = j
	}
	return out, nil
}

// Get returns a job.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+jobFrom+`WHERE j.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, fmt.Errorf("%w: job %s", ErrNotFound, id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: get job %s: %w", id, err)
	}
	return j, nil
}

// EventBody returns the stored event of a job and the content type to parse it with.
func (s *Store) EventBody(ctx context.Context, id uuid.UUID) ([]byte, string, error) {
	var body []byte
	var ct string
	err := s.pool.QueryRow(ctx, `SELECT e.body, e.content_type`+jobFrom+`WHERE j.id = $1`, id).Scan(&body, &ct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", fmt.Errorf("%w: job %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("jobstore: event of job %s: %w", id, err)
	}
	return body, ct, nil
}

// EventBodyWithin is EventBody for bodies of at most maxBytes: a larger body is not read,
// and body is nil. size is the body's size in either case.
func (s *Store) EventBodyWithin(ctx context.Context, id uuid.UUID, maxBytes int) (body []byte, contentType string, size int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT CASE WHEN octet_length(e.body) <= $2 THEN e.body END, e.content_type, octet_length(e.body)`+
		jobFrom+`WHERE j.id = $1`, id, maxBytes).Scan(&body, &contentType, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", 0, fmt.Errorf("%w: job %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, "", 0, fmt.Errorf("jobstore: event of job %s: %w", id, err)
	}
	return body, contentType, size, nil
}

// EventBody is a job's event as stored, or only its size when it is larger than the bound
// it was read with (Body nil).
type EventBody struct {
	Body        []byte
	ContentType string
	Size        int
}

// EventBodiesWithin is EventBodyWithin for many jobs in one query: a listing that shows each
// job's event asks once, not once per job. Jobs not found are absent from the map.
func (s *Store) EventBodiesWithin(ctx context.Context, ids []uuid.UUID, maxBytes int) (map[uuid.UUID]EventBody, error) {
	rows, err := s.pool.Query(ctx, `SELECT j.id, CASE WHEN octet_length(e.body) <= $2 THEN e.body END, e.content_type, octet_length(e.body)`+
		jobFrom+`WHERE j.id = ANY($1)`, ids, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("jobstore: events of %d jobs: %w", len(ids), err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]EventBody, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var b EventBody
		if err := rows.Scan(&id, &b.Body, &b.ContentType, &b.Size); err != nil {
			return nil, fmt.Errorf("jobstore: events of %d jobs: %w", len(ids), err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobstore: events of %d jobs: %w", len(ids), err)
	}
	return out, nil
}
