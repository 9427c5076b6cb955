package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Outcome is how a running job ended.
type Outcome struct {
	// State is Succeeded, Failed or Cancelled.
	State         State
	Error         string
	TransactionID *int64
	Details       json.RawMessage
	// Checkpoints are written with the end, in the same statement, over the job's saved
	// checkpoints of the same names: those the attempt could not save when it made them.
	Checkpoints map[string]json.RawMessage
	// Log is appended to the job's log with the end, in the same statement (as AppendLog).
	Log string
}

// Attempt is one attempt of a job.
type Attempt struct {
	N          int
	Owner      string
	StartedAt  time.Time
	FinishedAt *time.Time
	Outcome    string
	Error      string
}

// Count is the number of jobs of a route in a state.
type Count struct {
	Route string
	State State
	N     int64
}

// Publication names one queued incarnation of a job: its id and its updated_at when it
// was read. Every change of state (claim, reschedule, reclaim, cancel, retry) moves
// updated_at, so a publication read before a change no longer matches after it.
type Publication struct {
	ID      uuid.UUID
	Version time.Time
}

// JobMessage is the body of a message on the jobs queue, which the intake publishes for a
// Publication and workers consume. Workers read everything else from the job store: a
// message only says "this job may be ready to run".
type JobMessage struct {
	JobID uuid.UUID `json:"job_id"`
	Route string    `json:"route"`
}

// PublicationOf is the publication of a job as read.
func PublicationOf(j Job) Publication { return Publication{ID: j.ID, Version: j.UpdatedAt} }

