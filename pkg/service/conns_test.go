package service

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConnLimiter: at the cap, a new connection is served after the longest-idle
// keep-alive connection is closed, and silent new connections are closed once they have
// been silent longer than the grace; busy ones are never closed.
func TestConnLimiter(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	l := newConnLimiter(ln, 3, nil)
	l.newGrace = 50 * time.Millisecond
	srv := &http.Server{ConnState: l.track, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprint(w, "ok")
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	// get sends one keep-alive request on c and reads the answer.
	get := func(c net.Conn, path string) error {
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// One busy connection, and two idle keep-alive ones.
	busy := dial()
	go func() { _, _ = fmt.Fprint(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n") }()
	idle1, idle2 := dial(), dial()
	for _, c := range []net.Conn{idle1, idle2} {
		if err := get(c, "/"); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth connection is served: the oldest idle one made room.
	if err := get(dial(), "/healthz"); err != nil {
		t.Fatalf("a new connection at the cap: %v", err)
	}
	if err := get(idle1, "/"); err == nil {
		t.Error("the longest-idle connection is still open")
	}
	// Silent connections (no request) are closed once past the grace, never the busy one.
	silent := dial()
	time.Sleep(100 * time.Millisecond)
	for range 3 {
		if err := get(dial(), "/healthz"); err != nil {
			t.Fatalf("a new connection among silent ones: %v", err)
		}
	}
	_ = silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the silent connection is still open: %v", err)
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the busy connection was cut: %v", err)
	}
}
