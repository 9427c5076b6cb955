package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// The commands that talk to a running service are tested against a real one, on the
// machine's PostgreSQL (a schema of its own) and RabbitMQ (queues of its own), as
// pkg/service's tests do (their helpers are internal to pkg/). A missing service fails
// the test in CI (CI=true) and skips it otherwise.

// testService is a running dispatcher (receiver role: its jobs stay queued).
type testService struct {
	base string
	cfg  service.Config
}

func token() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func needService(t *testing.T, what string, err error) {
	t.Helper()
	v := strings.ToLower(os.Getenv("CI"))
	if v != "" && v != "0" && v != "false" {
		t.Fatalf("%s is unreachable: %v (CI is set: this test needs the real service)", what, err)
	}
	t.Skipf("%s is unreachable: %v (skipped because CI is unset; start the service to run this test)", what, err)
}

func getenvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// testSchema creates a schema of its own in the test database, dropped at the end, and
// returns a URL whose connections use it.
func testSchema(t *testing.T) string {
	t.Helper()
	base := getenvOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "3D000" {
		// No test database yet (a newcomer's server): make it, as pkg/internal/testenv does.
		err = createTestDatabase(ctx, base)
		if err == nil {
			conn, err = pgx.Connect(ctx, base)
		}
	}
	if err != nil {
		needService(t, "PostgreSQL", err)
	}
	defer conn.Close(ctx)
	name := "test_cli_" + token()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// createTestDatabase creates the database of rawURL from the server's postgres database;
// one that another test package made meanwhile is fine.
func createTestDatabase(ctx context.Context, rawURL string) error {
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

// startService runs a receiver with operator (ops) and read (reader) credentials.
func startService(t *testing.T) *testService {
	t.Helper()
	dbURL := testSchema(t)
	mqURL := getenvOr("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	mq, err := amqp.Dial(mqURL)
	if err != nil {
		needService(t, "RabbitMQ", err)
	}
	cfg, err := service.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.BrokerURL, cfg.ListenAddr, cfg.Role = dbURL, mqURL, "127.0.0.1:0", service.RoleReceiver
	cfg.BrokerQueuePrefix = "test.cli." + token()
	cfg.BrokerExchange = cfg.BrokerQueuePrefix
	cfg.DrainTimeout, cfg.SubscriptionCheckInterval, cfg.CatchUpInterval = 0, 0, 0
	cfg.ReceiverAuthType, cfg.ReceiverAuthUsername, cfg.ReceiverAuthPassword = "basic", "pacifica", "sender-"+token()
	cfg.AdminAuthType, cfg.AdminAuthUsername, cfg.AdminAuthPassword = "basic", "ops", "admin-"+token()
	cfg.ReadAuthType, cfg.ReadAuthUsername, cfg.ReadAuthPassword = "basic", "reader", "read-"+token()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.New(ctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service stopped with %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("service did not stop within 40s")
		}
		if ch, err := mq.Channel(); err == nil {
			for _, q := range []string{".jobs", ".intake", ".dead"} {
				_, _ = ch.QueueDelete(cfg.BrokerQueuePrefix+q, false, false, false)
			}
			_ = ch.ExchangeDelete(cfg.BrokerExchange, false, false)
		}
		_ = mq.Close()
	})
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr, err := svc.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	return &testService{base: "http://" + addr.String(), cfg: cfg}
}
