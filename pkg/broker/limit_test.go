package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

func limitedBroker(t *testing.T, queue, dead, exchange string, limit int, log *slog.Logger) *Broker {
	t.Helper()
	raw := testsupport.BrokerURL(t)
	b, err := New(Config{URL: raw, Exchange: exchange, ReconnectMin: 20 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond, ConfirmTimeout: 5 * time.Second, Logger: log,
		Queues: []QueueSpec{{Name: queue, DeadLetter: dead, DeliveryLimit: limit}, {Name: dead}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		_ = testsupport.DeleteQueue(raw, queue)
		_ = testsupport.DeleteQueue(raw, dead)
		_ = testsupport.DeleteExchange(raw, exchange)
	})
	waitFor(t, 10*time.Second, "connected", b.Connected)
	return b
}

// The queues say their delivery limit (RabbitMQ 4 would otherwise dead-letter after 20
// redeliveries, RabbitMQ 3 never): a message requeued more often than the limit reaches the
// dead-letter queue, not before.
func TestDeliveryLimitDeadLetters(t *testing.T) {
	t.Parallel()
	tok := testsupport.Token()
	queue, dead := "test."+tok+".q", "test."+tok+".dead"
	b := limitedBroker(t, queue, dead, "test."+tok, 3, nil)
	if err := b.Publish(context.Background(), queue, Message{ID: "poison", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	deliveries := 0
	var deadLettered atomic.Bool
	go func() {
		got := collect(t, b, dead, 1, 20*time.Second)
		if got["poison"].MessageID == "poison" {
			deadLettered.Store(true)
		}
		cancel()
	}()
	var mu sync.Mutex
	_ = b.Consume(ctx, ConsumeConfig{Queue: queue, Prefetch: 1}, func(_ context.Context, d Delivery) Disposition {
		mu.Lock()
		deliveries++
		mu.Unlock()
		return Requeue
	})
	mu.Lock()
	defer mu.Unlock()
	if !deadLettered.Load() {
		t.Fatalf("the message requeued %d times never reached the dead-letter queue", deliveries)
	}
	t.Logf("delivered %d times, then dead-lettered", deliveries)
	if deliveries < 3 || deliveries > 4 {
		t.Errorf("the message was delivered %d times before it was dead-lettered, want the limit of 3 (+1 first delivery at most)", deliveries)
	}
}

// A queue declared by an older version without the limit is kept as it is (RabbitMQ refuses
// to redeclare it with other arguments): the service connects, says how to set the limit, and
// works.
func TestDeliveryLimitOnAnExistingQueue(t *testing.T) {
	t.Parallel()
	tok := testsupport.Token()
	queue, dead := "test."+tok+".q", "test."+tok+".dead"
	raw := testsupport.BrokerURL(t)
	conn, err := amqp.Dial(raw)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum",
		"x-dead-letter-exchange": "test." + tok, "x-dead-letter-routing-key": dead}); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()

	var logs testsupport.SyncBuffer
	b := limitedBroker(t, queue, dead, "test."+tok, 50, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := b.Publish(context.Background(), queue, Message{ID: "still-works", Body: []byte("x")}); err != nil {
		t.Fatalf("publish to the existing queue: %v", err)
	}
	if got := collect(t, b, queue, 1, 10*time.Second); got["still-works"].MessageID != "still-works" {
		t.Errorf("consumed %v", got)
	}
	out := logs.String()
	if !strings.Contains(out, "with another delivery limit than the configured one") || !strings.Contains(out, "set_policy") {
		t.Errorf("no warning naming the fix: %s", out)
	}
	if n := strings.Count(out, "with another delivery limit than the configured one"); n != 1 {
		t.Errorf("warned %d times, want once", n)
	}
}

// The other way round: a queue declared with a limit, declared again by a process (an older
// version, a tool) that has none or another: it is used as it is.
func TestDeliveryLimitOtherThanTheQueues(t *testing.T) {
	t.Parallel()
	tok := testsupport.Token()
	queue, dead := "test."+tok+".q", "test."+tok+".dead"
	first := limitedBroker(t, queue, dead, "test."+tok, 100, nil)
	var logs testsupport.SyncBuffer
	for _, limit := range []int{0, 7} {
		b, err := New(Config{URL: testsupport.BrokerURL(t), Exchange: "test." + tok, ReconnectMin: 20 * time.Millisecond,
			ReconnectMax: 200 * time.Millisecond, ConfirmTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Queues: []QueueSpec{{Name: queue, DeadLetter: dead, DeliveryLimit: limit}, {Name: dead}}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("connected with delivery limit %d", limit), b.Connected)
		if err := b.Publish(context.Background(), queue, Message{ID: fmt.Sprint("limit-", limit), Body: []byte("x")}); err != nil {
			t.Errorf("publish with delivery limit %d: %v", limit, err)
		}
		_ = b.Close()
	}
	if got := collect(t, first, queue, 2, 10*time.Second); len(got) != 2 {
		t.Errorf("consumed %v, want both messages", got)
	}
	if n := strings.Count(logs.String(), "another delivery limit"); n != 2 {
		t.Errorf("%d warnings, want one per process:\n%s", n, logs.String())
	}
}
