package service

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// DEBUG_LISTEN_ADDR serves Go's profiler on a listener of its own, with a warning in the
// access summary logged at start; the main listener never serves it, and without the
// setting no second listener is opened.
func TestDebugListener(t *testing.T) {
	for _, on := range []bool{true, false} {
		h := startHarness(t, func(c *Config) {
			if on {
				c.DebugListenAddr = "127.0.0.1:0"
			}
		})
		if code := h.get("/debug/pprof/", nil); code != http.StatusNotFound {
			t.Errorf("profiler on %v: the main listener answers /debug/pprof/ %d, want 404", on, code)
		}
		lines, warn := h.cfg.AccessSummary()
		warned := false
		for i, l := range lines {
			if warn[i] && strings.Contains(l, "DEBUG_LISTEN_ADDR") {
				warned = true
			}
		}
		if warned != on {
			t.Errorf("profiler on %v: warning at start %v (%q)", on, warned, lines)
		}
		if !on {
			if h.svc.debugAddr != nil {
				t.Errorf("DEBUG_LISTEN_ADDR unset, yet a profiler listens on %s", h.svc.debugAddr)
			}
			continue
		}
		if h.svc.debugAddr == nil || h.svc.debugAddr.String() == h.base[len("http://"):] {
			t.Fatalf("DEBUG_LISTEN_ADDR set: profiler address %v (main %s)", h.svc.debugAddr, h.base)
		}
		base := "http://" + h.svc.debugAddr.String()
		resp, err := http.Get(base + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
			t.Errorf("GET /debug/pprof/ on DEBUG_LISTEN_ADDR: %d %.200s", resp.StatusCode, body)
		}
		resp, err = http.Get(base + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
			t.Errorf("GET /debug/pprof/heap: %d %.200s", resp.StatusCode, body)
		}
		resp, err = http.Get(base + "/jobs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the profiler's listener serves the API: GET /jobs %d", resp.StatusCode)
		}
	}
}

// A DEBUG_LISTEN_ADDR that is not host:port stops the start, naming the variable.
func TestDebugListenAddrValidated(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	c.DebugListenAddr = "6060"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "DEBUG_LISTEN_ADDR") {
		t.Errorf("Validate with DEBUG_LISTEN_ADDR=6060: %v", err)
	}
}
