// Package worker runs jobs: it takes job messages from RabbitMQ, claims each job in the job
// store under a lease, runs the job's handler, and records how it ended.
//
// PostgreSQL is the source of truth for who runs what. A worker acknowledges a job's message
// as soon as it holds the job's lease, and renews the lease with a heartbeat while the job
// runs, so a job may run far longer than RabbitMQ's consumer acknowledgement timeout. A
// worker that dies stops renewing; the reaper (every worker runs one) hands the job back
// when its lease expires, and the relay publishes it again for another worker. A message
// for a job that is finished, or running under another worker's lease, does nothing.
//
// Handlers return an error classified once, here: permanent errors (Permanent, or anything
// not known to be transient) fail the job; transient ones (Transient, or an error that
// says it is retryable, such as a Pacifica service that is unreachable or answers 5xx) are
// retried with capped exponential backoff and jitter until the job's attempts run out;
// cancellation by an operator ends the job as cancelled.
//
// A job may run more than once (a retry, a lost worker, an operator's retry), so work
// with effects outside the dispatcher must not be done twice: a handler records it with
// Job.SaveCheckpoint (durable in the job store before it returns) and a later attempt
// finds it with Job.Checkpoint. pacifica.IngestClient.UploadOnce uses them so that an
// upload ingest accepted is never sent again.
package worker
