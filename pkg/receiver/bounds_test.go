package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryBudget: a large reservation waits for room, small ones pass while large ones
// hold their share, an oversized one is cut so that it can run alone, and a waiter whose
// context ends gives up.
func TestMemoryBudget(t *testing.T) {
	t.Parallel()
	b := newMemoryBudget(64)
	ctx := context.Background()
	big, err := b.acquire(ctx, 1000) // cut to 48
	if err != nil || b.inUse() != 48 {
		t.Fatalf("acquire(1000): %v, in use %d, want 48", err, b.inUse())
	}
	// Small reservations use the quarter left.
	var smalls []func()
	for range 4 {
		r, err := b.acquire(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		smalls = append(smalls, r)
	}
	if b.inUse() != 64 {
		t.Fatalf("in use %d, want 64", b.inUse())
	}
	// Another large one waits until the first ends (16 small bytes and 32 fit in 48).
	got := make(chan error, 1)
	go func() {
		r, err := b.acquire(ctx, 32)
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a large reservation got in without room: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	big()
	big() // a second release is nothing
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	for _, r := range smalls {
		r()
	}
	if b.inUse() != 0 {
		t.Errorf("in use %d after every release", b.inUse())
	}
	// A waiter gives up with its context.
	hold, _ := b.acquire(ctx, 48)
	defer hold()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(cctx, 48); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire past its context: %v", err)
	}
}

// countingBody counts the bytes read from a request body.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

// TestBodyOverLimitNotRead: a body announced larger than the limit is answered 413 without
// reading it; one that turns out larger (chunked) is answered 413 having read at most the
// limit.
func TestBodyOverLimitNotRead(t *testing.T) {
	t.Parallel()
	rc, err := New(Config{Intake: &fakeIntake{}, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, chunked := range []bool{false, true} {
		body := &countingBody{r: strings.NewReader(strings.Repeat("x", 4<<20))}
		req := httptest.NewRequest(http.MethodPost, "/receive", nil)
		req.Body = body
		req.ContentLength = 4 << 20
		if chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "limit of 1048576 bytes") {
			t.Errorf("chunked %v: %d %s, want 413", chunked, rec.Code, rec.Body)
		}
		if max := int64(0); !chunked && body.n.Load() != max {
			t.Errorf("announced too large: %d bytes read, want none", body.n.Load())
		}
		if chunked && body.n.Load() > 1<<20+64<<10 {
			t.Errorf("chunked: %d bytes read, want at most about the limit", body.n.Load())
		}
	}
}

// TestBatchLimits: a batch of more events than the limit is answered 413 naming it, and
// nothing reaches the intake; a batch at the limit is accepted.
func TestBatchLimits(t *testing.T) {
	t.Parallel()
	batch := func(n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"specversion":"1.0","id":"e%d","source":"/s","type":"t"}`, i)
		}
		return b.String() + "]"
	}
	for _, tc := range []struct {
		n, code int
	}{{10, http.StatusAccepted}, {11, http.StatusRequestEntityTooLarge}} {
		fi := &fakeIntake{}
		rc, err := New(Config{Intake: fi, MaxBatchEvents: 10})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(batch(tc.n)))
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("batch of %d: %d %s, want %d", tc.n, rec.Code, rec.Body, tc.code)
		}
		if tc.code == http.StatusRequestEntityTooLarge {
			if !strings.Contains(rec.Body.String(), "the batch holds 11 events, more than the limit of 10") {
				t.Errorf("batch of 11: %s", rec.Body)
			}
			if len(fi.got) != 0 {
				t.Errorf("a refused batch reached the intake: %v", fi.got)
			}
		} else if len(fi.got) != tc.n {
			t.Errorf("batch of %d: the intake got %d", tc.n, len(fi.got))
		}
	}
}
