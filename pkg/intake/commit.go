package intake

import (
	"context"
	"slices"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// commitRequest is one event waiting for the group commit.
type commitRequest struct {
	item jobstore.Item
	done chan commitResult
}

type commitResult struct {
	rec []jobstore.Recorded
	err error
}

// maxGroup is the largest number of events recorded in one transaction.
const maxGroup = 128

// commitGrouped makes one event durable in PostgreSQL through the group commit: events that
// arrive while a commit is in flight are recorded together in the next one, so that they
// share one transaction and one WAL flush. Without committers running (Run not started),
// it records the event on its own.
func (in *Intake) commitGrouped(ctx context.Context, item jobstore.Item) ([]jobstore.Recorded, error) {
	if in.cfg.Committers <= 0 || !in.running.Load() {
		return in.cfg.Store.Record(ctx, item.Event, item.Jobs)
	}
	req := commitRequest{item: item, done: make(chan commitResult, 1)}
	select {
	case in.commits <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.rec, r.err
	case <-ctx.Done():
		// The group may still commit; the event then exists, and the broker fallback's
		// copy maps to the same jobs.
		return nil, ctx.Err()
	}
}

// commit records groups of events until ctx ends.
func (in *Intake) commit(ctx context.Context) {
	for {
		var first commitRequest
		select {
		case <-ctx.Done():
			return
		case first = <-in.commits:
		}
		group := []commitRequest{first}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-in.commits:
				group = append(group, r)
			default:
				break more
			}
		}
		// The same order in every group: concurrent groups take their row locks in the
		// same order and cannot deadlock.
		slices.SortFunc(group, func(a, b commitRequest) int {
			return strings.Compare(a.item.Event.Source+"\x00"+a.item.Event.ID, b.item.Event.Source+"\x00"+b.item.Event.ID)
		})
		items := make([]jobstore.Item, len(group))
		for i, r := range group {
			items[i] = r.item
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.RecordTimeout)
		recs, err := in.cfg.Store.RecordMany(cctx, items)
		cancel()
		in.cfg.Metrics.groupSize.Observe(float64(len(group)))
		if err != nil && len(group) > 1 && jobstore.IsDataError(err) {
			// One event that PostgreSQL refuses must not take the others of its group
			// with it: record them one by one.
			in.commitEach(ctx, group)
			continue
		}
		for i, r := range group {
			if err != nil {
				r.done <- commitResult{err: err}
			} else {
				r.done <- commitResult{rec: recs[i]}
			}
		}
	}
}

// commitEach records the events of a refused group one at a time.
func (in *Intake) commitEach(ctx context.Context, group []commitRequest) {
	for _, r := range group {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.RecordTimeout)
		rec, err := in.cfg.Store.Record(cctx, r.item.Event, r.item.Jobs)
		cancel()
		if err != nil && jobstore.IsDataError(err) {
			in.cfg.Logger.Error("the job store refuses the event's data", "event_id", r.item.Event.ID,
				"source", r.item.Event.Source, "error", err)
		}
		r.done <- commitResult{rec: rec, err: err}
	}
}
