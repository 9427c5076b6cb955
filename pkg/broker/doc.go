// Package broker owns the dispatcher's RabbitMQ connection (amqp091-go).
//
// One goroutine dials, declares the durable topology (a direct exchange and quorum queues
// bound by their names, with dead-lettering), and reconnects with capped, jittered
// exponential backoff whenever the broker goes away, declaring the topology again.
// Publish waits for the broker's publisher confirm, so a nil error means the message is
// stored; while the broker is unreachable it waits for the connection until its context
// ends, then fails with ErrUnavailable. Consume delivers with a prefetch and survives
// reconnects without a restart.
package broker
