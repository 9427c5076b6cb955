package intake

import (
	"context"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Consumer is what the recorder needs of the broker.
type Consumer interface {
	Consume(ctx context.Context, cfg broker.ConsumeConfig, h func(context.Context, broker.Delivery) broker.Disposition) error
}

// ConsumeHeld consumes the intake queue until ctx is cancelled: every event held there while
// PostgreSQL was unavailable is recorded (with its jobs, under the ids its sender was
// given) and its jobs published. A message is acknowledged only after its event is
// committed; while PostgreSQL is still down it goes back to the queue after a pause.
func (in *Intake) ConsumeHeld(ctx context.Context, c Consumer) error {
	return c.Consume(ctx, broker.ConsumeConfig{Queue: in.cfg.IntakeQueue, Prefetch: 16, Workers: 4},
		func(ctx context.Context, d broker.Delivery) broker.Disposition {
			return in.recordHeld(ctx, d)
		})
}

func (in *Intake) recordHeld(ctx context.Context, d broker.Delivery) broker.Disposition {
	ct, _ := d.Headers[headerContentType].(string)
	if ct == "" {
		ct = event.StoredPacifica
	}
	ev, err := event.Load(d.Body, ct)
	if err != nil {
		// Only this service writes the intake queue, after parsing the event: a message
		// that does not parse cannot become valid later. Dead-letter it for inspection.
		in.cfg.Logger.Error("intake queue: message is not an event; dead-lettered",
			"message_id", d.MessageID, "error", err)
		return broker.Reject
	}
	p := in.plan(ev, nil)
	if s, ok := d.Headers[headerReceivedAt].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			p.event.ReceivedAt = t
		}
	}
	rec, err := in.recordHeldEvent(ctx, p)
	if err != nil && jobstore.IsDataError(err) {
		// PostgreSQL refuses this event's data: it would be refused on every try. It goes
		// to the dead-letter queue, kept for an operator, instead of looping here.
		in.cfg.Metrics.deadLettered.Inc()
		in.cfg.Logger.Error("intake queue: the job store refuses the event's data; dead-lettered",
			"event_id", ev.ID(), "source", ev.Source(), "message_id", d.MessageID, "error", err)
		return broker.Reject
	}
	if err != nil {
		in.cfg.Logger.Warn("intake queue: job store still unavailable; the event goes back to the queue",
			"event_id", ev.ID(), "source", ev.Source(), "error", err)
		return broker.Requeue
	}
	in.cfg.Metrics.recovered.Inc()
	in.cfg.Logger.Info("held event recorded", "event_id", ev.ID(), "source", ev.Source(), "jobs", len(rec))
	in.enqueue(rec)
	return broker.Ack
}

// holdMax bounds how long a held event's message is kept, unacknowledged, while the job
// store is unavailable: under RabbitMQ's consumer acknowledgement timeout (30 minutes by
// default).
const holdMax = 20 * time.Minute

// recordHeldEvent records the event, and while the job store is unavailable keeps the
// message and tries again, from 1 s doubling to 30 s, for up to holdMax: requeueing at once
// would spin it through RabbitMQ, and a quorum queue dead-letters a message past its
// delivery limit (20 by default on RabbitMQ 4) - for a held event, whose only copy it is.
func (in *Intake) recordHeldEvent(ctx context.Context, p plan) ([]jobstore.Recorded, error) {
	start, wait := time.Now(), time.Second
	for {
		rctx, cancel := context.WithTimeout(ctx, in.cfg.RecordTimeout)
		rec, err := in.cfg.Store.Record(rctx, p.event, p.jobs)
		cancel()
		if err == nil || jobstore.IsDataError(err) || ctx.Err() != nil || time.Since(start)+wait > holdMax {
			return rec, err
		}
		pause(ctx, wait)
		wait = min(2*wait, 30*time.Second)
	}
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
