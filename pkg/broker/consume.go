package broker

import (
	"context"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Delivery is a message taken from a queue.
type Delivery struct {
	Body        []byte
	MessageID   string
	ContentType string
	Headers     map[string]any
	Redelivered bool
	// DeliveryCount is the quorum queue's x-delivery-count (0 on first delivery).
	DeliveryCount int64
}

// Disposition is what becomes of a delivery after its handler.
type Disposition int

const (
	// Ack removes the message.
	Ack Disposition = iota
	// Requeue returns the message to the queue for another delivery.
	Requeue
	// Reject dead-letters the message (to the queue's DeadLetter queue, if any).
	Reject
)

// ConsumeConfig configures Consume.
type ConsumeConfig struct {
	Queue string
	// Prefetch is how many unacknowledged messages the broker sends (default 1).
	Prefetch int
	// Workers is how many handlers run at once (default Prefetch).
	Workers int
}

// Consume delivers messages from the queue to h until ctx is cancelled, across
// reconnects. Then it stops receiving, lets running handlers finish, and returns nil. A
// handler that panics has its message requeued.
func (b *Broker) Consume(ctx context.Context, cfg ConsumeConfig, h func(context.Context, Delivery) Disposition) error {
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 1
	}
	if cfg.Workers <= 0 {
		cfg.Workers = cfg.Prefetch
	}
	for {
		b.mu.Lock()
		conn, up := b.conn, b.up
		b.mu.Unlock()
		if conn == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-b.closing:
				return nil
			case <-up:
				continue
			}
		}
		if err := b.consumeOn(ctx, conn, cfg, h); err != nil {
			b.log.Warn("consumer interrupted; resubscribing", "queue", cfg.Queue, "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-b.closing:
				return nil
			case <-time.After(200 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// consumeOn consumes on one connection until it dies or ctx ends.
func (b *Broker) consumeOn(ctx context.Context, conn *amqp.Connection, cfg ConsumeConfig, h func(context.Context, Delivery) Disposition) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	tag := fmt.Sprintf("dispatcher-%s-%d", cfg.Queue, time.Now().UnixNano())
	deliveries, err := ch.Consume(cfg.Queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", cfg.Queue, err)
	}
	var wg sync.WaitGroup
	work := make(chan amqp.Delivery)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				b.handle(ctx, d, h)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			_ = ch.Cancel(tag, false)
			return nil
		case <-b.closing:
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("deliveries of %s ended (connection lost)", cfg.Queue)
			}
			select {
			case work <- d:
			case <-ctx.Done():
				_ = d.Nack(false, true)
				_ = ch.Cancel(tag, false)
				return nil
			}
		}
	}
}

func (b *Broker) handle(ctx context.Context, d amqp.Delivery, h func(context.Context, Delivery) Disposition) {
	disp := Requeue
	func() {
		defer func() {
			if p := recover(); p != nil {
				b.log.Error("message handler panicked; message requeued", "queue", d.RoutingKey, "panic", p)
				disp = Requeue
			}
		}()
		var count int64
		switch v := d.Headers["x-delivery-count"].(type) {
		case int64:
			count = v
		case int32:
			count = int64(v)
		case int:
			count = int64(v)
		}
		disp = h(ctx, Delivery{Body: d.Body, MessageID: d.MessageId, ContentType: d.ContentType,
			Headers: d.Headers, Redelivered: d.Redelivered, DeliveryCount: count})
	}()
	var err error
	switch disp {
	case Ack:
		err = d.Ack(false)
		b.m.consumed.WithLabelValues("ack").Inc()
	case Reject:
		err = d.Nack(false, false)
		b.m.consumed.WithLabelValues("reject").Inc()
	default:
		err = d.Nack(false, true)
		b.m.consumed.WithLabelValues("requeue").Inc()
	}
	if err != nil {
		b.log.Debug("settling a delivery failed (the broker will redeliver it)", "error", err)
	}
}
