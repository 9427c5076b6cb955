package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// A handler's checkpoint reaches PostgreSQL before SaveCheckpoint returns, survives
// PostgreSQL being unreachable for a moment, and comes back in the next attempt's Job.
func TestJobCheckpoints(t *testing.T) {
	t.Parallel()
	dbURL := testsupport.Schema(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testsupport.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: u.String(), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id := jobstore.JobID("src", "e1", "r")
	if _, err := store.Record(ctx, jobstore.NewEvent{Source: "src", ID: "e1", Type: "t", Body: []byte(`{}`),
		ContentType: "application/json", ReceivedAt: time.Now()},
		[]jobstore.NewJob{{ID: id, Route: "r", State: jobstore.Queued, MaxAttempts: 3}}); err != nil {
		t.Fatal(err)
	}
	w := &Worker{cfg: Config{Store: store, Owner: "w1", Lease: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)}}
	claimed, err := store.Claim(ctx, id, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	job := w.newJob(claimed)
	if v, ok := job.Checkpoint("upload/result"); ok {
		t.Errorf("a new job has checkpoint %s", v)
	}
	if err := job.SaveCheckpoint(ctx, "upload/result", map[string]int64{"job_id": 7}); err != nil {
		t.Fatal(err)
	}
	if v, ok := job.Checkpoint("upload/result"); !ok || string(v) != `{"job_id":7}` {
		t.Errorf("Checkpoint = %s %v", v, ok)
	}

	// PostgreSQL away for a moment: SaveCheckpoint waits for it.
	proxy.Cut()
	go func() {
		time.Sleep(500 * time.Millisecond)
		proxy.Restore()
	}()
	if err := job.SaveCheckpoint(ctx, "upload/failed-run", 8); err != nil {
		t.Fatalf("save across a short outage: %v", err)
	}
	// Unreachable until ctx ends: an error, not a hang.
	proxy.Cut()
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = job.SaveCheckpoint(sctx, "never", true)
	cancel()
	proxy.Restore()
	if err == nil {
		t.Error("a checkpoint saved while PostgreSQL was unreachable")
	}

	// The next attempt (on another worker) sees what reached the store.
	if _, err := store.Reschedule(ctx, id, "w1", "transient", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if err := job.SaveCheckpoint(ctx, "late", 1); !errors.Is(err, jobstore.ErrLeaseLost) {
		t.Errorf("save after the lease was given up: %v, want ErrLeaseLost", err)
	}
	w2 := &Worker{cfg: Config{Store: store, Owner: "w2", Lease: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)}}
	claimed, err = store.Claim(ctx, id, "w2", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	next := w2.newJob(claimed)
	for name, want := range map[string]string{"upload/result": `{"job_id":7}`, "upload/failed-run": `8`} {
		if v, ok := next.Checkpoint(name); !ok || compact(v) != want {
			t.Errorf("next attempt: checkpoint %q = %s %v, want %s", name, v, ok, want)
		}
	}
	for _, name := range []string{"never", "late"} {
		if v, ok := next.Checkpoint(name); ok {
			t.Errorf("next attempt has checkpoint %q = %s, which was never saved", name, v)
		}
	}
}

// compact is v without the spaces PostgreSQL's jsonb puts in.
func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// A Job made outside a worker (a handler's own test) keeps its checkpoints in memory.
func TestJobCheckpointsInMemory(t *testing.T) {
	t.Parallel()
	j := &Job{}
	if err := j.SaveCheckpoint(context.Background(), "a", json.RawMessage(`{"x": 1}`)); err != nil {
		t.Fatal(err)
	}
	if v, ok := j.Checkpoint("a"); !ok || string(v) != `{"x":1}` {
		t.Errorf("Checkpoint = %s %v", v, ok)
	}
	if err := j.SaveCheckpoint(context.Background(), "", 1); err == nil {
		t.Error("a checkpoint without a name was saved")
	}
	if err := j.SaveCheckpoint(context.Background(), "f", func() {}); err == nil {
		t.Error("a value that is not JSON was saved")
	}
}

// A checkpoint that could not be saved while PostgreSQL was unreachable is written with the
// end of the attempt, rescheduled or finished: the next attempt finds it.
func TestUnsavedCheckpointWrittenWithTheEnd(t *testing.T) {
	t.Parallel()
	dbURL := testsupport.Schema(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testsupport.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: u.String(), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id := jobstore.JobID("src", "e1", "r")
	if _, err := store.Record(ctx, jobstore.NewEvent{Source: "src", ID: "e1", Type: "t", Body: []byte(`{}`),
		ContentType: "application/json", ReceivedAt: time.Now()},
		[]jobstore.NewJob{{ID: id, Route: "r", State: jobstore.Queued, MaxAttempts: 3}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	w := &Worker{cfg: Config{Store: store, Owner: "w1", Lease: 3 * time.Second, Logger: log, Metrics: NewMetrics(nil),
		BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}}

	// attempt claims the job, saves name = value with PostgreSQL unreachable (the save
	// fails), and ends with runErr once PostgreSQL is back.
	attempt := func(name, value string, runErr error) {
		t.Helper()
		var claimed jobstore.Job
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if claimed, err = store.Claim(ctx, id, "w1", time.Minute); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("claim: %v", err)
			}
		}
		job := w.newJob(claimed)
		proxy.Cut()
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := job.SaveCheckpoint(sctx, name, json.RawMessage(value))
		cancel()
		proxy.Restore()
		if err == nil {
			t.Fatal("a checkpoint saved while PostgreSQL was unreachable")
		}
		if v, ok := job.Checkpoint(name); !ok || string(v) != value {
			t.Fatalf("the attempt lost its own checkpoint: %s %v", v, ok)
		}
		fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
		defer fcancel()
		w.finish(fctx, log, job, claimed, Result{}, runErr, nil)
	}

	attempt("upload/result", `{"job_id":7}`, Transient(errors.New("ingest: 503")))
	j, err := store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobstore.Queued {
		t.Fatalf("job %s after a transient failure, want queued", j.State)
	}
	if v := j.Checkpoints["upload/result"]; compact(v) != `{"job_id":7}` {
		t.Errorf("rescheduled: checkpoint %s, want the one the attempt could not save", v)
	}

	attempt("upload/failed-run", `{"job_id":8}`, nil)
	if j, err = store.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if j.State != jobstore.Succeeded {
		t.Fatalf("job %s, want succeeded", j.State)
	}
	for name, want := range map[string]string{"upload/result": `{"job_id":7}`, "upload/failed-run": `{"job_id":8}`} {
		if v := j.Checkpoints[name]; compact(v) != want {
			t.Errorf("finished: checkpoint %q = %s, want %s", name, v, want)
		}
	}
}
