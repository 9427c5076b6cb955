package pacificasim

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0",
			Notifications: "127.0.0.1:0", Metadata: "127.0.0.1:0"})
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	a, err := s.Addrs(wctx)
	if err != nil {
		t.Fatal(err)
	}
	u := a.URLs()
	tests := []struct {
		name, url string
		want      int
	}{
		{"cartd", u.Cartd + "/", http.StatusOK},
		{"ingest", u.Ingest + "/get_state?job_id=1", http.StatusNotFound},
		{"notifications", u.Notifications + "/eventmatch", http.StatusForbidden},
		{"metadata", u.Metadata + "/transactions", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, http.MethodGet, tc.url, "", nil)
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s: %s %s, want %d", tc.url, resp.Status, b, tc.want)
			}
		})
	}
	if err := s.Serve(ctx, Addrs{Cartd: "127.0.0.1:0"}); err == nil {
		t.Error("a second Serve succeeded")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(u.Cartd + "/"); err == nil {
		t.Error("cartd still answers after Serve returned")
	}
}

func TestServeBusyPort(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Serve(ctx, Addrs{Cartd: "127.0.0.1:0"}) }()
	a, err := s.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Serve(ctx, Addrs{Metadata: a.Cartd}); err == nil {
		t.Error("Serve on a busy port succeeded")
	}
}
