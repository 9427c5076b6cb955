package worker

import (
	"context"
	"errors"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Class is how a job's failure is treated.
type Class int

const (
	// ClassPermanent failures end the job as failed.
	ClassPermanent Class = iota
	// ClassTransient failures are retried while attempts remain.
	ClassTransient
	// ClassCancelled means the job was cancelled (by an operator, or at shutdown).
	ClassCancelled
)

type classified struct {
	class Class
	err   error
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (an invalid configuration, a
// model that raises).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: ClassPermanent, err: err}
}

// Transient marks err as a failure worth retrying (a service that is unreachable).
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: ClassTransient, err: err}
}

// retryable is implemented by errors that know whether they are worth retrying, such as
// the Pacifica clients' errors.
type retryable interface{ Retryable() bool }

// Classify says how err is treated: a PostgreSQL data exception (jobstore.IsDataError: the
// same data would be refused again) is permanent whatever its mark; then an explicit
// Permanent or Transient mark wins, then a cancelled context, then an error's own Retryable
// method; anything else is permanent.
func Classify(err error) Class {
	if jobstore.IsDataError(err) {
		return ClassPermanent
	}
	var c *classified
	if errors.As(err, &c) {
		return c.class
	}
	if errors.Is(err, context.Canceled) {
		return ClassCancelled
	}
	var r retryable
	if errors.As(err, &r) && r.Retryable() {
		return ClassTransient
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTransient
	}
	return ClassPermanent
}
