package jobstore

import (
	"context"
	"fmt"
	"time"
)

// Waiting is what the queued jobs wait for.
type Waiting struct {
	// Retry counts the queued jobs waiting out a retry delay (their time has not come).
	Retry int64
	// Oldest is how long the queued job whose time came first has waited for a worker
	// since (0 when no queued job is due).
	Oldest time.Duration
}

// Waiting returns what the queued jobs wait for, in one pass over the queued jobs.
func (s *Store) Waiting(ctx context.Context) (Waiting, error) {
	var w Waiting
	var oldest float64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE next_attempt_at > now()),
			COALESCE(EXTRACT(EPOCH FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())), 0)::float8
		FROM jobs WHERE state = 'queued'`).Scan(&w.Retry, &oldest)
	if err != nil {
		return Waiting{}, fmt.Errorf("jobstore: queued jobs: %w", err)
	}
	w.Oldest = time.Duration(oldest * float64(time.Second))
	return w, nil
}
