package jobstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{URL: testsupport.Schema(t), LogTailBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func record(t *testing.T, s *Store, eventID string, at time.Time, routes ...string) []Recorded {
	t.Helper()
	var jobs []NewJob
	for _, r := range routes {
		jobs = append(jobs, NewJob{ID: JobID("src", eventID, r), Route: r, State: Queued, MaxAttempts: 2})
	}
	rec, err := s.Record(context.Background(), NewEvent{Source: "src", ID: eventID, Type: "t", TimeText: "x",
		Body: []byte(`{"a":1}`), ContentType: "application/json", ReceivedAt: at}, jobs)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	url := testsupport.Schema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), Config{URL: url, MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migrate: %v", err)
		}
	}
	s, _ := Open(context.Background(), Config{URL: url})
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Errorf("second migrate: %v", err)
	}
	var n int
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(files))
	}
}

func TestRecordNewAndDuplicate(t *testing.T) {
	t.Parallel()
	s := open(t)
	now := time.Now()
	first := record(t, s, "e1", now, "a", "b")
	if len(first) != 2 || !first[0].Created || !first[1].Created || first[0].Job.State != Queued || first[0].Job.EventID != "e1" {
		t.Fatalf("first record = %+v", first)
	}
	again := record(t, s, "e1", now.Add(time.Second), "a", "b")
	if len(again) != 2 || again[0].Created || again[1].Created || again[0].Job.ID != first[0].Job.ID {
		t.Errorf("duplicate record = %+v", again)
	}
	if !again[0].Job.ReceivedAt.Equal(first[0].Job.ReceivedAt) {
		t.Error("a duplicate changed the received time")
	}
	body, ct, err := s.EventBody(context.Background(), first[0].Job.ID)
	if err != nil || string(body) != `{"a":1}` || ct != "application/json" {
		t.Errorf("EventBody = %q %q %v", body, ct, err)
	}
}

func TestRecordConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	s := open(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := s.Record(context.Background(), NewEvent{Source: "src", ID: "same", Type: "t", Body: []byte("{}"),
				ContentType: "application/json", ReceivedAt: time.Now()},
				[]NewJob{{ID: JobID("src", "same", "r"), Route: "r", State: Queued}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rec {
				if r.Created {
					created++
				}
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d recorders created the job, want exactly 1", created)
	}
}

// A group commit's statement may hold the same event twice (two deliveries at once) and an
// event recorded before: each gets its jobs, created once. New events cost one statement and
// one round trip for the whole group; duplicates one more.
func TestRecordManyGroupWithDuplicates(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	old := record(t, s, "old", now, "r1")
	item := func(id string, routes ...string) Item {
		var jobs []NewJob
		for _, r := range routes {
			jobs = append(jobs, NewJob{ID: JobID("src", id, r), Route: r, State: Queued, MaxAttempts: 3})
		}
		et := now.Add(-time.Hour)
		return Item{Event: NewEvent{Source: "src", ID: id, Type: "t-" + id, Time: &et, TimeText: "tt", Body: []byte(`{}`),
			ContentType: "application/json", ReceivedAt: now}, Jobs: jobs}
	}

	t0 := s.Traffic()
	fresh, err := s.RecordMany(ctx, []Item{item("a", "r2", "r1"), item("b", "r1")})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Traffic(); d.Statements-t0.Statements != 1 || d.RoundTrips-t0.RoundTrips != 1 {
		t.Errorf("a group of new events took %d statements in %d round trips, want 1 in 1",
			d.Statements-t0.Statements, d.RoundTrips-t0.RoundTrips)
	}
	if len(fresh) != 2 || len(fresh[0]) != 2 || len(fresh[1]) != 1 {
		t.Fatalf("RecordMany = %+v", fresh)
	}
	a1 := fresh[0][0]
	if a1.Job.Route != "r1" || fresh[0][1].Job.Route != "r2" {
		t.Errorf("an event's jobs are not in route order: %s, %s", a1.Job.Route, fresh[0][1].Job.Route)
	}
	if !a1.Created || a1.Job.EventID != "a" || a1.Job.EventType != "t-a" || a1.Job.EventTimeText != "tt" ||
		a1.Job.EventTime == nil || a1.Job.MaxAttempts != 3 || a1.Job.State != Queued || a1.Job.UpdatedAt.IsZero() {
		t.Errorf("created job = %+v", a1)
	}
	stored, err := s.Get(ctx, a1.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.UpdatedAt.Equal(a1.Job.UpdatedAt) || !stored.EventTime.Equal(*a1.Job.EventTime) || stored.EventType != a1.Job.EventType {
		t.Errorf("as returned %+v, as stored %+v", a1.Job, stored)
	}

	t0 = s.Traffic()
	got, err := s.RecordMany(ctx, []Item{item("c", "r1"), item("c", "r1"), item("old", "r1"), item("a", "r1", "r2")})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Traffic(); d.Statements-t0.Statements != 2 {
		t.Errorf("a group with duplicates took %d statements, want 2", d.Statements-t0.Statements)
	}
	created := func(rs []Recorded) (n int) {
		for _, r := range rs {
			if r.Created {
				n++
			}
		}
		return n
	}
	if len(got[0]) != 1 || created(got[0]) != 1 || len(got[1]) != 1 || created(got[1]) != 0 || got[1][0].Job.ID != got[0][0].Job.ID {
		t.Errorf("the same event twice in a group: %+v / %+v", got[0], got[1])
	}
	if len(got[2]) != 1 || created(got[2]) != 0 || got[2][0].Job.ID != old[0].Job.ID || got[2][0].Job.EventID != "old" {
		t.Errorf("an event recorded before: %+v", got[2])
	}
	if len(got[3]) != 2 || created(got[3]) != 0 || got[3][0].Job.Route != "r1" || got[3][1].Job.Route != "r2" {
		t.Errorf("an event of the group before: %+v", got[3])
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	s := open(t)
	base := time.Now().Truncate(time.Second)
	var want []uuid.UUID
	for i := range 250 {
		// Ten events share each received time, so pages must break ties by id.
		at := base.Add(time.Duration(i/10) * time.Second)
		route := "even"
		if i%2 == 1 {
			route = "odd"
		}
		rec := record(t, s, fmt.Sprintf("ev-%03d", i), at, route)
		want = append(want, rec[0].Job.ID)
	}
	jobs, err := walk(s, Filter{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 250 {
		t.Fatalf("walked %d jobs, want 250", len(jobs))
	}
	for i := 1; i < len(jobs); i++ {
		a, b := jobs[i-1], jobs[i]
		if a.ReceivedAt.Before(b.ReceivedAt) || (a.ReceivedAt.Equal(b.ReceivedAt) && a.ID.String() < b.ID.String()) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	seen := map[uuid.UUID]bool{}
	for _, j := range jobs {
		if seen[j.ID] {
			t.Fatalf("job %s listed twice", j.ID)
		}
		seen[j.ID] = true
	}
	for _, id := range want {
		if !seen[id] {
			t.Fatalf("job %s never listed", id)
		}
	}
	odd, err := walk(s, Filter{Route: "odd", Limit: 9})
	if err != nil || len(odd) != 125 {
		t.Errorf("route filter: %d jobs, %v; want 125", len(odd), err)
	}
	one, err := walk(s, Filter{EventID: "ev-042"})
	if err != nil || len(one) != 1 || one[0].EventID != "ev-042" {
		t.Errorf("event filter: %+v, %v", one, err)
	}
	queued, err := walk(s, Filter{State: "queued", Limit: 1000})
	if err != nil || len(queued) != 250 {
		t.Errorf("state filter: %d, %v", len(queued), err)
	}
	if _, err := s.List(context.Background(), Filter{Cursor: "garbage!"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

func walk(s *Store, f Filter) ([]Job, error) {
	var out []Job
	for range 1000 {
		p, err := s.List(context.Background(), f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Jobs...)
		if p.Next == "" {
			return out, nil
		}
		f.Cursor = p.Next
	}
	return nil, errors.New("pagination does not end")
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	id := record(t, s, "life", time.Now(), "r")[0].Job.ID

	pending, err := s.Pending(ctx, 10, 0)
	if err != nil || len(pending) != 1 || pending[0].ID != id {
		t.Fatalf("Pending = %v, %v", pending, err)
	}
	if err := s.MarkPublished(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 {
		t.Errorf("published job still pending")
	}
	if n, _ := s.Backlog(ctx); n != 0 {
		t.Errorf("backlog %d after publishing", n)
	}

	j, err := s.Claim(ctx, id, "w1", time.Minute)
	if err != nil || j.State != Running || j.Attempts != 1 || j.LeaseOwner != "w1" {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if _, err := s.Claim(ctx, id, "w2", time.Minute); !errors.Is(err, ErrNotClaimable) {
		t.Errorf("second claim: %v", err)
	}
	if _, err := s.Heartbeat(ctx, id, "w2", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("heartbeat of the wrong owner: %v", err)
	}
	if c, err := s.Heartbeat(ctx, id, "w1", time.Minute); err != nil || c {
		t.Errorf("heartbeat: %v, %v", c, err)
	}
	if err := s.AppendLog(ctx, id, "héllo wörld, and more"); err != nil {
		t.Fatal(err)
	}
	// A transient failure: back to the queue, not pending before its time.
	if _, err := s.Reschedule(ctx, id, "w1", "cartd unreachable", time.Now().Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 {
		t.Error("a retry is pending before its time")
	}
	if _, err := s.Claim(ctx, id, "w1", time.Minute); !errors.Is(err, ErrNotClaimable) {
		t.Errorf("claimed before next_attempt_at: %v", err)
	}
	// Waiting out its delay, it is not in the outbox's backlog (nothing is late) but counted
	// as waiting for a retry.
	if n, err := s.Backlog(ctx); err != nil || n != 0 {
		t.Errorf("backlog %d, %v with the only job waiting for its retry", n, err)
	}
	if w, err := s.Waiting(ctx); err != nil || w.Retry != 1 || w.Oldest != 0 {
		t.Errorf("Waiting = %+v, %v; want 1 waiting for a retry, none due", w, err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE jobs SET next_attempt_at = now() - interval '1 minute' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	// Its time came a minute ago: it should be on the broker and is not.
	if n, err := s.Backlog(ctx); err != nil || n != 1 {
		t.Errorf("backlog %d, %v with the job due and not published", n, err)
	}
	if w, err := s.Waiting(ctx); err != nil || w.Retry != 0 || w.Oldest < time.Minute {
		t.Errorf("Waiting = %+v, %v; want none waiting for a retry, the oldest due for a minute or more", w, err)
	}
	j, err = s.Claim(ctx, id, "w2", time.Minute)
	if err != nil || j.Attempts != 2 {
		t.Fatalf("claim of the retry: %+v %v", j, err)
	}
	tx := int64(77)
	j, err = s.Finish(ctx, id, "w2", Outcome{State: Succeeded, TransactionID: &tx, Details: []byte(`{"files":3}`)})
	if err != nil || j.State != Succeeded || j.TransactionID == nil || *j.TransactionID != 77 || j.FinishedAt == nil {
		t.Fatalf("Finish = %+v, %v", j, err)
	}
	if j.Logs != "more" && !strings.HasSuffix("héllo wörld, and more", j.Logs) {
		t.Errorf("log tail = %q", j.Logs)
	}
	if len([]rune(j.Logs)) != 10 {
		t.Errorf("log tail %q is not the last 10 characters", j.Logs)
	}
	att, err := s.Attempts(ctx, id)
	if err != nil || len(att) != 2 || att[0].Outcome != "retry" || att[0].Error != "cartd unreachable" || att[1].Outcome != "succeeded" || att[1].Owner != "w2" {
		t.Errorf("attempts = %+v, %v", att, err)
	}
	if _, err := s.Finish(ctx, id, "w2", Outcome{State: Failed}); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("finishing twice: %v", err)
	}
	if _, err := s.Cancel(ctx, id); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel of a finished job: %v", err)
	}
	counts, err := s.Counts(ctx)
	if err != nil || len(counts) != 1 || counts[0] != (Count{Route: "r", State: Succeeded, N: 1}) {
		t.Errorf("Counts = %+v, %v", counts, err)
	}
}

// The message of a job can be consumed, and the job claimed, failed and handed back to the
// queue, before the publisher marks it published: that mark must not stick to the new
// queued incarnation, which has no message yet, or the job waits in the queue forever.
func TestMarkPublishedIgnoresAJobHandedBackMeanwhile(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	rec := record(t, s, "handed-back", time.Now(), "r")[0].Job
	tests := []struct {
		name string
		read func() []Publication
	}{
		{"new job, published at intake", func() []Publication { return []Publication{PublicationOf(rec)} }},
		{"retry, published by the relay", func() []Publication {
			p, err := s.Pending(ctx, 10, 0)
			if err != nil || len(p) != 1 {
				t.Fatalf("Pending = %v, %v", p, err)
			}
			return p
		}},
	}
	for _, tt := range tests {
		published := tt.read()
		// A worker takes the message at once, fails transiently, and reschedules the job
		// with a backoff that is over by the time the publisher marks it.
		if _, err := s.Claim(ctx, rec.ID, "w1", time.Minute); err != nil {
			t.Fatalf("%s: claim: %v", tt.name, err)
		}
		if _, err := s.Reschedule(ctx, rec.ID, "w1", "cartd: 503", time.Now(), nil); err != nil {
			t.Fatalf("%s: reschedule: %v", tt.name, err)
		}
		if err := s.MarkPublished(ctx, published); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p, err := s.Pending(ctx, 10, 0)
		if err != nil || len(p) != 1 || p[0].ID != rec.ID {
			t.Fatalf("%s: the rescheduled job is not in the outbox any more: Pending = %v, %v", tt.name, p, err)
		}
	}
	p, _ := s.Pending(ctx, 10, 0)
	if err := s.MarkPublished(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 {
		t.Errorf("a job marked at its current version is still pending: %v", p)
	}
}

func TestClaimRace(t *testing.T) {
	t.Parallel()
	s := open(t)
	id := record(t, s, "race", time.Now(), "r")[0].Job.ID
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", i)
			if _, err := s.Claim(context.Background(), id, owner, time.Minute); err == nil {
				wins <- owner
			} else if !errors.Is(err, ErrNotClaimable) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d claimers won, want 1", n)
	}
}

func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	id := record(t, s, "lease", time.Now(), "r")[0].Job.ID // MaxAttempts 2
	reclaimOnce := func() (int, int) {
		var rq, fl int
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			r, f, err := s.ReclaimExpired(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if rq, fl = r, f; r+f > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		return rq, fl
	}
	if _, err := s.Claim(ctx, id, "dead", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if rq, fl := reclaimOnce(); rq != 1 || fl != 0 {
		t.Fatalf("first expiry: requeued %d failed %d", rq, fl)
	}
	j, _ := s.Get(ctx, id)
	if j.State != Queued || j.Published || !strings.Contains(j.Error, "lease expired") {
		t.Errorf("after expiry: %+v", j)
	}
	if _, err := s.Heartbeat(ctx, id, "dead", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the dead worker's heartbeat: %v", err)
	}
	if _, err := s.Claim(ctx, id, "dead2", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if rq, fl := reclaimOnce(); rq != 0 || fl != 1 {
		t.Fatalf("second expiry: requeued %d failed %d", rq, fl)
	}
	j, _ = s.Get(ctx, id)
	if j.State != Failed || !strings.Contains(j.Error, "after 2 attempts") {
		t.Errorf("after the last expiry: %+v", j)
	}
	// An operator's retry gives it a fresh budget.
	j, err := s.Retry(ctx, id)
	if err != nil || j.State != Queued || j.MaxAttempts != 2+5 || j.Error != "" {
		t.Errorf("Retry = %+v, %v", j, err)
	}
	if _, err := s.Retry(ctx, id); !errors.Is(err, ErrConflict) {
		t.Errorf("retry of a queued job: %v", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	q := record(t, s, "c1", time.Now(), "r")[0].Job.ID
	j, err := s.Cancel(ctx, q)
	if err != nil || j.State != Cancelled || j.FinishedAt == nil {
		t.Errorf("cancel queued: %+v %v", j, err)
	}
	if _, err := s.Claim(ctx, q, "w", time.Minute); !errors.Is(err, ErrNotClaimable) {
		t.Errorf("claimed a cancelled job: %v", err)
	}
	r := record(t, s, "c2", time.Now(), "r")[0].Job.ID
	if _, err := s.Claim(ctx, r, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	j, err = s.Cancel(ctx, r)
	if err != nil || j.State != Running || !j.CancelRequested {
		t.Errorf("cancel running: %+v %v", j, err)
	}
	if c, err := s.Heartbeat(ctx, r, "w", time.Minute); err != nil || !c {
		t.Errorf("heartbeat does not report the cancel: %v %v", c, err)
	}
	if j, err := s.Finish(ctx, r, "w", Outcome{State: Cancelled, Error: "cancelled by an operator"}); err != nil || j.State != Cancelled {
		t.Errorf("finish cancelled: %+v %v", j, err)
	}
	if _, err := s.Cancel(ctx, uuid.New()); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of an unknown job: %v", err)
	}
}

func BenchmarkRecord(b *testing.B) {
	s, err := Open(context.Background(), Config{URL: testsupport.Schema(b), MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 4000))
	var n int64
	var mu sync.Mutex
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := fmt.Sprint(n)
			mu.Unlock()
			if _, err := s.Record(context.Background(), NewEvent{Source: "b", ID: id, Type: "t", Body: body,
				ContentType: "application/json", ReceivedAt: time.Now()},
				[]NewJob{{ID: JobID("b", id, "r"), Route: "r", State: Queued}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestListBounded: a bounded listing loads no logs and leaves out details larger than its
// bound (marked omitted), and EventBodyWithin reads a body only within its bound.
func TestListBounded(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	small := record(t, s, "small", time.Now(), "r")[0].Job.ID
	big := record(t, s, "big", time.Now(), "r")[0].Job.ID
	for id, details := range map[uuid.UUID]string{small: `{"stdout": "hi"}`, big: `{"stdout": "` + strings.Repeat("x", 5000) + `"}`} {
		if _, err := s.pool.Exec(ctx, `UPDATE jobs SET details = $2, logs = 'a log' WHERE id = $1`, id, details); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.List(ctx, Filter{MaxDetailBytes: 1000})
	if err != nil || len(p.Jobs) != 2 {
		t.Fatalf("list: %d jobs, %v", len(p.Jobs), err)
	}
	for _, j := range p.Jobs {
		if j.Logs != "" {
			t.Errorf("job %s: logs loaded in a bounded listing", j.EventID)
		}
		if omitted := j.ID == big; j.DetailsOmitted() != omitted {
			t.Errorf("job %s: details %s, omitted %v, want %v", j.EventID, j.Details, j.DetailsOmitted(), omitted)
		}
	}
	full, err := s.Get(ctx, big)
	if err != nil || len(full.Details) < 5000 || full.DetailsOmitted() {
		t.Errorf("get: details of %d bytes, %v", len(full.Details), err)
	}
	body, _, size, err := s.EventBodyWithin(ctx, big, 3)
	if err != nil || body != nil || size != len(`{"a":1}`) {
		t.Errorf("EventBodyWithin(3): %q, size %d, %v", body, size, err)
	}
	body, _, _, err = s.EventBodyWithin(ctx, big, 100)
	if err != nil || string(body) != `{"a":1}` {
		t.Errorf("EventBodyWithin(100): %q, %v", body, err)
	}
	// Many at once: the same answers, an unknown job absent.
	unknown := uuid.New()
	for _, bound := range []int{3, 100} {
		got, err := s.EventBodiesWithin(ctx, []uuid.UUID{small, big, unknown}, bound)
		if err != nil || len(got) != 2 {
			t.Fatalf("EventBodiesWithin(%d) = %v, %v", bound, got, err)
		}
		for _, id := range []uuid.UUID{small, big} {
			b := got[id]
			if want := bound >= len(`{"a":1}`); (string(b.Body) == `{"a":1}`) != want || b.Size != len(`{"a":1}`) || b.ContentType != "application/json" {
				t.Errorf("EventBodiesWithin(%d)[%s] = %+v", bound, id, b)
			}
		}
	}
}

// A new queued job is recorded published, its message unconfirmed: the confirm deletes that
// mark without writing the job's row again; without a confirm, the relay gets the job once
// the publish had its time, and never a job that moved on.
func TestNewJobUnconfirmedUntilItsConfirm(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	unconfirmed := func() (n int) {
		t.Helper()
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM job_unconfirmed`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rowVersion := func(id uuid.UUID) (xmin string) {
		t.Helper()
		if err := s.pool.QueryRow(ctx, `SELECT xmin::text FROM jobs WHERE id = $1`, id).Scan(&xmin); err != nil {
			t.Fatal(err)
		}
		return xmin
	}

	// Confirmed: in flight meanwhile (not the relay's, but in the backlog), then nothing left.
	a := record(t, s, "confirmed", time.Now(), "r")[0].Job
	if !a.Published || unconfirmed() != 1 {
		t.Fatalf("new job: published %v, %d unconfirmed", a.Published, unconfirmed())
	}
	if p, err := s.Pending(ctx, 10, time.Minute); err != nil || len(p) != 0 {
		t.Errorf("a job whose publish is under way is pending: %v, %v", p, err)
	}
	if n, err := s.Backlog(ctx); err != nil || n != 1 {
		t.Errorf("backlog %d, %v with a new job not confirmed yet; want 1", n, err)
	}
	before := rowVersion(a.ID)
	if err := s.MarkPublished(ctx, []Publication{PublicationOf(a)}); err != nil {
		t.Fatal(err)
	}
	if after := rowVersion(a.ID); after != before {
		t.Errorf("confirming a new job wrote its row again (xmin %s -> %s)", before, after)
	}
	if n, _ := s.Backlog(ctx); n != 0 || unconfirmed() != 0 {
		t.Errorf("after the confirm: backlog %d, %d unconfirmed", n, unconfirmed())
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 {
		t.Errorf("a confirmed job is pending: %v", p)
	}

	// Never confirmed (the process died): the relay's, once older than the publish's time.
	b := record(t, s, "lost-publish", time.Now(), "r")[0].Job
	p, err := s.Pending(ctx, 10, 0)
	if err != nil || len(p) != 1 || p[0] != PublicationOf(b) {
		t.Fatalf("Pending = %v, %v; want the unconfirmed job %s", p, err, b.ID)
	}
	if err := s.MarkPublished(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 || unconfirmed() != 0 {
		t.Errorf("relayed: still pending %v, %d unconfirmed", p, unconfirmed())
	}

	// Claimed before any confirm (a worker faster than the confirm's mark, then a crash):
	// the mark is stale, is not relayed, and goes.
	c := record(t, s, "claimed-first", time.Now(), "r")[0].Job
	if _, err := s.Claim(ctx, c.ID, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, 10, 0); len(p) != 0 {
		t.Errorf("a running job is pending: %v", p)
	}
	if unconfirmed() != 0 {
		t.Errorf("the stale mark of a running job was kept")
	}
}

// A new job whose publish failed goes back to the outbox at once, not after the time its
// publish could have taken; one that moved on meanwhile is left as it is.
func TestUnpublishedGoesToTheRelayAtOnce(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	a := record(t, s, "refused", time.Now(), "r")[0].Job
	b := record(t, s, "claimed", time.Now(), "r")[0].Job
	if _, err := s.Claim(ctx, b.ID, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Unpublished(ctx, []Publication{PublicationOf(a), PublicationOf(b)}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Pending(ctx, 10, time.Hour)
	if err != nil || len(p) != 1 || p[0] != PublicationOf(a) {
		t.Fatalf("Pending = %v, %v; want only the refused job, at once", p, err)
	}
	if j, _ := s.Get(ctx, b.ID); j.State != Running {
		t.Errorf("the claimed job is %s", j.State)
	}
}

// A claim is one statement and brings the job's event; the end of an attempt writes the last
// of its log in the same statement as the outcome.
func TestClaimBringsTheEventAndFinishTheLog(t *testing.T) {
	t.Parallel()
	s := open(t) // LogTailBytes 10
	ctx := context.Background()
	id := record(t, s, "one-statement", time.Now(), "r")[0].Job.ID
	if err := s.AppendLog(ctx, id, "12345"); err != nil {
		t.Fatal(err)
	}
	t0 := s.Traffic()
	j, err := s.Claim(ctx, id, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Traffic().Statements - t0.Statements; d != 1 {
		t.Errorf("a claim took %d statements, want 1", d)
	}
	if j.State != Running || j.Attempts != 1 || j.LeaseOwner != "w" || j.EventID != "one-statement" ||
		j.Event == nil || string(j.Event.Body) != `{"a":1}` || j.Event.ContentType != "application/json" || j.Event.Size != 7 {
		t.Fatalf("claimed %+v (event %+v)", j, j.Event)
	}
	if att, err := s.Attempts(ctx, id); err != nil || len(att) != 1 || att[0].Owner != "w" {
		t.Errorf("attempts %+v, %v", att, err)
	}
	t0 = s.Traffic()
	done, err := s.Finish(ctx, id, "w", Outcome{State: Succeeded, Log: "abcdefgh"})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Traffic().Statements - t0.Statements; d != 1 {
		t.Errorf("a finish with its log took %d statements, want 1", d)
	}
	if done.State != Succeeded || done.Logs != "2345abcdefgh"[2:] {
		t.Errorf("finished %s with log %q, want the last 10 characters %q", done.State, done.Logs, "45abcdefgh")
	}
	// An end without a log leaves the log as it is.
	id2 := record(t, s, "no-log", time.Now(), "r")[0].Job.ID
	if err := s.AppendLog(ctx, id2, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, id2, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Finish(ctx, id2, "w", Outcome{State: Failed, Error: "x"}); err != nil || j.Logs != "kept" {
		t.Errorf("finished without a log: %q, %v", j.Logs, err)
	}
}

// The script jobs' listing (its own index, its prefix written into the query) and any other
// prefix (a parameter) select by the route's start, newest first, page after page.
func TestListByRoutePrefix(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	for i := range 7 {
		record(t, s, fmt.Sprintf("ev%d", i), base.Add(time.Duration(i)*time.Minute), "script.a", "proxymod", "scripted")
	}
	for _, prefix := range []string{ScriptRoutes, "script", "proxy"} {
		var got []Job
		cursor := ""
		for {
			p, err := s.List(ctx, Filter{RoutePrefix: prefix, Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Jobs...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		want := map[string]bool{}
		for i := range 7 {
			for _, r := range []string{"script.a", "proxymod", "scripted"} {
				if strings.HasPrefix(r, prefix) {
					want[fmt.Sprintf("%s/ev%d", r, i)] = true
				}
			}
		}
		seen := map[string]bool{}
		for i, j := range got {
			seen[j.Route+"/"+j.EventID] = true
			if i > 0 {
				prev := got[i-1]
				if j.ReceivedAt.After(prev.ReceivedAt) || (j.ReceivedAt.Equal(prev.ReceivedAt) && j.ID.String() > prev.ID.String()) {
					t.Errorf("prefix %q: %s/%s after %s/%s is not newest first", prefix, j.Route, j.EventID, prev.Route, prev.EventID)
				}
			}
		}
		if len(got) != len(want) || len(seen) != len(want) {
			t.Errorf("prefix %q: %d jobs (%d distinct), want %d", prefix, len(got), len(seen), len(want))
		}
		for k := range want {
			if !seen[k] {
				t.Errorf("prefix %q: %s missing", prefix, k)
			}
		}
	}
}

// A claim reaches its job by the primary key even when the statistics say no job is queued
// and thousands are: it once went through the index on (state, received_at, id) and walked
// every queued job's entry, for each claim.
func TestClaimUsesThePrimaryKeyWhateverTheStatistics(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	var items []Item
	for i := range 300 {
		id := fmt.Sprintf("done-%d", i)
		items = append(items, Item{Event: NewEvent{Source: "src", ID: id, Type: "t", Body: []byte(`{}`), ContentType: "application/json",
			ReceivedAt: time.Now()}, Jobs: []NewJob{{ID: JobID("src", id, "r"), Route: "r", State: Failed, Error: "x"}}})
	}
	if _, err := s.RecordMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE jobs`); err != nil { // statistics: no job queued
		t.Fatal(err)
	}
	items = items[:0]
	for i := range 3000 {
		id := fmt.Sprintf("backlog-%d", i)
		items = append(items, Item{Event: NewEvent{Source: "src", ID: id, Type: "t", Body: []byte(`{}`), ContentType: "application/json",
			ReceivedAt: time.Now()}, Jobs: []NewJob{{ID: JobID("src", id, "r"), Route: "r", State: Queued}}})
	}
	if _, err := s.RecordMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, "EXPLAIN "+claimSQL, JobID("src", "backlog-7", "r"), "w", 60.0)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "jobs_state_received") || !strings.Contains(plan, "jobs_pkey") {
		t.Errorf("the claim does not reach its job by the primary key:\n%s", plan)
	}
	if j, err := s.Claim(ctx, JobID("src", "backlog-7", "r"), "w", time.Minute); err != nil || j.State != Running {
		t.Errorf("claim: %+v, %v", j.State, err)
	}
}
