package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// The commands that talk to a running service are tested against a real one, on the
// machine's PostgreSQL (a schema of its own) and RabbitMQ (queues of its own), with the
// test-support package as pkg/service's tests do. A missing service fails the test in CI
// (CI=true) and skips it otherwise.

// testService is a running dispatcher (receiver role: its jobs stay queued).
type testService struct {
	base string
	cfg  service.Config
}

func token() string { return dsn.Token() }

// startService runs a receiver with operator (ops) and read (reader) credentials.
func startService(t *testing.T) *testService {
	t.Helper()
	dbURL := testsupport.Schema(t)
	mqURL := testsupport.BrokerURL(t)
	mq, err := amqp.Dial(mqURL)
	if err != nil {
		t.Fatal(err)
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
