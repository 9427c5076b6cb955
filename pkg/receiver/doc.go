// Package receiver is the HTTP endpoint that Pacifica notifications delivers events to.
//
// Pacifica disables a subscription for good on any 4xx or 5xx answer and never retries, so
// the receiver answers 2xx to every well-formed event — including events no route wants —
// as soon as the event is durably held (see package intake), and answers an error only for
// a body that is not an event (400), too large (413), of an unsupported content type (415),
// from an unauthenticated sender when authentication is configured (401), or when neither
// PostgreSQL nor RabbitMQ can hold the event (503).
package receiver
