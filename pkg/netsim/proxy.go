// Package netsim stands in for a network that fails: a TCP proxy in front of a service
// (PostgreSQL, RabbitMQ) that cuts or partitions the connections going through it, without
// touching the service. The tests (through pkg/testsupport) and make chaos use it.
package netsim

import (
	"net"
	"sync"
	"time"
)

// Proxy stands between clients and a service, so that a test or a chaos run can break the
// network without touching the service:
//   - cut closes every connection and refuses new ones (accepted, then reset at once),
//     as a host whose link went down and came back without its connections;
//   - partition keeps every connection open but forwards no byte either way, and lets
//     new connections in without reaching the server: clients hang until their own
//     timeouts, as when packets are dropped on the way. When it heals, what was held
//     goes through, as TCP would deliver it late.
type Proxy struct {
	target string
	ln     net.Listener

	mu          sync.Mutex
	cut         bool
	partitioned bool
	healed      chan struct{} // closed when a partition ends
	conns       map[net.Conn]struct{}
	closed      bool
	wg          sync.WaitGroup
}

// NewProxy starts a proxy to target (host:port) on 127.0.0.1; Close stops it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetCut closes every connection and refuses new ones (true), or accepts them again.
func (p *Proxy) SetCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		p.closeAllLocked()
	}
}

// SetPartition stops forwarding (true) or forwards again what was held and what comes.
func (p *Proxy) SetPartition(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case on && !p.partitioned:
		p.partitioned, p.healed = true, make(chan struct{})
	case !on && p.partitioned:
		p.partitioned = false
		close(p.healed)
	}
}

// Cut closes every connection and refuses new ones, until Restore.
func (p *Proxy) Cut() { p.SetCut(true) }

// Partition stops forwarding bytes on every connection, old and new, until Restore.
func (p *Proxy) Partition() { p.SetPartition(true) }

// Restore ends a cut and a partition: connections are accepted again, and what a partition
// held goes through.
func (p *Proxy) Restore() {
	p.SetCut(false)
	p.SetPartition(false)
}

// gate returns nil while bytes may flow, or a channel closed when they may again.
func (p *Proxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partitioned {
		return p.healed
	}
	return nil
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	_ = p.ln.Close()
	p.closeAllLocked()
	p.mu.Unlock()
	p.SetPartition(false)
	p.wg.Wait()
}

func (p *Proxy) closeAllLocked() {
	for c := range p.conns {
		_ = c.Close()
	}
}

// track registers c, unless the proxy is cut or closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, as a refused connection
			}
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			defer c.Close()
			// A new connection during a partition reaches nothing until it heals.
			if g := p.gate(); g != nil {
				<-g
			}
			up, err := net.DialTimeout("tcp", p.target, 10*time.Second)
			if err != nil {
				return
			}
			if !p.track(up) {
				_ = up.Close()
				return
			}
			defer p.untrack(up)
			defer up.Close()
			var pipes sync.WaitGroup
			pipes.Add(2)
			go func() { defer pipes.Done(); p.pipe(up, c) }()
			go func() { defer pipes.Done(); p.pipe(c, up) }()
			pipes.Wait()
		}()
	}
}

// pipe copies from src to dst, holding each chunk while the network is partitioned; it
// closes both ends when either fails.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if g := p.gate(); g != nil {
				<-g
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
