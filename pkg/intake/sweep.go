package intake

import (
	"context"
	"time"
)

// QueueDepths tells how many messages are ready in a queue; *broker.Broker does.
type QueueDepths interface {
	QueueDepth(ctx context.Context, queue string) (int, error)
}

// Unstrander puts stranded jobs back in the outbox; *jobstore.Store does.
type Unstrander interface {
	Unstrand(ctx context.Context, after time.Duration) (int64, error)
}

// Sweep looks every interval for what RabbitMQ lost or set aside, until ctx ends:
//   - queued jobs whose message left the jobs queue without a worker claiming them (a
//     purged queue, a dead-lettered message, a broker restored without its disk): when the
//     jobs queue has no ready message, a job marked published and waiting for more than
//     after is stranded, and goes back to the outbox for the relay to publish again;
//   - the dead-letter queue's depth (the metric dispatcher_dead_letters), with an error
//     logged whenever it grows: messages there wait for an operator.
func (in *Intake) Sweep(ctx context.Context, q QueueDepths, u Unstrander, deadQueue string, interval, after time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastDead := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		qctx, cancel := context.WithTimeout(ctx, in.cfg.RecordTimeout)
		if n, err := q.QueueDepth(qctx, in.cfg.JobsQueue); err == nil && n == 0 {
			if put, err := u.Unstrand(qctx, after); err == nil && put > 0 {
				in.cfg.Metrics.unstranded.Add(float64(put))
				in.cfg.Logger.Warn("queued jobs whose message left RabbitMQ unclaimed are published again",
					"jobs", put, "waiting_more_than", after.String())
			}
		}
		if deadQueue != "" {
			if n, err := q.QueueDepth(qctx, deadQueue); err == nil {
				in.cfg.Metrics.deadLetters.Set(float64(n))
				if lastDead >= 0 && n > lastDead {
					in.cfg.Logger.Error("messages reached the dead-letter queue; an operator should look at them",
						"queue", deadQueue, "messages", n, "new", n-lastDead)
				}
				lastDead = n
			}
		}
		cancel()
	}
}
