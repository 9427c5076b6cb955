package jobstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key that serialises migrations across processes.
const migrateLock = 0x70616369 // "paci"

// Migrate applies the migrations not yet applied, in order, each in its own transaction,
// under an advisory lock so that many processes may start at once. The applied versions
// are recorded in schema_migrations, in the connection's current schema.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.ApplyMigrations(ctx)
	return err
}

// MigrationReport says what ApplyMigrations did.
type MigrationReport struct {
	// Applied names the migrations this call applied, in order ("0003_catchup.sql"); empty
	// when the schema was up to date.
	Applied []string
	// Version is the schema's version afterwards: the highest migration applied.
	Version int
}

// ApplyMigrations is Migrate, reporting which migrations it applied and the schema's
// version.
func (s *Store) ApplyMigrations(ctx context.Context) (MigrationReport, error) {
	var rep MigrationReport
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("jobstore: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return rep, fmt.Errorf("jobstore: migrate: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return rep, fmt.Errorf("jobstore: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return rep, err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return rep, fmt.Errorf("jobstore: migration %s: no version number", base)
		}
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&done); err != nil {
			return rep, fmt.Errorf("jobstore: migrate: %w", err)
		}
		if done {
			rep.Version = max(rep.Version, version)
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return rep, err
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return rep, fmt.Errorf("jobstore: migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			_ = tx.Rollback(ctx)
			return rep, fmt.Errorf("jobstore: migration %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, base); err != nil {
			_ = tx.Rollback(ctx)
			return rep, fmt.Errorf("jobstore: migration %s: %w", base, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return rep, fmt.Errorf("jobstore: migration %s: %w", base, err)
		}
		s.log.Info("migration applied", "migration", base)
		rep.Applied = append(rep.Applied, base)
		rep.Version = max(rep.Version, version)
	}
	return rep, nil
}
