package jobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// retentionLock is the advisory lock that lets one process at a time delete old jobs.
const retentionLock = 7307101

// Retention says how long finished jobs are kept, from when their event was received.
type Retention struct {
	// Finished applies to succeeded, cancelled and unrouted jobs; Failed to failed ones
	// (which an operator may still want to retry). Zero keeps them for ever.
	Finished, Failed time.Duration
	// Batch is the number of jobs deleted per transaction (default 500).
	Batch int
}

// Deleted counts what one pass removed.
type Deleted struct{ Jobs, Events int64 }

// DeleteExpired deletes, in small transactions, the finished jobs older than the retention,
// their attempts, and the events no job refers to any more. One process at a time does it
// (an advisory lock; another process finds it taken and returns at once). Jobs queued or
// running are never touched.
func (s *Store) DeleteExpired(ctx context.Context, r Retention) (Deleted, error) {
	var total Deleted
	if r.Finished <= 0 && r.Failed <= 0 {
		return total, nil
	}
	if r.Batch <= 0 {
		r.Batch = 500
	}
	// A cutoff in the future deletes nothing: "for ever".
	cutoff := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Unix(0, 0)
		}
		return time.Now().Add(-d)
	}
	finished, failed := cutoff(r.Finished), cutoff(r.Failed)
	for {
		var d Deleted
		locked := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, retentionLock).Scan(&locked); err != nil || !locked {
				return err
			}
			return tx.QueryRow(ctx, `
				WITH doomed AS (
					SELECT id, event_key FROM jobs
					WHERE (state IN ('succeeded', 'cancelled', 'unrouted') AND received_at < $1)
					   OR (state = 'failed' AND received_at < $2)
					LIMIT $3
					FOR UPDATE SKIP LOCKED
				), attempts AS (
					DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM doomed)
				), gone AS (
					DELETE FROM jobs WHERE id IN (SELECT id FROM doomed) RETURNING event_key
				), events AS (
					DELETE FROM events e WHERE e.key IN (SELECT event_key FROM gone)
						AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_key = e.key
							AND j.id NOT IN (SELECT id FROM doomed))
					RETURNING 1
				)
				SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM events)`,
				finished, failed, r.Batch).Scan(&d.Jobs, &d.Events)
		})
		if err != nil {
			return total, fmt.Errorf("jobstore: delete expired jobs: %w", err)
		}
		total.Jobs += d.Jobs
		total.Events += d.Events
		if !locked || d.Jobs < int64(r.Batch) || ctx.Err() != nil {
			return total, nil
		}
	}
}
