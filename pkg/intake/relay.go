package intake

import (
	"context"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Relay publishes, until ctx is cancelled, every queued job that is not on the broker yet:
// jobs whose background publish failed, retries whose time has come, and jobs handed back
// by workers. It looks every interval (default 1s), and again at once while it finds a
// full batch.
func (in *Intake) Relay(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	const batch = 500
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n := in.relayOnce(ctx, batch)
		if n == batch && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// unconfirmedFor is how long a new job's message may take to be confirmed before the relay
// publishes the job: past the background publish's own time limit, twice over (it may have
// waited for a publisher first).
func (in *Intake) unconfirmedFor() time.Duration { return 2 * in.cfg.PublishTimeout }

// relayOnce publishes up to limit pending jobs and returns how many it found.
func (in *Intake) relayOnce(ctx context.Context, limit int) int {
	qctx, cancel := context.WithTimeout(ctx, in.cfg.RecordTimeout)
	pending, err := in.cfg.Store.Pending(qctx, limit, in.unconfirmedFor())
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			in.cfg.Logger.Debug("relay: job store unavailable", "error", err)
		}
		return 0
	}
	published := make([]jobstore.Publication, 0, len(pending))
	for _, p := range pending {
		if !in.publishJob(ctx, jobstore.JobMessage{JobID: p.ID}) {
			break // the broker is down: try again on the next tick
		}
		published = append(published, p)
	}
	if len(published) > 0 {
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.RecordTimeout)
		if err := in.cfg.Store.MarkPublished(mctx, published); err != nil {
			in.cfg.Logger.Debug("relay: marking jobs published failed", "error", err)
		}
		cancel()
		in.cfg.Metrics.relayed.Add(float64(len(published)))
	}
	if len(published) < len(pending) {
		return 0
	}
	return len(pending)
}
