package netsim

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, r *bufio.Reader, msg string, wait time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	return line, err
}

// What the run's faults rely on: a cut closes the open connection and refuses new ones
// until restored; a partition answers nothing (the client times out) yet keeps the
// connection, and what was sent meanwhile arrives once it heals.
func TestProxyCutAndPartition(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, "one", 10*time.Second); err != nil || got != "one\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.SetCut(true)
	if _, err := roundTrip(c, r, "two", 10*time.Second); err == nil {
		t.Error("a connection open before the cut still answers")
	}
	c.Close()
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		if _, err := roundTrip(c2, bufio.NewReader(c2), "three", 10*time.Second); err == nil {
			t.Error("a new connection during the cut answers")
		}
		c2.Close()
	}
	p.SetCut(false)

	c, err = net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r = bufio.NewReader(c)
	if got, err := roundTrip(c, r, "four", 10*time.Second); err != nil || got != "four\n" {
		t.Fatalf("after the cut: %q, %v", got, err)
	}

	p.SetPartition(true)
	_, err = roundTrip(c, r, "five", 300*time.Millisecond)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("during the partition: %v, want a timeout", err)
	}
	p.SetPartition(false)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "five\n" {
		t.Fatalf("after the partition, the held line: %q, %v", got, err)
	}
}
