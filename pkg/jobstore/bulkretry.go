package jobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// RetryFilter selects the jobs a bulk retry queues again.
type RetryFilter struct {
	// State is failed or cancelled ("": both).
	State State
	// Route selects one route ("": every route).
	Route string
	// Since and Until bound when the jobs' events were received (zero: unbounded).
	Since, Until time.Time
	// ErrorContains selects the jobs whose error holds it, ignoring case ("": any).
	ErrorContains string
	// Limit is the most jobs queued again by one call (default 1000, at most 10000).
	Limit int
}

// RetryMatching queues again, as Retry does, the failed or cancelled jobs the filter
// selects, oldest first, and returns their ids. Checkpoints are kept: what an earlier attempt
// recorded as done is not done again.
func (s *Store) RetryMatching(ctx context.Context, f RetryFilter) ([]uuid.UUID, error) {
	states := []string{string(Failed), string(Cancelled)}
	switch f.State {
	case "":
	case Failed, Cancelled:
		states = []string{string(f.State)}
	default:
		return nil, fmt.Errorf("jobstore: retry: state %q: want failed or cancelled", f.State)
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	f.Limit = min(f.Limit, 10000)
	until := f.Until
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.pool.Query(ctx, `UPDATE jobs SET state = 'queued', published = false, next_attempt_at = now(),
			max_attempts = attempts + $7, cancel_requested = false, finished_at = NULL, error = '', updated_at = now()
		WHERE id IN (
			SELECT id FROM jobs
			WHERE state = ANY($1) AND ($2 = '' OR route = $2) AND received_at >= $3 AND received_at < $4
				AND ($5 = '' OR strpos(lower(error), lower($5)) > 0)
			ORDER BY received_at LIMIT $6
			FOR UPDATE SKIP LOCKED)
		RETURNING id`, states, f.Route, f.Since, until, f.ErrorContains, f.Limit, s.retryBudget)
	if err != nil {
		return nil, fmt.Errorf("jobstore: retry matching jobs: %w", err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("jobstore: retry matching jobs: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobstore: retry matching jobs: %w", err)
	}
	return ids, nil
}
