package intake

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// outgoing is a new job for the background publishers: its message, and the version to
// mark published once the broker confirmed it.
type outgoing struct {
	msg jobstore.JobMessage
	pub jobstore.Publication
}

// enqueue hands the newly created queued jobs to the background publishers. When their
// buffer is full the jobs stay unpublished in the store, where the relay finds them.
func (in *Intake) enqueue(rec []jobstore.Recorded) {
	for _, r := range rec {
		if !r.Created || r.Job.State != jobstore.Queued {
			continue
		}
		select {
		case in.publish <- outgoing{msg: jobstore.JobMessage{JobID: r.Job.ID, Route: r.Job.Route}, pub: jobstore.PublicationOf(r.Job)}:
		default:
			in.cfg.Metrics.publishDeferred.Inc()
		}
	}
}

// Run records (group commits) and publishes the jobs that Accept takes, until ctx is
// cancelled. Jobs still waiting to be published then are left to the relay (they are
// unpublished in the store).
func (in *Intake) Run(ctx context.Context) {
	marks := make(chan jobstore.Publication, in.cfg.PublishBuffer)
	var wg sync.WaitGroup
	for range in.cfg.Committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.commit(ctx)
		}()
	}
	in.running.Store(true)
	defer in.running.Store(false)
	for range in.cfg.Publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case o := <-in.publish:
					if in.publishJob(ctx, o.msg) {
						marks <- o.pub
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		in.markPublished(marks)
		close(done)
	}()
	wg.Wait()
	close(marks)
	<-done
}

// publishJob publishes one job message and reports whether the broker confirmed it.
func (in *Intake) publishJob(ctx context.Context, m jobstore.JobMessage) bool {
	body, _ := json.Marshal(m)
	pctx, cancel := context.WithTimeout(ctx, in.cfg.PublishTimeout)
	defer cancel()
	err := in.cfg.Broker.Publish(pctx, in.cfg.JobsQueue, broker.Message{
		ID:          m.JobID.String(),
		Body:        body,
		ContentType: "application/json",
	})
	if err != nil {
		in.cfg.Logger.Debug("job not published; the relay will retry", "job_id", m.JobID, "error", err)
		return false
	}
	return true
}

// markPublished records confirmed publishes in batches, so that a busy intake does not pay
// one extra PostgreSQL round trip per job.
func (in *Intake) markPublished(ids <-chan jobstore.Publication) {
	const maxBatch = 256
	batch := make([]jobstore.Publication, 0, maxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), in.cfg.RecordTimeout)
		if err := in.cfg.Store.MarkPublished(ctx, batch); err != nil {
			// The jobs stay unpublished: the relay publishes them again, and workers
			// ignore the duplicate message of a job that is no longer queued.
			in.cfg.Logger.Debug("marking jobs published failed", "jobs", len(batch), "error", err)
		}
		cancel()
		batch = batch[:0]
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case id, ok := <-ids:
			if !ok {
				flush()
				return
			}
			batch = append(batch, id)
			if len(batch) == maxBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
