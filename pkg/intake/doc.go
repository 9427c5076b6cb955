// Package intake makes every accepted event durable and turns it into jobs.
//
// Accept holds an event durably before the receiver answers: it records the event and one
// job per matching route in PostgreSQL (the job store), then publishes the queued jobs to
// RabbitMQ in the background. When PostgreSQL cannot take the event, Accept publishes the
// whole event to the broker's intake queue with a publisher confirm instead; the Recorder
// consumes that queue and records the event once PostgreSQL is back. Only when neither can
// hold the event does Accept fail, and the receiver answers 503.
//
// Job ids are derived from (event source, event id, route), so the same event delivered
// again — by a second subscription, an operator's re-send, or the intake queue — maps to the
// same jobs and never runs twice.
//
// The Relay publishes queued jobs that are not yet on the broker: those whose background
// publish failed (the broker was down), retries whose time has come, and jobs handed back by
// a worker. PostgreSQL is the outbox; RabbitMQ only delivers.
package intake
