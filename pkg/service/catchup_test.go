package service

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// Pacifica loses an event (notifications does not take it from metadata, which only logs
// a warning): catch-up finds the transaction in metadata, rebuilds its event and the job
// runs once; the real event delivered late afterwards is a duplicate and runs nothing.
func TestCatchUpRecoversALostEvent(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.CatchUpInterval = 300 * time.Millisecond
	})
	s.subscribe(t, h)
	// The next event metadata hands to notifications is lost.
	s.sim.SetFault(pacificasim.ServiceNotifications, pacificasim.Fault{Status: http.StatusInternalServerError, Count: 1})
	start := time.Now()
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	s.sim.ClearFault(pacificasim.ServiceNotifications)
	lostEvent := "metadata.ingest." + jsonInt(src)
	lost := false
	for _, ev := range s.sim.Events() {
		lost = lost || (ev.ID == lostEvent && ev.Lost)
	}
	if !lost {
		t.Fatalf("the fault did not lose the event of transaction %d", src)
	}
	j := h.jobOf(src, 60*time.Second)
	t.Logf("recovered and run in %s", time.Since(start).Round(time.Millisecond))
	if j.State != "succeeded" {
		t.Fatalf("the recovered job ended %s: %s", j.State, j.Error)
	}
	if n := len(s.results(src)); n != 1 {
		t.Errorf("%d results for the recovered upload, want 1", n)
	}
	// The real event, late.
	tx, _ := s.sim.Transaction(src)
	code, ans := h.post("/receive", "application/json", tx.Event)
	dup := false
	for _, jb := range ans["jobs"].([]any) {
		dup = dup || jb.(map[string]any)["duplicate"] == true
	}
	if code != http.StatusAccepted || !dup {
		t.Errorf("the late real delivery: %d %v, want 202 and a duplicate", code, ans)
	}
	time.Sleep(time.Second)
	if n := len(s.results(src)); n != 1 {
		t.Errorf("%d results after the late delivery, want still 1", n)
	}
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "dispatcher_catchup_events_recovered_total 1") {
		t.Errorf("metrics:\n%s", grepLines(string(body), "catchup"))
	}
}
