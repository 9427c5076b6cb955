// Package testsupport is the dispatcher's test-support package: only tests import it (a
// depguard rule of .golangci.yml keeps it out of the program). It gives tests isolated
// access to the real PostgreSQL and RabbitMQ of the machine they run on (a schema, queues
// and an exchange of their own), a TCP proxy that cuts or partitions a connection, and
// small helpers tests share (SyncBuffer).
//
// Tests never mock the database or the broker. When a service is unreachable a test fails;
// outside CI (CI unset) it is skipped instead, with the reason, so that a developer without
// the services can still run the pure tests. In CI (CI=true) a missing service is a failure.
//
// Addresses come from TEST_DATABASE_URL and TEST_BROKER_URL, defaulting to the local
// services: postgres://postgres@127.0.0.1:5432/test and amqp://guest:guest@127.0.0.1:5672/.
// The database of TEST_DATABASE_URL is created (from the server's postgres database) when
// it does not exist yet.
package testsupport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"
)

// DefaultDatabaseURL is the local PostgreSQL used when TEST_DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultBrokerURL is the local RabbitMQ used when TEST_BROKER_URL is unset.
const DefaultBrokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// DatabaseURL returns the PostgreSQL URL for tests, after checking that the server answers.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	u := getenv("TEST_DATABASE_URL", DefaultDatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if isMissingDatabase(err) {
		// A newcomer's server has no test database yet: make it, then connect again.
		if cerr := createDatabase(ctx, u); cerr != nil {
			unavailable(t, "PostgreSQL", u, fmt.Errorf("%v; creating the database: %v", err, cerr))
		}
		conn, err = pgx.Connect(ctx, u)
	}
	if err != nil {
		unavailable(t, "PostgreSQL", u, err)
	}
	_ = conn.Close(ctx)
	return u
}

// isMissingDatabase reports whether err says the database does not exist (SQLSTATE 3D000).
func isMissingDatabase(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "3D000"
}

// createDatabase creates the database of rawURL, connected to the postgres database of
// the same server. Test packages run in parallel: a database that another one created
// meanwhile is fine (duplicate_database, or the catalog's unique violation when both
// CREATE DATABASE at once).
func createDatabase(ctx context.Context, rawURL string) error {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return err
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
		return nil
	}
	return err
}

// Schema creates a fresh schema, drops it when the test ends, and returns a database URL
// whose connections use it as their search_path. Each test gets its own tables.
func Schema(t testing.TB) string {
	t.Helper()
	base := DatabaseURL(t)
	name := "test_" + Token()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testsupport: connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testsupport: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("testsupport: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Logf("testsupport: drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(base, name)
}

// WithSearchPath returns rawURL with its connections' search_path set to schema.
func WithSearchPath(rawURL, schema string) string { return dsn.WithSearchPath(rawURL, schema) }

// BrokerURL returns the RabbitMQ URL for tests, after checking that the server accepts TCP
// connections.
func BrokerURL(t testing.TB) string {
	t.Helper()
	u := getenv("TEST_BROKER_URL", DefaultBrokerURL)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("testsupport: TEST_BROKER_URL %q: %v", u, err)
	}
	host := pu.Host
	if pu.Port() == "" {
		host = net.JoinHostPort(pu.Hostname(), "5672")
	}
	c, err := net.DialTimeout("tcp", host, 3*time.Second)
	if err != nil {
		unavailable(t, "RabbitMQ", u, err)
	}
	_ = c.Close()
	return u
}

// Token returns a short random lowercase hex string for unique names (schemas, queues).
func Token() string { return dsn.Token() }

// InCI reports whether the tests run in CI, where missing services are failures.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

func unavailable(t testing.TB, what, u string, err error) {
	t.Helper()
	msg := fmt.Sprintf("testsupport: %s at %s is unreachable: %v", what, dsn.Redact(u), err)
	if InCI() {
		t.Fatal(msg + " (CI is set: this test needs the real service)")
	}
	t.Skip(msg + " (skipped because CI is unset; start the service to run this test)")
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
