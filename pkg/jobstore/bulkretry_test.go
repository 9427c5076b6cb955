package jobstore

import (
	"context"
	"testing"
	"time"
)

// A bulk retry queues again the failed (or cancelled) jobs its filter selects: by state,
// route, reception time and error text, within its limit, and nothing else.
func TestRetryMatching(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	end := func(r Recorded, st State, errText string) {
		t.Helper()
		if _, err := s.Claim(ctx, r.Job.ID, "w", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, r.Job.ID, "w", Outcome{State: st, Error: errText}); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) time.Time { return time.Date(2026, 12, d, 12, 0, 0, 0, time.UTC) }
	cartdDown := record(t, s, "e1", day(1), "proxymod")[0]
	end(cartdDown, Failed, "cartd: create cart: 503 Service Unavailable")
	cartdDown2 := record(t, s, "e2", day(2), "proxymod")[0]
	end(cartdDown2, Failed, "CARTD: connection refused")
	modelBug := record(t, s, "e3", day(2), "proxymod")[0]
	end(modelBug, Failed, "proxymod model for file 'models/x.py' is invalid")
	script := record(t, s, "e4", day(2), "script.a")[0]
	end(script, Failed, "cartd: 503")
	cancelled := record(t, s, "e5", day(3), "proxymod")[0]
	end(cancelled, Cancelled, "cancelled by an operator")
	done := record(t, s, "e6", day(2), "proxymod")[0]
	end(done, Succeeded, "")

	ids, err := s.RetryMatching(ctx, RetryFilter{State: Failed, Route: "proxymod", ErrorContains: "cartd", Limit: 1})
	if err != nil || len(ids) != 1 || ids[0] != cartdDown.Job.ID {
		t.Fatalf("limit 1: %v %v, want the oldest match", ids, err)
	}
	ids, err = s.RetryMatching(ctx, RetryFilter{State: Failed, Route: "proxymod", ErrorContains: "cartd", Since: day(2), Until: day(3)})
	if err != nil || len(ids) != 1 || ids[0] != cartdDown2.Job.ID {
		t.Fatalf("the rest in the window: %v %v", ids, err)
	}
	for _, r := range []Recorded{cartdDown, cartdDown2} {
		if j, _ := s.Get(ctx, r.Job.ID); j.State != Queued || j.Error != "" {
			t.Errorf("retried job %s: %s %q", r.Job.ID, j.State, j.Error)
		}
	}
	for _, c := range []struct {
		r    Recorded
		want State
	}{{modelBug, Failed}, {script, Failed}, {cancelled, Cancelled}, {done, Succeeded}} {
		if j, _ := s.Get(ctx, c.r.Job.ID); j.State != c.want {
			t.Errorf("job %s not selected: %s, want %s", c.r.Job.ID, j.State, c.want)
		}
	}
	ids, err = s.RetryMatching(ctx, RetryFilter{})
	if err != nil || len(ids) != 3 {
		t.Errorf("every failed or cancelled job: %v %v, want 3", ids, err)
	}
	if _, err := s.RetryMatching(ctx, RetryFilter{State: Succeeded}); err == nil {
		t.Error("a retry of succeeded jobs was accepted")
	}
}
