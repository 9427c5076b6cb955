package intake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// refusingStore is a job store that refuses (SQLSTATE 22021, as PostgreSQL does for a byte
// sequence it cannot hold) every write that holds the event id "bad". Its first group
// commit waits for release, so that the events sent meanwhile form one group.
type refusingStore struct {
	entered, release chan struct{}
	once             sync.Once

	mu     sync.Mutex
	groups [][]string
	stored map[string]bool
}

var errBadBytes = &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}

func (s *refusingStore) Record(_ context.Context, ev jobstore.NewEvent, jobs []jobstore.NewJob) ([]jobstore.Recorded, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.ID == "bad" {
		return nil, errBadBytes
	}
	s.stored[ev.ID] = true
	out := make([]jobstore.Recorded, len(jobs))
	for i, j := range jobs {
		out[i] = jobstore.Recorded{Job: jobstore.Job{ID: j.ID, Route: j.Route, State: j.State}, Created: true}
	}
	return out, nil
}

func (s *refusingStore) RecordMany(ctx context.Context, items []jobstore.Item) ([][]jobstore.Recorded, error) {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	s.mu.Lock()
	var ids []string
	bad := false
	for _, it := range items {
		ids = append(ids, it.Event.ID)
		bad = bad || it.Event.ID == "bad"
	}
	s.groups = append(s.groups, ids)
	s.mu.Unlock()
	if bad {
		return nil, fmt.Errorf("jobstore: record events: %w", errBadBytes)
	}
	out := make([][]jobstore.Recorded, len(items))
	for i, it := range items {
		r, _ := s.Record(ctx, it.Event, it.Jobs)
		out[i] = r
	}
	return out, nil
}

func (s *refusingStore) Pending(context.Context, int, time.Duration) ([]jobstore.Publication, error) {
	return nil, nil
}
func (s *refusingStore) MarkPublished(context.Context, []jobstore.Publication) error { return nil }
func (s *refusingStore) Unpublished(context.Context, []jobstore.Publication) error   { return nil }

type heldMessages struct {
	mu   sync.Mutex
	msgs []broker.Message
	keys []string
}

func (p *heldMessages) Publish(_ context.Context, key string, m broker.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys, p.msgs = append(p.keys, key), append(p.msgs, m)
	return nil
}

func withID(t *testing.T, id string) *event.Event {
	t.Helper()
	body := strings.Replace(string(sampleBody(t)), `"eventID": "C234-1234-1234"`, `"eventID": "`+id+`"`, 1)
	evs, err := event.Parse(http.Header{"Content-Type": {"application/json"}}, []byte(body))
	if err != nil || evs[0].ID() != id {
		t.Fatalf("event %s: %v", id, err)
	}
	return evs[0]
}

// One event whose data PostgreSQL refuses, in a group commit with others: the others are
// recorded all the same; the refused one is held in the broker (answered 202, not lost),
// and the recorder then dead-letters it instead of retrying it for ever.
func TestDataErrorDoesNotSpoilItsGroup(t *testing.T) {
	in := planner(t)
	store := &refusingStore{entered: make(chan struct{}), release: make(chan struct{}), stored: map[string]bool{}}
	pub := &heldMessages{}
	in.cfg.Store, in.cfg.Broker = store, pub
	in.cfg.JobsQueue, in.cfg.IntakeQueue = "jobs", "intake"
	in.cfg.Committers = 1
	if err := in.cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	in.publish = make(chan outgoing, in.cfg.PublishBuffer)
	in.commits = make(chan commitRequest, maxGroup)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.Run(ctx)
	for !in.running.Load() {
		time.Sleep(time.Millisecond)
	}

	ids := []string{"first", "good-1", "bad", "good-2", "good-3"}
	receipts := make(map[string]Receipt)
	var mu sync.Mutex
	var wg sync.WaitGroup
	accept := func(id string) {
		defer wg.Done()
		r, err := in.Accept(ctx, withID(t, id))
		if err != nil {
			t.Errorf("Accept %s: %v", id, err)
		}
		mu.Lock()
		receipts[id] = r
		mu.Unlock()
	}
	// The first event's commit waits; the others queue behind it and form the next group.
	wg.Add(1)
	go accept(ids[0])
	<-store.entered
	for _, id := range ids[1:] {
		wg.Add(1)
		go accept(id)
	}
	for len(in.commits) != len(ids)-1 {
		time.Sleep(time.Millisecond)
	}
	close(store.release)
	wg.Wait()

	store.mu.Lock()
	if len(store.groups) < 2 || len(store.groups[1]) != len(ids)-1 {
		store.mu.Unlock()
		t.Fatalf("group commits %v, want the four later events in one group", store.groups)
	}
	for _, id := range ids {
		want := InStore
		if id == "bad" {
			want = InBroker
		}
		if got := receipts[id].Durable; got != want {
			t.Errorf("%s held in %q, want %q", id, got, want)
		}
		if store.stored[id] != (id != "bad") {
			t.Errorf("%s stored: %v", id, store.stored[id])
		}
	}
	store.mu.Unlock()
	var held *broker.Message
	pub.mu.Lock()
	for i, k := range pub.keys {
		if k == "intake" {
			held = &pub.msgs[i]
		}
	}
	pub.mu.Unlock()
	if held == nil {
		t.Fatal("the refused event was not held in the intake queue")
	}
	d := broker.Delivery{Body: held.Body, MessageID: held.ID, ContentType: held.ContentType, Headers: held.Headers}
	if disp := in.recordHeld(ctx, d); disp != broker.Reject {
		t.Errorf("the recorder's disposition of an event the store refuses: %v, want Reject (dead-letter)", disp)
	}
}

func TestIsDataError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("wrapped: %w", errBadBytes), true},
		{&pgconn.PgError{Code: "54000"}, true},
		{&pgconn.PgError{Code: "40001"}, false}, // serialization failure: try again
		{&pgconn.PgError{Code: "57P01"}, false}, // admin shutdown
		{context.DeadlineExceeded, false},
		{errors.New("connection refused"), false},
	} {
		if got := jobstore.IsDataError(c.err); got != c.want {
			t.Errorf("IsDataError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
