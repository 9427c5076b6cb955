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
	marks := make(chan mark, in.cfg.PublishBuffer)
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
					marks <- mark{pub: o.pub, ok: in.publishJob(ctx, o.msg)}
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

// mark is the end of one background publish: confirmed, or not.
type mark struct {
	pub jobstore.Publication
	ok  bool
}

// markPublished records the ends of background publishes in batches, so that a busy intake
// does not pay one extra PostgreSQL round trip per job: confirmed jobs lose their unconfirmed
// mark, and jobs whose publish failed go back to the outbox at once, for the relay.
func (in *Intake) markPublished(marks <-chan mark) {
	const maxBatch = 256
	done := make([]jobstore.Publication, 0, maxBatch)
	var failed []jobstore.Publication
	flush := func() {
		if len(done)+len(failed) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), in.cfg.RecordTimeout)
		defer cancel()
		if len(done) > 0 {
			if err := in.cfg.Store.MarkPublished(ctx, done); err != nil {
				// The jobs stay unconfirmed: the relay publishes them again, and workers
				// ignore the duplicate message of a job that is no longer queued.
				in.cfg.Logger.Debug("marking jobs published failed", "jobs", len(done), "error", err)
			}
		}
		if len(failed) > 0 {
			if err := in.cfg.Store.Unpublished(ctx, failed); err != nil {
				// They stay unconfirmed: the relay takes them once their publish's time is over.
				in.cfg.Logger.Debug("handing unpublished jobs to the relay failed", "jobs", len(failed), "error", err)
			}
		}
		done, failed = done[:0], failed[:0]
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case m, ok := <-marks:
			if !ok {
				flush()
				return
			}
			if m.ok {
				done = append(done, m.pub)
			} else {
				failed = append(failed, m.pub)
			}
			if len(done)+len(failed) == maxBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
