package jobstore

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Traffic is what the store has sent PostgreSQL since it was opened: statements (each query
// of a batch counts, and so do BEGIN and COMMIT) and round trips (a batch is one). The
// statements that triggers run inside PostgreSQL are not counted.
type Traffic struct {
	Statements, RoundTrips uint64
}

// counter is the pool's pgx tracer: it counts, and keeps nothing else.
type counter struct {
	statements, roundTrips atomic.Uint64
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.statements.Add(1)
	c.roundTrips.Add(1)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.statements.Add(uint64(len(d.Batch.QueuedQueries)))
	c.roundTrips.Add(1)
	return ctx
}

func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// Traffic returns what the store has sent PostgreSQL so far.
func (s *Store) Traffic() Traffic {
	return Traffic{Statements: s.traffic.statements.Load(), RoundTrips: s.traffic.roundTrips.Load()}
}
