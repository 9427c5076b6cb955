package service

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimiter is the HTTP server's listener with a cap on open connections. At the cap it
// makes room before accepting another: it closes the connection idle the longest (a
// keep-alive connection between requests), else one opened more than newGrace ago that has
// not sent a request yet; when every connection is busy with a request it waits for one to
// end, and new connections wait in the kernel's backlog. So a flood of idle connections
// cannot exhaust the process's file descriptors, and /healthz and /receive keep answering.
type connLimiter struct {
	net.Listener
	max      int
	newGrace time.Duration
	open     prometheus.Gauge
	evicted  prometheus.Counter

	mu     sync.Mutex
	cond   *sync.Cond
	conns  map[net.Conn]connEntry
	closed bool
}

type connEntry struct {
	state http.ConnState
	since time.Time
}

// newGrace is how long a new connection may stay silent before it counts as idle.
const newGrace = time.Second

func newConnLimiter(ln net.Listener, maxConns int, reg prometheus.Registerer) *connLimiter {
	if maxConns <= 0 {
		maxConns = 1000
	}
	l := &connLimiter{Listener: ln, max: maxConns, newGrace: newGrace, conns: map[net.Conn]connEntry{},
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_http_connections",
			Help: "HTTP connections open.",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_http_connections_evicted_total",
			Help: "Idle HTTP connections closed to make room for new ones (MAX_CONNECTIONS).",
		}),
	}
	l.cond = sync.NewCond(&l.mu)
	if reg != nil {
		reg.MustRegister(l.open, l.evicted)
	}
	return l
}

// Accept waits for room under the cap, then accepts a connection.
func (l *connLimiter) Accept() (net.Conn, error) {
	l.mu.Lock()
	for !l.closed && len(l.conns) >= l.max {
		if !l.evictLocked() {
			l.cond.Wait()
		}
	}
	l.mu.Unlock()
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = connEntry{state: http.StateNew, since: time.Now()}
	l.open.Set(float64(len(l.conns)))
	l.mu.Unlock()
	return c, nil
}

// evictLocked closes the connection idle the longest, or a silent new one; false when
// every connection is busy.
func (l *connLimiter) evictLocked() bool {
	var (
		victim net.Conn
		best   connEntry
		now    = time.Now()
	)
	for c, e := range l.conns {
		idle := e.state == http.StateIdle || (e.state == http.StateNew && now.Sub(e.since) >= l.newGrace)
		if !idle {
			continue
		}
		// Idle keep-alive connections go before silent new ones, then the oldest first.
		if victim == nil || (e.state == http.StateIdle && best.state != http.StateIdle) ||
			(e.state == best.state && e.since.Before(best.since)) {
			victim, best = c, e
		}
	}
	if victim == nil {
		return false
	}
	delete(l.conns, victim)
	l.open.Set(float64(len(l.conns)))
	l.evicted.Inc()
	_ = victim.Close()
	return true
}

// track is the server's ConnState hook.
func (l *connLimiter) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		if _, ok := l.conns[c]; ok {
			delete(l.conns, c)
			l.open.Set(float64(len(l.conns)))
		}
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = connEntry{state: s, since: time.Now()}
		}
	}
	// A connection closed, or one became idle and can be evicted.
	l.cond.Broadcast()
}

// Close closes the listener and releases a waiting Accept.
func (l *connLimiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}
