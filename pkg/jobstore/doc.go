// Package jobstore keeps the dispatcher's events and jobs in PostgreSQL (pgx v5).
//
// PostgreSQL is the source of truth for what exists and who runs what: a job is claimed
// under a lease that its worker renews with heartbeats, and reclaimed when the lease
// expires. Every state change is one statement guarded by the previous state. Queued jobs
// not yet published to the broker form the outbox that the relay drains; retries are
// queued jobs whose next attempt lies in the future.
//
// Migrations are numbered SQL files embedded in the binary, applied under an advisory lock.
package jobstore
