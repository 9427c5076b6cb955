package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// frontDoor stands in for a Kubernetes Service in front of receivers: it sends each request
// to one of the ready backends, as endpoints follow readiness probes (every probe period; a
// backend is ready after one 200 from /readyz and stops being ready after failThreshold
// failed probes in a row, as with a readiness probe's failureThreshold), and fails the
// connection when none is ready, as a Service without a ready endpoint does.
type frontDoor struct {
	t      *testing.T
	mu     sync.Mutex
	all    []string
	ready  []string
	fails  map[string]int
	next   int
	period time.Duration
	base   string
}

const failThreshold = 2

func startFrontDoor(t *testing.T, period time.Duration) *frontDoor {
	t.Helper()
	f := &frontDoor{t: t, period: period, fails: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.base = "http://" + ln.Addr().String()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			f.mu.Lock()
			var target string
			if len(f.ready) > 0 {
				target = f.ready[f.next%len(f.ready)]
				f.next++
			}
			f.mu.Unlock()
			if target == "" {
				target = "http://127.0.0.1:1" // nothing ready: the connection fails, as it would
			}
			u, _ := url.Parse(target)
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		ErrorLog: nil,
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		client := &http.Client{Timeout: time.Second}
		for {
			f.mu.Lock()
			all := append([]string(nil), f.all...)
			f.mu.Unlock()
			ok := map[string]bool{}
			for _, b := range all {
				resp, err := client.Get(b + "/readyz")
				if err == nil {
					resp.Body.Close()
					ok[b] = resp.StatusCode == http.StatusOK
				}
			}
			f.mu.Lock()
			var ready []string
			for _, b := range all {
				if ok[b] {
					f.fails[b] = 0
				} else {
					f.fails[b]++
				}
				was := slices.Contains(f.ready, b)
				if ok[b] || (was && f.fails[b] < failThreshold) {
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
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = srv.Close()
	})
	return f
}

func (f *frontDoor) add(base string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = append(f.all, base)
}

func (f *frontDoor) remove(base string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, b := range f.all {
		if b == base {
			f.all = append(f.all[:i], f.all[i+1:]...)
			return
		}
	}
}

func (f *frontDoor) isReady(base string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.ready {
		if b == base {
			return true
		}
	}
	return false
}

// peer is one more receiver process on the harness's database and broker.
type peer struct {
	base string
	stop context.CancelFunc
	done chan error
}

func startPeer(t *testing.T, cfg Config, name string) *peer {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("peer", name)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := New(ctx, cfg, Options{Logger: logger})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &peer{stop: cancel, done: make(chan error, 1)}
	go func() { p.done <- svc.Run(ctx) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr, err := svc.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	p.base = "http://" + addr.String()
	t.Cleanup(func() { p.stop(); <-p.done })
	return p
}

// shutdown sends the receiver its SIGTERM (its context ends) and waits until it stopped.
func (p *peer) shutdown(t *testing.T) {
	t.Helper()
	p.stop()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("receiver %s stopped with %v", p.base, err)
		}
		p.done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatalf("receiver %s did not stop", p.base)
	}
}

// Two receivers behind a Service take a stream of uploads while each of them is restarted in
// turn (SIGTERM: drain, stop; a new process takes its place), as a rolling update does.
// Notifications never sees a failed delivery, so the subscription is never disabled, and
// every upload has its job, once — with the watchdog and catch-up off, so that nothing else
// could have made up for a lost delivery.
func TestSubscriptionSurvivesRollingRestartUnderLoad(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	const probe = 100 * time.Millisecond
	h := startHarness(t, func(c *Config) {
		c.Role = RoleReceiver
		// Longer than the front door takes to notice: failThreshold probes, each up to 1 s
		// on a loaded machine (in Kubernetes: periodSeconds × failureThreshold, plus the
		// endpoints' propagation).
		c.DrainTimeout = 3 * time.Second
		c.SubscriptionCheckInterval = 0
		c.CatchUpInterval = 0
	})
	front := startFrontDoor(t, probe)
	a := &peer{base: h.base, stop: h.stop, done: h.done}
	b := startPeer(t, h.cfg, "b")
	front.add(a.base)
	front.add(b.base)
	eventually(t, 10*time.Second, "both receivers behind the front door", func() bool {
		return front.isReady(a.base) && front.isReady(b.base)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.client.Notifications.Reconcile(ctx, SubscriptionPlan(h.svc.routes, "dispatcher", front.base+"/receive", h.subscriptionAuth())); err != nil {
		t.Fatal(err)
	}

	// The load: uploads one after another from two uploaders until told to stop.
	var (
		mu      sync.Mutex
		sources []int64
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
				mu.Lock()
				sources = append(sources, src)
				mu.Unlock()
			}
		}()
	}
	uploaded := func() int { mu.Lock(); defer mu.Unlock(); return len(sources) }
	eventually(t, 30*time.Second, "uploads flowing", func() bool { return uploaded() >= 5 })

	// The rolling restart: each receiver in turn gets its SIGTERM; its replacement joins.
	current := []*peer{a, b}
	for i, old := range current {
		before := uploaded()
		old.shutdown(t)
		front.remove(old.base)
		repl := startPeer(t, h.cfg, fmt.Sprintf("replacement-%d", i))
		front.add(repl.base)
		eventually(t, 10*time.Second, "the replacement ready behind the front door", func() bool { return front.isReady(repl.base) })
		current[i] = repl
		eventually(t, 30*time.Second, "uploads during and after the restart", func() bool { return uploaded() >= before+5 })
	}
	stop.Store(true)
	wg.Wait()
	n := uploaded()
	dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer dcancel()
	deliveries, err := s.sim.WaitDeliveries(dctx, n)
	if err != nil {
		deliveries = s.sim.Deliveries()
		t.Errorf("%d uploads, %d deliveries: %v", n, len(deliveries), err)
	}
	for _, d := range deliveries {
		if d.Error != "" {
			t.Errorf("delivery of %s failed: %d %s", d.EventID, d.Status, d.Error)
		}
	}
	for _, sub := range s.sim.Subscriptions() {
		if !sub.Active() {
			t.Errorf("subscription %s disabled: %v", sub.Name, deref(sub.Error))
		}
	}
	last := &harness{t: t, base: current[1].base, cfg: h.cfg}
	mu.Lock()
	defer mu.Unlock()
	for _, src := range sources {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		last.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		if len(page.Jobs) != 1 {
			t.Errorf("upload %d has %d jobs, want 1", src, len(page.Jobs))
		}
	}
	t.Logf("%d uploads across two receiver restarts: %d deliveries, none failed", n, len(deliveries))
}

// A subscription disabled by hand (an operator's PUT, which also drops its credentials, as
// notifications' update does) comes back, with its credentials, within the watchdog's
// period; the uploads made while it was disabled were never delivered and are run by
// catch-up, once each.
func TestSubscriptionDisabledByHandComesBackAndCatchUpRunsTheMissed(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.SubscriptionCheckInterval = time.Second
		c.CatchUpInterval = 300 * time.Millisecond
		c.SubscriptionUser = "dispatcher"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan := SubscriptionPlan(h.svc.routes, "dispatcher", h.base+"/receive", h.subscriptionAuth())
	if _, err := s.client.Notifications.Reconcile(ctx, plan); err != nil {
		t.Fatal(err)
	}
	var sub pacificasim.Subscription
	for _, x := range s.sim.Subscriptions() {
		if x.Name == "proxymod" {
			sub = x
		}
	}
	// The operator's PUT: a disabled subscription, with the error they wrote.
	if _, err := s.client.Notifications.Update(ctx, "dispatcher", sub.UUID, map[string]any{
		"disabled": time.Now().UTC().Format("2006-01-02T15:04:05"), "error": "paused by hand"}); err != nil {
		t.Fatal(err)
	}
	// Uploads while it is disabled: notifications drops their events.
	var missed []int64
	for range 3 {
		missed = append(missed, s.upload(t, map[string]string{"loose_coupling": ""}, nil))
	}
	start := time.Now()
	eventually(t, 20*time.Second, "the subscription re-enabled with its credentials", func() bool {
		for _, x := range s.sim.Subscriptions() {
			if x.UUID == sub.UUID {
				return x.Active() && strings.Contains(string(x.Auth), h.cfg.ReceiverAuthPassword)
			}
		}
		return false
	})
	t.Logf("re-enabled %s after the uploads (check period %s)", time.Since(start).Round(time.Millisecond), h.cfg.SubscriptionCheckInterval)
	for _, src := range missed {
		j := h.jobOf(src, 60*time.Second)
		if j.State != "succeeded" {
			t.Errorf("the missed upload %d ended %s: %s", src, j.State, j.Error)
		}
		if n := len(s.results(src)); n != 1 {
			t.Errorf("%d results for the missed upload %d, want 1", n, src)
		}
	}
	t.Logf("caught up %d missed uploads %s after the first", len(missed), time.Since(start).Round(time.Millisecond))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
