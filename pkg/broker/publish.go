package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message is a message to publish.
type Message struct {
	ID          string
	Body        []byte
	ContentType string
	Headers     map[string]any
}

// drainReturns moves returned messages to the map, under retMu, and reports whether any
// came back.
func (b *Broker) drainReturns(returns chan amqp.Return) bool {
	b.retMu.Lock()
	defer b.retMu.Unlock()
	any := false
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return any
			}
			if len(b.returned) < 100000 {
				b.returned[r.MessageId] = true
			}
			any = true
		default:
			return any
		}
	}
}

// returnedOf reports whether the message with id came back unroutable. The broker sends a
// message's return before its confirm, and the client queues the return before it
// handles the confirm, so once the confirm arrived the return (if any) is in the channel
// or already in the map.
func (b *Broker) returnedOf(returns chan amqp.Return, id string) bool {
	b.drainReturns(returns)
	b.retMu.Lock()
	defer b.retMu.Unlock()
	r := b.returned[id]
	delete(b.returned, id)
	if r {
		select {
		case b.redeclare <- struct{}{}:
		default:
		}
	}
	return r
}

// current returns the publishing channel and its returns, or nil and a channel closed
// when it comes back.
func (b *Broker) current() (*amqp.Channel, chan amqp.Return, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pub, b.returns, b.up
}

// Publish sends a persistent message to the queue named by routingKey and waits for the
// broker's confirm. It publishes through the default exchange, whose route to every queue
// cannot be lost, as a mandatory message: a message the broker cannot route comes back and
// is an error, never a silent loss. While the broker is unreachable it waits for the connection until ctx
// ends (ErrUnavailable). A message whose confirm did not arrive is reported as an error:
// it may or may not be stored, and callers treat it as not published.
func (b *Broker) Publish(ctx context.Context, routingKey string, m Message) error {
	if !slices.ContainsFunc(b.cfg.Queues, func(q QueueSpec) bool { return q.Name == routingKey }) {
		b.m.published.WithLabelValues("error").Inc()
		return fmt.Errorf("broker: publish to %q: no such queue in the topology", routingKey)
	}
	if m.ID == "" {
		var r [12]byte
		for i := range r {
			r[i] = byte(rand.N(256))
		}
		m.ID = fmt.Sprintf("%x", r)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConfirmTimeout)
	defer cancel()
	for {
		ch, returns, up := b.current()
		if ch == nil {
			select {
			case <-up:
				continue
			case <-b.closing:
				b.m.published.WithLabelValues("unavailable").Inc()
				return fmt.Errorf("%w: closed", ErrUnavailable)
			case <-ctx.Done():
				b.m.published.WithLabelValues("unavailable").Inc()
				b.mu.Lock()
				last := b.lastErr
				b.mu.Unlock()
				return fmt.Errorf("%w: %v", ErrUnavailable, last)
			}
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", routingKey, true, false, amqp.Publishing{
			MessageId:    m.ID,
			ContentType:  m.ContentType,
			Headers:      amqp.Table(m.Headers),
			Body:         m.Body,
			DeliveryMode: amqp.Persistent,
			Timestamp:    time.Now(),
		})
		if err != nil {
			if errors.Is(err, amqp.ErrClosed) && ctx.Err() == nil {
				// The channel died before the message was sent: wait for the owner to reconnect.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			b.m.published.WithLabelValues("error").Inc()
			return fmt.Errorf("broker: publish to %s: %w", routingKey, err)
		}
		ok, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			b.m.published.WithLabelValues("error").Inc()
			return fmt.Errorf("broker: publish to %s: no confirm: %w", routingKey, err)
		case !ok:
			b.m.published.WithLabelValues("nack").Inc()
			return fmt.Errorf("broker: publish to %s: the broker refused the message (nack)", routingKey)
		case b.returnedOf(returns, m.ID):
			b.m.published.WithLabelValues("unroutable").Inc()
			return fmt.Errorf("broker: publish to %s: the broker could not route the message (queue missing?)", routingKey)
		}
		b.m.published.WithLabelValues("ok").Inc()
		b.m.latency.Observe(time.Since(start).Seconds())
		return nil
	}
}
