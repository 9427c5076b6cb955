package intake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// downThenUpStore refuses fails writes (PostgreSQL unreachable), then records.
type downThenUpStore struct {
	Store // the other methods are not called
	fails int
	calls int
}

func (s *downThenUpStore) Record(_ context.Context, _ jobstore.NewEvent, jobs []jobstore.NewJob) ([]jobstore.Recorded, error) {
	s.calls++
	if s.calls <= s.fails {
		return nil, errors.New("jobstore: connection refused")
	}
	return make([]jobstore.Recorded, len(jobs)), nil
}

// While PostgreSQL is down the recorder keeps a held event's message and tries again with a
// growing pause, instead of putting it back on the queue at once (where a quorum queue
// would dead-letter it after its delivery limit, and the held event is its only copy).
func TestRecordHeldEventHoldsWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	in := planner(t)
	st := &downThenUpStore{fails: 2}
	in.cfg.Store, in.cfg.RecordTimeout = st, 0
	in.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	rec, err := in.recordHeldEvent(context.Background(), in.plan(sampleEvent(t), nil))
	if err != nil || len(rec) == 0 || st.calls != 3 {
		t.Fatalf("recorded %d jobs, err %v, after %d tries; want the jobs after 3", len(rec), err, st.calls)
	}
	// A cancelled context gives up at once, with the store's error: the message goes back.
	st = &downThenUpStore{fails: 1000}
	in.cfg.Store = st
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.recordHeldEvent(ctx, in.plan(sampleEvent(t), nil)); err == nil || st.calls != 1 {
		t.Errorf("cancelled: err %v after %d tries, want the store's error after 1", err, st.calls)
	}
}
