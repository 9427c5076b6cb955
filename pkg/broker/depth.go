package broker

import (
	"context"
	"fmt"
)

// QueueDepth returns the number of messages ready in a queue (not those delivered and not
// yet acknowledged). It asks on a channel of its own, closed at once.
func (b *Broker) QueueDepth(ctx context.Context, queue string) (int, error) {
	b.mu.Lock()
	conn := b.conn
	b.mu.Unlock()
	if conn == nil || conn.IsClosed() {
		return 0, fmt.Errorf("%w: not connected", ErrUnavailable)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		ch, err := conn.Channel()
		if err != nil {
			done <- result{err: fmt.Errorf("broker: queue depth of %s: %w", queue, err)}
			return
		}
		defer ch.Close()
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			done <- result{err: fmt.Errorf("broker: queue depth of %s: %w", queue, err)}
			return
		}
		done <- result{n: q.Messages}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
