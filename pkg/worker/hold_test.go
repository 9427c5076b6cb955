package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// flakyStore fails Claim fails times, then claims.
type flakyStore struct {
	Store // the other methods are not called
	fails int
	calls int
}

func (f *flakyStore) Claim(_ context.Context, id uuid.UUID, _ string, _ time.Duration) (jobstore.Job, error) {
	f.calls++
	if f.calls <= f.fails {
		return jobstore.Job{}, errors.New("jobstore: connection refused")
	}
	return jobstore.Job{ID: id}, nil
}

// While the job store is unavailable a worker keeps the message and tries again with a
// growing pause, instead of requeueing it every second; past HoldMax it gives up (the
// message goes back to the queue).
func TestClaimHoldsTheMessageWhileTheStoreIsDown(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	id := uuid.New()

	back := &flakyStore{fails: 2}
	w := &Worker{cfg: Config{Store: back, Logger: log, HoldMax: time.Minute}}
	job, err := w.claim(context.Background(), id)
	if err != nil || job.ID != id || back.calls != 3 {
		t.Errorf("store back after two failures: job %v, err %v, %d calls; want the job after 3", job.ID, err, back.calls)
	}

	down := &flakyStore{fails: 1000}
	w = &Worker{cfg: Config{Store: down, Logger: log, HoldMax: 2500 * time.Millisecond}}
	start := time.Now()
	if _, err := w.claim(context.Background(), id); err == nil {
		t.Error("a store down for good: claimed")
	}
	// Pauses of 1 s then 2 s: the third try would pass HoldMax, so two tries, 1 s apart.
	if down.calls != 2 || time.Since(start) < time.Second {
		t.Errorf("a store down for good: %d calls in %s; want 2 tries with a pause between", down.calls, time.Since(start))
	}

	notClaimable := &flakyStore{fails: 0}
	w = &Worker{cfg: Config{Store: notClaimable, Logger: log}}
	if _, err := w.claim(context.Background(), id); err != nil || notClaimable.calls != 1 {
		t.Errorf("store up: err %v, %d calls", err, notClaimable.calls)
	}
}
