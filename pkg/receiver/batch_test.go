package receiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/intake"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// pairIntake accepts an event only while another is being accepted too (as the intake's
// group commit wants them), or fails when its context ends first.
type pairIntake struct {
	mu       sync.Mutex
	inFlight int
	pair     chan struct{}
	never    bool // never pairs: every Accept waits for its context
}

func (p *pairIntake) Accept(ctx context.Context, ev *event.Event) (intake.Receipt, error) {
	p.mu.Lock()
	p.inFlight++
	if p.inFlight == 2 && !p.never {
		close(p.pair)
	}
	p.mu.Unlock()
	select {
	case <-p.pair:
		return intake.Receipt{EventID: ev.ID(), Source: ev.Source(), Durable: intake.InStore,
			Jobs: []intake.JobRef{{ID: uuid.New(), State: jobstore.Unrouted}}}, nil
	case <-ctx.Done():
		return intake.Receipt{}, ctx.Err()
	}
}

func batch(n int) string {
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

func postBatch(t *testing.T, rc *Receiver, n int) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/receive", strings.NewReader(batch(n)))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	return rec
}

// The events of a batch are made durable concurrently, so that a big batch shares the
// group commits instead of queueing one event after the other (40000 events took more
// than the 30 s limit and were answered 503 "both unavailable").
func TestBatchEventsAcceptedConcurrently(t *testing.T) {
	t.Parallel()
	rc, err := New(Config{Intake: &pairIntake{pair: make(chan struct{})}, AcceptTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rec := postBatch(t, rc, 10); rec.Code != http.StatusAccepted || strings.Count(rec.Body.String(), `"event_id"`) != 10 {
		t.Errorf("batch: %d %.300s, want 202 with 10 answers", rec.Code, rec.Body)
	}
}

// A batch that cannot be stored within the time limit is answered 503 saying so, with
// how many were stored, not that the stores are unavailable.
func TestBatchOutOfTimeSaysSo(t *testing.T) {
	t.Parallel()
	rc, err := New(Config{Intake: &pairIntake{pair: make(chan struct{}), never: true}, AcceptTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := postBatch(t, rc, 100)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), "could not all be stored within 100ms (0 of 100 stored)") {
		t.Errorf("answered %d %s", rec.Code, rec.Body)
	}
}
