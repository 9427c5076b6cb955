package main

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestPlanResendsEachDuplicateAfterItsOriginal(t *testing.T) {
	distinct := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	for seed := uint64(0); seed < 50; seed++ {
		p := plan(distinct, 6, rand.New(rand.NewPCG(seed, 1)))
		if len(p) != 10 {
			t.Fatalf("seed %d: %d deliveries, want 10", seed, len(p))
		}
		seen := map[int]bool{}
		dups := 0
		for _, d := range p {
			if !bytes.Equal(d.body, distinct[d.n]) {
				t.Fatalf("seed %d: delivery of event %d carries %q", seed, d.n, d.body)
			}
			if d.dup {
				dups++
				if !seen[d.n] {
					t.Fatalf("seed %d: event %d re-sent before it was first sent: %+v", seed, d.n, p)
				}
				continue
			}
			if seen[d.n] {
				t.Fatalf("seed %d: event %d sent twice as an original", seed, d.n)
			}
			seen[d.n] = true
		}
		if dups != 6 || len(seen) != 4 {
			t.Fatalf("seed %d: %d re-sent, %d distinct", seed, dups, len(seen))
		}
	}
}

// The verdict a person reads: a job accepted but missing is lost, a job with two uploads
// ran twice, a 503 outside any outage and a 400 are unexplained, a connection refused
// while the receiver was down is explained.
func TestTallyFindsLostDuplicatedAndUnexplained(t *testing.T) {
	t0 := time.Now()
	c := &chaos{windows: []window{
		{what: "receiver", from: t0, to: t0.Add(2 * time.Second)},
		{what: "rabbitmq", from: t0.Add(20 * time.Second), to: t0.Add(30 * time.Second)},
	}}
	ok := func(n int, jobs ...string) outcome {
		return outcome{d: delivery{n: n}, status: 202, heldIn: "postgres", jobs: jobs, at: t0}
	}
	withRetry := ok(3, "j3")
	withRetry.retries = []failure{{at: t0.Add(time.Second), reason: "connection refused"},
		{at: t0.Add(25 * time.Second), reason: "503 Service Unavailable", status: 503},
		{at: t0.Add(60 * time.Second), reason: "503 Service Unavailable", status: 503}}
	outcomes := []outcome{
		ok(1, "j1"), ok(1, "j1"), ok(2, "j2"), withRetry,
		{d: delivery{n: 4}, status: 400, reason: "400 Bad Request", at: t0.Add(40 * time.Second)},
	}
	tx := func(ids ...int64) []upload {
		var out []upload
		for _, id := range ids {
			out = append(out, upload{tx: id, stored: t0})
		}
		return out
	}
	one, two := int64(10), int64(20)
	jobs := map[string]jobView{
		"j1": {ID: "j1", State: "succeeded", Attempts: 1, TransactionID: &one},
		"j3": {ID: "j3", State: "succeeded", Attempts: 2, TransactionID: &two},
	}
	uploads := map[string][]upload{"j1": tx(10), "j3": tx(20, 21)}

	r := tally(outcomes, jobs, uploads, c)
	if r.sent != 5 || r.ok2xx != 4 || r.notOK != 1 || r.retriedDeliveries != 1 {
		t.Errorf("sent %d, 2xx %d, otherwise %d, retried %d", r.sent, r.ok2xx, r.notOK, r.retriedDeliveries)
	}
	if len(r.lost) != 1 || r.lost[0] != "j2" {
		t.Errorf("lost %v, want [j2]", r.lost)
	}
	if len(r.duplicated) != 1 || len(r.duplicated["j3"]) != 2 {
		t.Errorf("duplicated %v, want j3 twice", r.duplicated)
	}
	if len(r.unexplained) != 2 || !strings.HasPrefix(r.unexplained[0], "503") || !strings.HasPrefix(r.unexplained[1], "400") {
		t.Errorf("unexplained %v, want the late 503 and the 400", r.unexplained)
	}
	var out bytes.Buffer
	if r.verdict(&out, options{settle: time.Minute}) {
		t.Errorf("the verdict passes a run with a lost job:\n%s", out.String())
	}
	for _, want := range []string{"FAIL no accepted event lost (1 lost", "FAIL no job uploaded twice (1)", "FAIL every non-2xx"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verdict lacks %q:\n%s", want, out.String())
		}
	}
}
