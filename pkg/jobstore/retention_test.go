package jobstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Finished jobs older than the retention go, with their attempts and the events no job
// needs any more; failed ones are kept longer; queued and running ones are never touched.
func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	old := time.Now().Add(-40 * 24 * time.Hour)
	finish := func(r Recorded, st State) {
		t.Helper()
		if _, err := s.Claim(ctx, r.Job.ID, "w", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, r.Job.ID, "w", Outcome{State: st}); err != nil {
			t.Fatal(err)
		}
	}
	var succeeded []Recorded
	for _, id := range []string{"s1", "s2", "s3"} {
		r := record(t, s, id, old, "r")[0]
		finish(r, Succeeded)
		succeeded = append(succeeded, r)
	}
	failed := record(t, s, "f1", old, "r")[0]
	finish(failed, Failed)
	queued := record(t, s, "q1", old, "r")[0]
	// One event with two jobs: one finished, one still running.
	pair := record(t, s, "pair", old, "a", "b")
	finish(pair[0], Succeeded)
	if _, err := s.Claim(ctx, pair[1].Job.ID, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	recent := record(t, s, "recent", time.Now(), "r")[0]
	finish(recent, Succeeded)

	d, err := s.DeleteExpired(ctx, Retention{Finished: 30 * 24 * time.Hour, Failed: 90 * 24 * time.Hour, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.Jobs != 4 || d.Events != 3 {
		t.Errorf("deleted %+v, want 4 jobs (3 succeeded, 1 of the pair) and 3 events", d)
	}
	for _, r := range append(succeeded, pair[0]) {
		if _, err := s.Get(ctx, r.Job.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("job %s: %v, want deleted", r.Job.ID, err)
		}
	}
	for _, r := range []Recorded{failed, queued, pair[1], recent} {
		if _, err := s.Get(ctx, r.Job.ID); err != nil {
			t.Errorf("job %s: %v, want kept", r.Job.ID, err)
		}
	}
	if d, err := s.DeleteExpired(ctx, Retention{Finished: 30 * 24 * time.Hour, Failed: 20 * 24 * time.Hour}); err != nil || d.Jobs != 1 || d.Events != 1 {
		t.Errorf("failed ones past their own retention: %+v, %v; want the failed job and its event", d, err)
	}
	if d, err := s.DeleteExpired(ctx, Retention{}); err != nil || d != (Deleted{}) {
		t.Errorf("no retention: %+v, %v", d, err)
	}
}
