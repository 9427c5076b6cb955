package main

import (
	"context"
	"fmt"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/jackc/pgx/v5"
)

// privateSchema creates a schema of its own for one part of the benchmark and returns its
// name and what drops it.
func privateSchema(ctx context.Context, dbURL string) (schema string, drop func(), err error) {
	schema = "bench_" + dsn.Token()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", dsn.Redact(dbURL), err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.WithoutCancel(ctx))
		return "", nil, err
	}
	return schema, func() {
		c := context.WithoutCancel(ctx)
		_, _ = admin.Exec(c, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(c)
	}, nil
}
