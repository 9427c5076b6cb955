package main

import (
	"net"
	"sync"
	"time"
)

// tcpProxy stands between the dispatcher's processes and PostgreSQL, so that the run can
// break the network without touching the server:
//   - cut closes every connection and refuses new ones (accepted, then reset at once),
//     as a host whose link went down and came back without its connections;
//   - partition keeps every connection open but forwards no byte either way, and lets
//     new connections in without reaching the server: clients hang until their own
//     timeouts, as when packets are dropped on the way. When it heals, what was held
//     goes through, as TCP would deliver it late.
type tcpProxy struct {
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

func newTCPProxy(target string) (*tcpProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// setCut closes every connection and refuses new ones (true), or accepts them again.
func (p *tcpProxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		p.closeAllLocked()
	}
}

// setPartition stops forwarding (true) or forwards again what was held and what comes.
func (p *tcpProxy) setPartition(on bool) {
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

// gate returns nil while bytes may flow, or a channel closed when they may again.
func (p *tcpProxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partitioned {
		return p.healed
	}
	return nil
}

// close stops the proxy and closes its connections.
func (p *tcpProxy) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	_ = p.ln.Close()
	p.closeAllLocked()
	p.mu.Unlock()
	p.setPartition(false)
	p.wg.Wait()
}

func (p *tcpProxy) closeAllLocked() {
	for c := range p.conns {
		_ = c.Close()
	}
}

// track registers c, unless the proxy is cut or closed.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *tcpProxy) accept() {
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
func (p *tcpProxy) pipe(dst, src net.Conn) {
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
