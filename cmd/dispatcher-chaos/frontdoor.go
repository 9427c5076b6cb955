package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"
)

// frontDoorHeader marks the front door's own answers (502 when it could not reach a
// receiver), so that they are told from the receivers'.
const frontDoorHeader = "Chaos-Front-Door"

// frontDoor stands in for a Kubernetes Service in front of the receivers: it sends each
// request to one of the ready receivers in turn, and follows their /readyz as endpoints
// follow readiness probes: every period, a receiver becomes ready after one 200 and
// leaves after failThreshold failed probes in a row (a readiness probe's
// failureThreshold). With no ready receiver, or when the chosen one does not answer, the
// request gets a 502, as through a Service the connection would fail.
type frontDoor struct {
	period        time.Duration
	failThreshold int
	srv           *http.Server
	base          string

	mu       sync.Mutex
	backends []string // base URLs
	ready    []string
	fails    map[string]int
	next     int

	stop context.CancelFunc
	done chan struct{}
}

func startFrontDoor(backends []string, period time.Duration, failThreshold int) (*frontDoor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &frontDoor{period: period, failThreshold: failThreshold, backends: backends, fails: map[string]int{},
		base: "http://" + ln.Addr().String(), done: make(chan struct{})}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target := f.pick()
			if target == "" {
				target = "http://127.0.0.1:1" // nothing ready: the connection fails
			}
			u, _ := url.Parse(target)
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set(frontDoorHeader, "no answer from a receiver")
			http.Error(w, "front door: "+err.Error(), http.StatusBadGateway)
		},
	}
	f.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	go f.probe(ctx)
	return f, nil
}

func (f *frontDoor) pick() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ready) == 0 {
		return ""
	}
	f.next++
	return f.ready[f.next%len(f.ready)]
}

func (f *frontDoor) probe(ctx context.Context) {
	defer close(f.done)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(f.period)
	defer tick.Stop()
	for {
		f.mu.Lock()
		all := slices.Clone(f.backends)
		f.mu.Unlock()
		// Every backend at once: one that hangs delays no other's probe.
		ok := make([]bool, len(all))
		var wg sync.WaitGroup
		for i, b := range all {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(b + "/readyz")
				if err == nil {
					resp.Body.Close()
					ok[i] = resp.StatusCode == http.StatusOK
				}
			}()
		}
		wg.Wait()
		f.mu.Lock()
		var ready []string
		for i, b := range all {
			if ok[i] {
				f.fails[b] = 0
			} else {
				f.fails[b]++
			}
			if ok[i] || (slices.Contains(f.ready, b) && f.fails[b] < f.failThreshold) {
				ready = append(ready, b)
			}
		}
		f.ready = ready
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// isReady reports whether the front door sends requests to backend.
func (f *frontDoor) isReady(backend string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.ready, backend)
}

// waitReady waits until the front door sends to backend, or limit.
func (f *frontDoor) waitReady(backend string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(f.period / 2) {
		if f.isReady(backend) {
			return true
		}
	}
	return false
}

// removalTime is the longest a backend that stopped being ready keeps getting requests
// from a front door probing every period: failThreshold probes, each up to its one-second
// timeout, one period apart.
func removalTime(period time.Duration, failThreshold int) time.Duration {
	return time.Duration(failThreshold) * (period + time.Second)
}

func (f *frontDoor) close() {
	f.stop()
	<-f.done
	_ = f.srv.Close()
}
