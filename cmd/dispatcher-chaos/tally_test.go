package main

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
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

// A refused delivery while a receiver was killed (SIGKILL) is explained; one during a
// receiver's SIGTERM restart is not, and is counted against the drain, whether the sender
// or notifications saw it. An upload through the simulator without exactly one job and one
// result fails the verdict.
func TestTallySigtermRestartsExplainNothing(t *testing.T) {
	t0 := time.Now()
	c := &chaos{windows: []window{
		{what: "receiver", from: t0, to: t0.Add(2 * time.Second)},
		{what: "receiver-term", from: t0.Add(20 * time.Second), to: t0.Add(25 * time.Second)},
	}, reenable: 700 * time.Millisecond}
	refused := func(at time.Time) outcome {
		return outcome{d: delivery{n: 1}, status: 202, heldIn: "postgres", jobs: []string{"j1"}, at: at,
			retries: []failure{{at: at, reason: "502 from the front door (no receiver answered)"}}}
	}
	one := int64(10)
	jobs := map[string]jobView{"j1": {ID: "j1", State: "succeeded", Attempts: 1, TransactionID: &one}}
	r := tally([]outcome{refused(t0.Add(time.Second)), refused(t0.Add(22 * time.Second))}, jobs,
		map[string][]upload{"j1": {{tx: 10, stored: t0}}}, c)
	r.sim = []simUpload{
		{tx: 100, eventID: "metadata.ingest.100", delivered: true, jobs: []string{"a"}, results: 1},
		{tx: 101, eventID: "metadata.ingest.101", recovered: true, jobs: []string{"b"}, results: 2},
	}
	r.tallyDeliveries([]pacificasim.Delivery{
		{EventID: "metadata.ingest.7", Status: 502, Error: "front door", Time: t0.Add(time.Second)},
		{EventID: "metadata.ingest.8", Status: 502, Error: "front door", Time: t0.Add(23 * time.Second)},
	}, nil, c, devenv.Sender{})
	if len(r.unexplained) != 2 || len(r.termRefused) != 2 || r.termRestarts != 1 {
		t.Errorf("unexplained %v, refused in SIGTERM restarts %v (%d restarts): want the sender's and notifications' at 22-23 s in both",
			r.unexplained, r.termRefused, r.termRestarts)
	}
	undelivered, recovered, noJob, manyJobs, bad := r.simFigures()
	if undelivered != 1 || recovered != 1 || len(noJob) != 0 || len(manyJobs) != 0 || len(bad) != 1 {
		t.Errorf("undelivered %d, recovered %d, no job %v, several %v, not one result %v", undelivered, recovered, noJob, manyJobs, bad)
	}
	var out bytes.Buffer
	if r.verdict(&out, options{settle: time.Minute}) {
		t.Errorf("the verdict passes:\n%s", out.String())
	}
	for _, want := range []string{"FAIL no delivery refused during the receivers' SIGTERM restarts (1 restarts, 2 refused)",
		"FAIL every upload through the simulator ran once", "ok   the subscription disabled by hand re-enabled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verdict lacks %q:\n%s", want, out.String())
		}
	}
}
