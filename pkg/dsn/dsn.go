// Package dsn handles the connection URLs the service and its tools are given (PostgreSQL's
// and RabbitMQ's): shown without their password, pointed at a private schema, and the
// random names that keep a test's or a tool's schema and queues apart from everyone else's
// on shared servers. The service, the development tools (cmd/internal/devenv) and the
// test-support package (pkg/testsupport) share it.
package dsn

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
)

// Redact returns the URL with its password hidden, for logs and error messages (a URL that
// does not parse is not shown at all: it may hold a password in a place url.Parse missed).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// WithSearchPath returns the PostgreSQL URL with its connections' search_path set to schema
// (a URL that does not parse is returned as it is, for the driver to refuse).
func WithSearchPath(raw, schema string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Token returns a short random lowercase hex string for private names (schemas, queues,
// exchanges, credentials of a run).
func Token() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