// Pending returns the outbox: queued jobs not yet on the broker whose time has come, each
// with the version it is at (pass them back to MarkPublished once published). That is the
// jobs not published, and the new jobs whose message was not confirmed within unconfirmedFor
// (their publish at intake failed, or the process died before it): those younger are being
// published now. Rows of job_unconfirmed whose job has moved on are deleted on the way.
func (s *Store) Pending(ctx context.Context, limit int, unconfirmedFor time.Duration) ([]Publication, error) {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM job_unconfirmed u
		WHERE u.version < now() - make_interval(secs => $1)
			AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = u.job_id AND j.state = 'queued' AND j.updated_at = u.version)`,
		unconfirmedFor.Seconds())
	b.Queue(`(SELECT id, updated_at, next_attempt_at FROM jobs
		WHERE state = 'queued' AND NOT published AND next_attempt_at <= now()
		ORDER BY next_attempt_at LIMIT $1)
		UNION ALL
		(SELECT j.id, j.updated_at, j.next_attempt_at FROM job_unconfirmed u JOIN jobs j ON j.id = u.job_id
		WHERE u.version < now() - make_interval(secs => $2) AND j.state = 'queued' AND j.updated_at = u.version
			AND j.next_attempt_at <= now()
		ORDER BY u.version LIMIT $1)
		ORDER BY 3 LIMIT $1`, limit, unconfirmedFor.Seconds())
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("jobstore: pending jobs: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("jobstore: pending jobs: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Publication, error) {
		var p Publication
		var due time.Time
		err := r.Scan(&p.ID, &p.Version, &due)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("jobstore: pending jobs: %w", err)
	}
	return ps, br.Close()
}

// Unstrand puts back in the outbox the queued jobs marked published whose time came more
// than after ago and that have not changed since: their message left the broker without a
// worker claiming the job (a purged queue, a dead-lettered message, a broker that lost its
// disk). Call it only when the jobs queue holds no ready message, so that each of them is
// surely stranded; a job whose message was still on its way runs once all the same (a
// claim is a guarded update). It returns how many jobs it put back.
func (s *Store) Unstrand(ctx context.Context, after time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET published = false, updated_at = now()
		WHERE state = 'queued' AND published
			AND next_attempt_at <= now() - make_interval(secs => $1)
			AND updated_at <= now() - make_interval(secs => $1)`, after.Seconds())
	if err != nil {
		return 0, fmt.Errorf("jobstore: unstrand queued jobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// MarkPublished records that the jobs' messages are on the broker. Only jobs still at the
// version published are marked: a job that a worker claimed from that very message and
// handed back to the queue meanwhile (a transient failure, a lost lease) needs a new
// message, and stays in the outbox. A new job's confirm only deletes its row of
// job_unconfirmed (it was recorded published).
func (s *Store) MarkPublished(ctx context.Context, ps []Publication) error {
	ids, versions := publicationColumns(ps)
	_, err := s.pool.Exec(ctx, `WITH c AS (
		DELETE FROM job_unconfirmed WHERE job_id = ANY($1::uuid[])
	)
	UPDATE jobs j SET published = true
		FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, version)
		WHERE j.id = p.id AND j.updated_at = p.version
			AND j.state = 'queued' AND NOT j.published AND j.next_attempt_at <= now()`, ids, versions)
	if err != nil {
		return fmt.Errorf("jobstore: mark %d jobs published: %w", len(ps), err)
	}
	return nil
}

// publicationColumns are the ids and versions of ps, as two arrays for unnest.
func publicationColumns(ps []Publication) ([]uuid.UUID, []time.Time) {
	ids := make([]uuid.UUID, len(ps))
	versions := make([]time.Time, len(ps))
	for i, p := range ps {
		ids[i], versions[i] = p.ID, p.Version
	}
	return ids, versions
}

// Unpublished hands new jobs whose publish failed to the relay at once: their unconfirmed
// mark goes, and they are no longer published (were they still at the version published).
func (s *Store) Unpublished(ctx context.Context, ps []Publication) error {
	ids, versions := publicationColumns(ps)
	_, err := s.pool.Exec(ctx, `WITH c AS (
		DELETE FROM job_unconfirmed WHERE job_id = ANY($1::uuid[])
	)
	UPDATE jobs j SET published = false
		FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, version)
		WHERE j.id = p.id AND j.updated_at = p.version AND j.state = 'queued' AND j.published`, ids, versions)
	if err != nil {
		return fmt.Errorf("jobstore: hand %d unpublished jobs to the relay: %w", len(ps), err)
	}
	return nil
}

// claimSQL finds the job by its id alone, locked (t), and checks its state there: with the
// state in the UPDATE's own condition, PostgreSQL may reach the row through the index on
// (state, received_at, id), and when its statistics say that few jobs are queued (a store of
// finished jobs, before autoanalyze notices a backlog) it walked every queued job's entry for
// each claim. FOR UPDATE returns the row as it is once locked, so the checks see the latest
// version and two claims of one job still make one winner.
const claimSQL = `
WITH t AS MATERIALIZED (
	SELECT id, state, next_attempt_at, cancel_requested FROM jobs WHERE id = $1 FOR UPDATE
), c AS (
	UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = now(), updated_at = now(),
		lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3), published = false
	FROM t WHERE jobs.id = t.id AND t.state = 'queued' AND t.next_attempt_at <= now() AND NOT t.cancel_requested
	RETURNING jobs.*
), a AS (
	INSERT INTO job_attempts (job_id, n, owner) SELECT id, attempts, $2 FROM c
)
SELECT ` + jobCols + `, e.body, e.content_type FROM c j JOIN events e ON e.key = j.event_key`

// Claim takes a queued job whose time has come for owner, under a lease, and counts the
// attempt; the job returned carries the checkpoints of earlier attempts and its event as
// stored (Job.Event), all in one statement: when the claim commits, its caller learns it.
// Otherwise it returns ErrNotClaimable (or ErrNotFound).
func (s *Store) Claim(ctx context.Context, id uuid.UUID, owner string, lease time.Duration) (Job, error) {
	var j Job
	var state string
	ev := &EventBody{}
	err := s.pool.QueryRow(ctx, claimSQL, id, owner, lease.Seconds()).Scan(&j.ID, &j.Route, &state, &j.EventSource,
		&j.EventID, &j.EventType, &j.EventTime, &j.EventTimeText, &j.Attempts, &j.MaxAttempts, &j.ReceivedAt,
		&j.UpdatedAt, &j.StartedAt, &j.FinishedAt, &j.NextAttemptAt, &j.LeaseExpiresAt, &j.LeaseOwner, &j.Published,
		&j.CancelRequested, &j.Error, &j.TransactionID, &j.Logs, &j.Details, &j.Checkpoints, &ev.Body, &ev.ContentType)
	if errors.Is(err, pgx.ErrNoRows) {
		j, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Job{}, gerr
		}
		why := string(j.State)
		if j.State == Queued {
			why = "queued until " + j.NextAttemptAt.UTC().Format(time.RFC3339)
			if j.CancelRequested {
				why = "cancel requested"
			}
		}
		return Job{}, fmt.Errorf("%w: job %s is %s", ErrNotClaimable, id, why)
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: claim job %s: %w", id, err)
	}
	j.State, ev.Size, j.Event = State(state), len(ev.Body), ev
	return j, nil
}

// Heartbeat renews owner's lease on a running job and reports whether an operator asked
// to cancel it. ErrLeaseLost means the job is no longer owner's.
func (s *Store) Heartbeat(ctx context.Context, id uuid.UUID, owner string, lease time.Duration) (bool, error) {
	var cancel bool
	err := s.pool.QueryRow(ctx, `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3)
		WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING cancel_requested`,
		id, owner, lease.Seconds()).Scan(&cancel)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("%w: job %s", ErrLeaseLost, id)
	}
	if err != nil {
		return false, fmt.Errorf("jobstore: heartbeat job %s: %w", id, err)
	}
	return cancel, nil
}

