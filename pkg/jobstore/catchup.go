package jobstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cursor reads the named cursor; ok is false when it was never set.
func (s *Store) Cursor(ctx context.Context, name string) (t time.Time, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT value FROM cursors WHERE name = $1`, name).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("jobstore: read cursor %s: %w", name, err)
	}
	return t, true, nil
}

// SetCursor sets the named cursor.
func (s *Store) SetCursor(ctx context.Context, name string, t time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO cursors (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, name, t)
	if err != nil {
		return fmt.Errorf("jobstore: set cursor %s: %w", name, err)
	}
	return nil
}

// HasEvent reports whether the event (source, id) is recorded.
func (s *Store) HasEvent(ctx context.Context, source, id string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE key = $1)`, EventKey(source, id)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("jobstore: look for event %s: %w", id, err)
	}
	return ok, nil
}

// TryLock takes the session advisory lock key on a connection of its own, if no other
// session holds it; unlock releases it and the connection. ok is false when another
// process holds it.
func (s *Store) TryLock(ctx context.Context, key int64) (unlock func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: lock %d: %w", key, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("jobstore: lock %d: %w", key, err)
		}
		return nil, false, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// The session ends with the connection, and its locks with it.
			_ = conn.Conn().Close(uctx)
		}
		conn.Release()
	}, true, nil
}
