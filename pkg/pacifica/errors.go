package pacifica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Error is a failed call to a Pacifica service: which service, which call, and what came
// back. Temporary says whether trying again may succeed (the service was unreachable,
// answered 5xx or 429, or took too long); cancellation is neither.
type Error struct {
	Service    string // cartd, ingest, notifications
	Op         string // e.g. "create cart 3f1c…"
	StatusCode int    // 0 when no answer came
	Message    string // Pacifica's message, or an excerpt of the body
	Temporary  bool
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Service, e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the call may succeed if tried again.
func (e *Error) Retryable() bool { return e.Temporary }

// IsRetryable reports whether err is a Pacifica failure worth retrying: an error of the
// chain says so with its Retryable method (*Error does).
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// transportError classifies an error of the HTTP round trip itself.
func transportError(service, op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %s: %w", service, op, err)
	}
	temporary := errors.Is(err, context.DeadlineExceeded)
	var ne net.Error
	if errors.As(err, &ne) {
		temporary = true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		temporary = true
	}
	if !temporary && (strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")) {
		temporary = true
	}
	return &Error{Service: service, Op: op, Err: err, Temporary: temporary}
}

// statusError builds the error of an unexpected answer, with Pacifica's JSON message when
// the body has one.
func statusError(service, op string, code int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	var pj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &pj) == nil && pj.Message != "" {
		msg = pj.Message
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &Error{Service: service, Op: op, StatusCode: code, Message: msg,
		Temporary: code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout}
}

func asError(err error, target **Error) bool { return err != nil && errors.As(err, target) }