const finishSQL = `
WITH f AS (
	UPDATE jobs SET state = $3, finished_at = now(), updated_at = now(), lease_owner = '',
		lease_expires_at = NULL, error = $4, transaction_id = $5, details = $6, checkpoints = checkpoints || $7::jsonb,
		logs = CASE WHEN $8 = '' THEN logs ELSE right(logs || $8, $9) END
	WHERE id = $1 AND state = 'running' AND lease_owner = $2
	RETURNING *
), a AS (
	UPDATE job_attempts SET finished_at = now(), outcome = $3, error = $4
	FROM f WHERE job_attempts.job_id = f.id AND job_attempts.n = f.attempts
)
SELECT ` + jobCols + ` FROM f j JOIN events e ON e.key = j.event_key`

// Finish ends owner's running job with the outcome, and writes the outcome's checkpoints.
func (s *Store) Finish(ctx context.Context, id uuid.UUID, owner string, o Outcome) (Job, error) {
	if o.State != Succeeded && o.State != Failed && o.State != Cancelled {
		return Job{}, fmt.Errorf("jobstore: finish job %s: %q is not a final state", id, o.State)
	}
	var details any
	if len(o.Details) > 0 {
		details = o.Details
	}
	cps, err := checkpointsJSON(o.Checkpoints)
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: finish job %s: %w", id, err)
	}
	return s.transition(ctx, id, "finish", finishSQL, id, owner, string(o.State), o.Error, o.TransactionID, details, cps,
		o.Log, s.logTail)
}

const rescheduleSQL = `
WITH f AS (
	UPDATE jobs SET state = 'queued', updated_at = now(), lease_owner = '', lease_expires_at = NULL,
		published = false, next_attempt_at = $4, error = $3, checkpoints = checkpoints || $5::jsonb
	WHERE id = $1 AND state = 'running' AND lease_owner = $2
	RETURNING *
), a AS (
	UPDATE job_attempts SET finished_at = now(), outcome = 'retry', error = $3
	FROM f WHERE job_attempts.job_id = f.id AND job_attempts.n = f.attempts
)
SELECT ` + jobCols + ` FROM f j JOIN events e ON e.key = j.event_key`

// Reschedule hands owner's running job back to the queue after a transient failure; it
// runs again at the given time. The checkpoints (nil for none) are written in the same
// statement, over the job's saved checkpoints of the same names, so that the next attempt
// finds those the attempt could not save when it made them.
func (s *Store) Reschedule(ctx context.Context, id uuid.UUID, owner, errText string, at time.Time,
	checkpoints map[string]json.RawMessage) (Job, error) {
	cps, err := checkpointsJSON(checkpoints)
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: reschedule job %s: %w", id, err)
	}
	return s.transition(ctx, id, "reschedule", rescheduleSQL, id, owner, errText, at, cps)
}

