package intake

import (
	"context"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Headers of an intake queue message.
const (
	headerContentType = "x-event-content-type"
	headerReceivedAt  = "x-received-at"
)

// hold publishes the whole event to the intake queue and waits for the broker's confirm.
func (in *Intake) hold(ctx context.Context, ev *event.Event) error {
	body, ct := event.Stored(ev)
	pctx, cancel := context.WithTimeout(ctx, in.cfg.PublishTimeout)
	defer cancel()
	return in.cfg.Broker.Publish(pctx, in.cfg.IntakeQueue, broker.Message{
		ID:          jobstore.EventKey(ev.Source(), ev.ID()).String(),
		Body:        body,
		ContentType: ct,
		Headers: map[string]any{
			headerContentType: ct,
			headerReceivedAt:  in.cfg.Now().UTC().Format(time.RFC3339Nano),
		},
	})
}
