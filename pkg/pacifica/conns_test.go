package pacifica

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// The workers' jobs talk to one host at once: the client keeps their connections for the
// next requests instead of closing all but two (net/http's default) and opening new ones.
func TestHTTPClientKeepsConnectionsOfConcurrentJobs(t *testing.T) {
	const jobs = 8
	var (
		opened  atomic.Int32
		mu      sync.Mutex
		waiting int
		release = make(chan struct{})
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Answer once all the round's requests are in: they are at once, on jobs connections.
		mu.Lock()
		waiting++
		if waiting == jobs {
			waiting = 0
			close(release)
			release = make(chan struct{})
		}
		ch := release
		if waiting == 0 {
			ch = nil
		}
		mu.Unlock()
		if ch != nil {
			<-ch
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc, err := Config{CABundle: "True"}.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodHead, srv.URL, nil)
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		if n := opened.Load(); n != jobs {
			t.Fatalf("after round %d of %d requests at once: %d connections opened, want %d", round+1, jobs, n, jobs)
		}
	}
}