// checkpointsJSON is the JSON object of checkpoints, "{}" for none; every value must be
// JSON.
func checkpointsJSON(cps map[string]json.RawMessage) (string, error) {
	for name, v := range cps {
		if !json.Valid(v) {
			return "", fmt.Errorf("checkpoint %q is not JSON", name)
		}
	}
	if len(cps) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(cps)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// transition runs a guarded change of a job that returns the changed job in the same
// statement: when the change commits, its caller learns it, even if the connection dies
// right after (a second query to read the job back could fail, and the caller, trying
// again, would take its own committed change for a lost lease).
func (s *Store) transition(ctx context.Context, id uuid.UUID, op, sql string, args ...any) (Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, fmt.Errorf("%w: job %s", ErrLeaseLost, id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: %s job %s: %w", op, id, err)
	}
	return j, nil
}

const reclaimSQL = `
WITH exp AS (
	SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now()
	ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
), upd AS (
	UPDATE jobs j SET
		state = CASE WHEN j.cancel_requested THEN 'cancelled'
		             WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
		error = CASE WHEN j.cancel_requested THEN 'cancelled by an operator'
		             WHEN j.attempts >= j.max_attempts THEN 'worker lost: lease expired after ' || j.attempts || ' attempts'
		             ELSE 'worker lost: lease expired' END,
		finished_at = CASE WHEN j.cancel_requested OR j.attempts >= j.max_attempts THEN now() END,
		published = false, next_attempt_at = now(), lease_owner = '', lease_expires_at = NULL, updated_at = now()
	FROM exp WHERE j.id = exp.id
	RETURNING j.id, j.state, j.attempts
), a AS (
	UPDATE job_attempts SET finished_at = now(), outcome = 'lease_expired', error = 'worker lost: lease expired'
	FROM upd WHERE job_attempts.job_id = upd.id AND job_attempts.n = upd.attempts
)
SELECT state, count(*) FROM upd GROUP BY state`

// ReclaimExpired hands back running jobs whose lease expired (their worker is gone): to
// the queue, or failed when their attempts are spent, or cancelled when an operator asked.
// Several processes may run it at once.
func (s *Store) ReclaimExpired(ctx context.Context, limit int) (requeued, failed int, err error) {
	rows, err := s.pool.Query(ctx, reclaimSQL, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("jobstore: reclaim expired leases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return 0, 0, fmt.Errorf("jobstore: reclaim expired leases: %w", err)
		}
		if state == string(Queued) {
			requeued += n
		} else {
			failed += n
		}
	}
	return requeued, failed, rows.Err()
}

// Cancel cancels a queued job, or asks the worker of a running job to stop it. A job that
// is over gives ErrConflict.
func (s *Store) Cancel(ctx context.Context, id uuid.UUID) (Job, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET
			state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
			finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
			error = CASE WHEN state = 'queued' THEN 'cancelled by an operator' ELSE error END,
			cancel_requested = true, updated_at = now()
		WHERE id = $1 AND state IN ('queued', 'running')`, id)
	return s.afterOperator(ctx, id, "cancel", tag.RowsAffected(), err)
}

// Retry queues a failed or cancelled job again, with a fresh budget of attempts
// (Config.RetryBudget). The job's checkpoints are kept on purpose: what an earlier attempt
// recorded as done (an upload ingest accepted) is not done again, so an operator's retry
// never duplicates outputs already in Pacifica.
func (s *Store) Retry(ctx context.Context, id uuid.UUID) (Job, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET state = 'queued', published = false, next_attempt_at = now(),
			max_attempts = attempts + $2,
			cancel_requested = false, finished_at = NULL, error = '', updated_at = now()
		WHERE id = $1 AND state IN ('failed', 'cancelled')`, id, s.retryBudget)
	return s.afterOperator(ctx, id, "retry", tag.RowsAffected(), err)
}

