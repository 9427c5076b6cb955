package pacificasim

import (
	"errors"
	"net/http"
	"os"
	"testing"
	"time"
)

func TestFaultStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tests := []struct {
		service, url string
	}{
		{ServiceCartd, e.cartd + "/some-cart"},
		{ServiceIngest, e.ingest + "/get_state?job_id=1"},
		{ServiceNotifications, e.notifications + "/eventmatch"},
		{ServiceMetadata, e.metadata + "/transactions"},
	}
	for _, tc := range tests {
		t.Run(tc.service, func(t *testing.T) {
			e.sim.SetFault(tc.service, Fault{Status: http.StatusServiceUnavailable})
			for i := 0; i < 2; i++ { // the fault holds until cleared
				resp, b := do(t, http.MethodGet, tc.url, "", nil)
				checkErrorBody(t, resp, b, http.StatusServiceUnavailable)
			}
			e.sim.ClearFault(tc.service)
			if resp, b := do(t, http.MethodGet, tc.url, "", nil); resp.StatusCode == http.StatusServiceUnavailable {
				t.Errorf("still faulty after ClearFault: %s %s", resp.Status, b)
			}
		})
	}
}

func TestFaultCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.sim.SetFault(ServiceMetadata, Fault{Status: http.StatusBadGateway, Count: 2})
	var codes []int
	for i := 0; i < 3; i++ {
		resp, _ := do(t, http.MethodGet, e.metadata+"/transactions", "", nil)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 502 || codes[1] != 502 || codes[2] != 200 {
		t.Errorf("statuses %v, want 502 502 200", codes)
	}
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	// A hang longer than the client waits: the client gives up.
	e.sim.SetFault(ServiceCartd, Fault{Delay: time.Hour})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	_, err := client.Head(e.cartd + "/x")
	var uerr interface{ Timeout() bool }
	if !errors.As(err, &uerr) || !uerr.Timeout() {
		t.Errorf("HEAD during a hang: %v, want a client timeout", err)
	}
	// A short hang with no status answers normally afterwards.
	e.sim.SetFault(ServiceCartd, Fault{Delay: time.Millisecond})
	if resp, _ := do(t, http.MethodHead, e.cartd+"/x", "", nil); resp.StatusCode != http.StatusNotFound ||
		resp.Header.Get("X-Pacifica-Status") != "error" {
		t.Errorf("HEAD after a short hang: %s", resp.Status)
	}
}

// A notifications fault makes the metadata service's POST fail: the upload succeeds and the
// event is lost, as in Pacifica.
func TestFaultLosesEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	sub := newSubscriber(t, 0)
	e.subscribe(t, "alice", subBody("s", matchIngest, sub.url, ""))
	e.sim.SetFault(ServiceNotifications, Fault{Status: http.StatusInternalServerError, Count: 1})
	tx := e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "a.txt", body: "a"}))
	evs := e.sim.Events()
	if len(evs) != 1 || !evs[0].Lost || len(evs[0].Routed) != 0 || evs[0].ID != "metadata.ingest."+itoa(tx.ID) {
		t.Errorf("events %+v, want the ingest event lost", evs)
	}
	// The fault was for one request: the next upload's event is delivered.
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "b.txt", body: "b"}))
	ds, err := e.sim.WaitDeliveries(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].EventID == "metadata.ingest."+itoa(tx.ID) {
		t.Errorf("deliveries %+v, want only the second event", ds)
	}
}

func TestSetFaultUnknownService(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer func() {
		if recover() == nil {
			t.Error("SetFault of an unknown service did not panic")
		}
	}()
	s.SetFault("archive", Fault{Status: 500})
}

func TestCloseRemovesOwnDataDir(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.DataDir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data directory %s left behind: %v", dir, err)
	}
	given := t.TempDir()
	s, err = New(Config{DataDir: given})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(given); err != nil {
		t.Errorf("Close removed the data directory it was given: %v", err)
	}
}
