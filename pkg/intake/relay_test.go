package intake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// recordingBroker keeps the ids of the messages published, or refuses them all.
type recordingBroker struct {
	mu     sync.Mutex
	ids    []string
	refuse bool
}

func (b *recordingBroker) Publish(_ context.Context, _ string, m broker.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse {
		return errors.New("broker: connection refused")
	}
	b.ids = append(b.ids, m.ID)
	return nil
}

func (b *recordingBroker) published() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.ids...)
}

func relayIntake(t *testing.T, b *recordingBroker, publishTimeout time.Duration) (*Intake, *jobstore.Store) {
	t.Helper()
	store, err := jobstore.Open(context.Background(), jobstore.Config{URL: testsupport.Schema(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	in, err := New(Config{Routes: planner(t).cfg.Routes, Store: store, Broker: b, JobsQueue: "jobs", IntakeQueue: "intake",
		PublishTimeout: publishTimeout, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return in, store
}

// A receiver that died between the commit and the confirm left its new job recorded, marked
// unconfirmed: the relay leaves it to that publish for twice PUBLISH_TIMEOUT, then publishes it.
func TestRelayPublishesAJobLeftUnconfirmed(t *testing.T) {
	t.Parallel()
	b := &recordingBroker{}
	in, store := relayIntake(t, b, 200*time.Millisecond)
	ctx := context.Background()
	p := in.plan(sampleEvent(t), nil)
	rec, err := store.Record(ctx, p.event, p.jobs)
	if err != nil || len(rec) != 1 || rec[0].Job.State != jobstore.Queued {
		t.Fatalf("Record = %+v, %v", rec, err)
	}
	recorded := time.Now()
	if n := in.relayOnce(ctx, 10); n != 0 && time.Since(recorded) < in.unconfirmedFor() {
		t.Fatalf("the relay took a job whose publish may still be under way (%d)", n)
	}
	time.Sleep(time.Until(recorded.Add(in.unconfirmedFor() + 50*time.Millisecond)))
	if n := in.relayOnce(ctx, 10); n != 1 {
		t.Fatalf("the relay found %d jobs past their publish's time, want 1", n)
	}
	if got := b.published(); len(got) != 1 || got[0] != rec[0].Job.ID.String() {
		t.Fatalf("published %v, want the job %s", got, rec[0].Job.ID)
	}
	if left, err := store.Pending(ctx, 10, 0); err != nil || len(left) != 0 {
		t.Errorf("still pending after the relay: %v, %v", left, err)
	}
}

// A background publish that fails hands its job to the relay at once, not after the time a
// publish may take.
func TestFailedPublishGoesToTheRelayAtOnce(t *testing.T) {
	t.Parallel()
	b := &recordingBroker{refuse: true}
	in, store := relayIntake(t, b, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !in.running.Load() {
		time.Sleep(time.Millisecond)
	}
	r, err := in.Accept(ctx, sampleEvent(t))
	if err != nil || r.Durable != InStore || len(r.Jobs) != 1 {
		t.Fatalf("Accept = %+v, %v", r, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := store.Pending(ctx, 10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 1 && p[0].ID == r.Jobs[0].ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job whose publish failed is not the relay's: Pending = %v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	b.refuse = false
	b.mu.Unlock()
	if n := in.relayOnce(ctx, 10); n != 1 || len(b.published()) != 1 {
		t.Fatalf("relayed %d, published %v", n, b.published())
	}
}
