package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Checkpoints are written only by the lease owner of a running job, and come back from
// every later Claim: after a reschedule, after a lost worker's lease expired, and after an
// operator's retry of the failed job.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	id := record(t, s, "ckpt", time.Now(), "r")[0].Job.ID // MaxAttempts 2

	j, err := s.Claim(ctx, id, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if j.Checkpoints == nil || len(j.Checkpoints) != 0 {
		t.Errorf("a new job's checkpoints = %#v, want an empty map", j.Checkpoints)
	}
	if err := s.SaveCheckpoint(ctx, id, "w2", "upload/result", json.RawMessage(`{"job_id":1}`)); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a checkpoint saved by another owner: %v, want ErrLeaseLost", err)
	}
	if err := s.SaveCheckpoint(ctx, id, "w1", "upload/result", json.RawMessage(`{"job_id":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoint(ctx, id, "w1", "upload/result", json.RawMessage(`{"job_id": 42}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoint(ctx, id, "w1", "download", json.RawMessage(`"done"`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoint(ctx, id, "w1", "bad", json.RawMessage(`{not json`)); err == nil || errors.Is(err, ErrLeaseLost) {
		t.Errorf("a checkpoint that is not JSON: %v", err)
	}
	want := map[string]string{"upload/result": `{"job_id": 42}`, "download": `"done"`}
	check := func(when string, got map[string]json.RawMessage) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: checkpoints %s, want %v", when, show(got), want)
			return
		}
		for k, v := range want {
			if string(got[k]) != v {
				t.Errorf("%s: checkpoint %q = %s, want %s", when, k, got[k], v)
			}
		}
	}

	// A transient failure: the next attempt, on another worker, sees them.
	if _, err := s.Reschedule(ctx, id, "w1", "ingest unreachable", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoint(ctx, id, "w1", "late", json.RawMessage(`1`)); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a checkpoint saved on a queued job: %v, want ErrLeaseLost", err)
	}
	j, err = s.Claim(ctx, id, "w2", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	check("claimed after a reschedule", j.Checkpoints)

	// The worker dies: its lease expires, and the job (out of attempts) fails.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, failed, err := s.ReclaimExpired(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if failed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired lease was not reclaimed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.SaveCheckpoint(ctx, id, "w2", "late", json.RawMessage(`1`)); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a checkpoint saved by the lost worker: %v, want ErrLeaseLost", err)
	}
	// An operator's retry keeps them.
	if _, err := s.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	j, err = s.Claim(ctx, id, "w3", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	check("claimed after an operator's retry", j.Checkpoints)
	if j, err = s.Finish(ctx, id, "w3", Outcome{State: Succeeded}); err != nil {
		t.Fatal(err)
	}
	check("finished", j.Checkpoints)
	if err := s.SaveCheckpoint(ctx, id, "w3", "late", json.RawMessage(`1`)); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a checkpoint saved on a finished job: %v, want ErrLeaseLost", err)
	}
}

func show(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}