func (s *Store) afterOperator(ctx context.Context, id uuid.UUID, op string, n int64, err error) (Job, error) {
	if err != nil {
		return Job{}, fmt.Errorf("jobstore: %s job %s: %w", op, id, err)
	}
	j, gerr := s.Get(ctx, id)
	if gerr != nil {
		return Job{}, gerr
	}
	if n == 0 {
		return j, fmt.Errorf("%w: cannot %s job %s in state %s", ErrConflict, op, id, j.State)
	}
	return j, nil
}

// AppendLog adds text to a job's log, keeping only its last LogTailBytes characters.
func (s *Store) AppendLog(ctx context.Context, id uuid.UUID, text string) error {
	_, err := s.pool.Exec(ctx, `UPDATE jobs SET logs = right(logs || $2, $3) WHERE id = $1`, id, text, s.logTail)
	if err != nil {
		return fmt.Errorf("jobstore: append to the log of job %s: %w", id, err)
	}
	return nil
}

// Attempts returns a job's attempts, first first.
func (s *Store) Attempts(ctx context.Context, id uuid.UUID) ([]Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT n, owner, started_at, finished_at, outcome, error
		FROM job_attempts WHERE job_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("jobstore: attempts of job %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.N, &a.Owner, &a.StartedAt, &a.FinishedAt, &a.Outcome, &a.Error)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("jobstore: attempts of job %s: %w", id, err)
	}
	return out, nil
}

// Counts returns the number of jobs by route and state. It does not count the jobs table:
// triggers keep job_counts and job_count_deltas (migration 0004), and Counts first folds the
// deltas into job_counts (when no other process is doing it), then sums both, so its cost
// depends on the number of routes and states and on the changes since the last call, not on
// the number of jobs.
func (s *Store) Counts(ctx context.Context) ([]Count, error) {
	if err := s.foldCounts(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT route, state, sum(n)::bigint FROM (
			SELECT route, state, n FROM job_counts
			UNION ALL
			SELECT route, state, n FROM job_count_deltas) c
		GROUP BY route, state HAVING sum(n) <> 0 ORDER BY route, state`)
	if err != nil {
		return nil, fmt.Errorf("jobstore: count jobs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Count, error) {
		var c Count
		var st string
		err := r.Scan(&c.Route, &st, &c.N)
		c.State = State(st)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("jobstore: count jobs: %w", err)
	}
	return out, nil
}

// countsLock lets one process at a time fold the count deltas.
const countsLock = 7307102

// foldCounts moves the count deltas into job_counts, in one transaction: the deltas deleted
// are exactly those added (DELETE … RETURNING), so a concurrent writer's new delta is either
// folded or left for the next time, never lost or counted twice.
func (s *Store) foldCounts(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, countsLock).Scan(&locked); err != nil || !locked {
			return err
		}
		_, err := tx.Exec(ctx, `
			WITH folded AS (DELETE FROM job_count_deltas RETURNING route, state, n)
			INSERT INTO job_counts (route, state, n)
				SELECT route, state, sum(n) FROM folded GROUP BY route, state
			ON CONFLICT (route, state) DO UPDATE SET n = job_counts.n + excluded.n`)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobstore: fold job counts: %w", err)
	}
	return nil
}

// Backlog returns the number of queued jobs that should be on the broker and are not known
// to be: their time has come and they are not published, or they are new and their message
// is not confirmed yet (the outbox relay's work, or soon). Jobs waiting out a retry delay are
// not counted (see Waiting).
func (s *Store) Backlog(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM jobs WHERE state = 'queued' AND NOT published AND next_attempt_at <= now()) +
		(SELECT count(*) FROM job_unconfirmed u JOIN jobs j ON j.id = u.job_id
			WHERE j.state = 'queued' AND j.updated_at = u.version AND j.next_attempt_at <= now())`).Scan(&n); err != nil {
		return 0, fmt.Errorf("jobstore: outbox backlog: %w", err)
	}
	return n, nil
}
