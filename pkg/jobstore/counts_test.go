package jobstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// exactCounts is what Counts must agree with: the whole table counted.
func exactCounts(t *testing.T, s *Store) map[Count]bool {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT route, state, count(*) FROM jobs GROUP BY route, state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[Count]bool{}
	for rows.Next() {
		var c Count
		var st string
		if err := rows.Scan(&c.Route, &st, &c.N); err != nil {
			t.Fatal(err)
		}
		c.State = State(st)
		out[c] = true
	}
	return out
}

func checkCounts(t *testing.T, s *Store, when string) {
	t.Helper()
	got, err := s.Counts(context.Background())
	if err != nil {
		t.Fatalf("%s: Counts: %v", when, err)
	}
	want := exactCounts(t, s)
	if len(got) != len(want) {
		t.Errorf("%s: Counts = %+v, the table holds %+v", when, got, want)
		return
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("%s: Counts = %+v, the table holds %+v", when, got, want)
			return
		}
	}
}

// The counts kept by triggers agree with the table after every kind of change: intake
// (duplicates included), claims and finishes from many goroutines at once, reschedules,
// cancels, operator retries, bulk retries, stranded jobs put back, retention's deletes; and
// they survive folding while writers keep writing.
func TestCountsFollowEveryChange(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	var ids []Recorded
	for i := range 40 {
		at := time.Now()
		if i%4 == 0 {
			at = old
		}
		ids = append(ids, record(t, s, fmt.Sprintf("ev-%d", i), at, "a", "b")...)
	}
	record(t, s, "ev-0", old, "a", "b") // a duplicate delivery adds nothing
	checkCounts(t, s, "after intake")

	var wg sync.WaitGroup
	for i, r := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", i)
			if _, err := s.Claim(ctx, r.Job.ID, owner, time.Minute); err != nil {
				t.Errorf("claim: %v", err)
				return
			}
			var err error
			switch i % 3 {
			case 0:
				_, err = s.Finish(ctx, r.Job.ID, owner, Outcome{State: Succeeded})
			case 1:
				_, err = s.Finish(ctx, r.Job.ID, owner, Outcome{State: Failed, Error: "boom"})
			default:
				_, err = s.Reschedule(ctx, r.Job.ID, owner, "later", time.Now(), nil)
			}
			if err != nil {
				t.Errorf("finish: %v", err)
			}
			if i%5 == 0 { // folding while others write
				if _, err := s.Counts(ctx); err != nil {
					t.Errorf("Counts: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	checkCounts(t, s, "after claims and finishes")

	if _, err := s.Cancel(ctx, ids[2].Job.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := s.Retry(ctx, ids[1].Job.ID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, err := s.RetryMatching(ctx, RetryFilter{State: Failed, Route: "b"}); err != nil {
		t.Fatalf("bulk retry: %v", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE jobs SET published = true, updated_at = now() - interval '1 hour' WHERE state = 'queued'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unstrand(ctx, time.Minute); err != nil {
		t.Fatalf("unstrand: %v", err)
	}
	checkCounts(t, s, "after operator actions")

	d, err := s.DeleteExpired(ctx, Retention{Finished: 24 * time.Hour, Failed: 24 * time.Hour, Batch: 3})
	if err != nil || d.Jobs == 0 {
		t.Fatalf("DeleteExpired = %+v, %v", d, err)
	}
	checkCounts(t, s, "after retention")
}

// A store upgraded from a version without the counts starts from the jobs it already holds.
func TestCountsMigrationCountsExistingJobs(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	for i := range 5 {
		record(t, s, fmt.Sprintf("before-%d", i), time.Now(), "a", "b", "c")
	}
	if _, err := s.pool.Exec(ctx, `
		DROP TABLE job_counts, job_count_deltas;
		DROP FUNCTION jobs_count_insert, jobs_count_delete, jobs_count_update CASCADE;
		DELETE FROM schema_migrations WHERE version = 4`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, "after the upgrade")
	got, _ := s.Counts(ctx)
	if len(got) != 3 || got[0].N != 5 {
		t.Errorf("Counts = %+v, want 5 queued jobs on each of 3 routes", got)
	}
}
