package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

type fixture struct {
	b      *Broker
	proxy  *testsupport.Proxy
	queue  string
	dead   string
	direct string // the broker's own URL, for cleanup
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	raw := testsupport.BrokerURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testsupport.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	tok := testsupport.Token()
	f := &fixture{proxy: proxy, queue: "test." + tok + ".q", dead: "test." + tok + ".dead", direct: raw}
	b, err := New(Config{URL: u.String(), Exchange: "test." + tok, ReconnectMin: 20 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond, ConfirmTimeout: 5 * time.Second,
		Queues: []QueueSpec{{Name: f.queue, DeadLetter: f.dead}, {Name: f.dead}}})
	if err != nil {
		t.Fatal(err)
	}
	f.b = b
	t.Cleanup(func() {
		_ = b.Close()
		_ = testsupport.DeleteQueue(raw, f.queue)
		_ = testsupport.DeleteQueue(raw, f.dead)
		_ = testsupport.DeleteExchange(raw, "test."+tok)
	})
	waitFor(t, 10*time.Second, "connected", b.Connected)
	return f
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collect consumes queue until n distinct message ids arrived or the time is up.
func collect(t *testing.T, b *Broker, queue string, n int, within time.Duration) map[string]Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var mu sync.Mutex
	got := map[string]Delivery{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, ConsumeConfig{Queue: queue, Prefetch: 64}, func(_ context.Context, d Delivery) Disposition {
			mu.Lock()
			defer mu.Unlock()
			got[d.MessageID] = d
			if len(got) >= n {
				cancel()
			}
			return Ack
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestPublishConsumeRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	err := f.b.Publish(context.Background(), f.queue, Message{ID: "m1", Body: []byte(`{"a":1}`),
		ContentType: "application/json", Headers: map[string]any{"x-k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, f.b, f.queue, 1, 10*time.Second)
	d, ok := got["m1"]
	if !ok || string(d.Body) != `{"a":1}` || d.ContentType != "application/json" || d.Headers["x-k"] != "v" || d.Redelivered {
		t.Errorf("delivery = %+v", d)
	}
}

func TestConcurrentPublishesAllConfirmedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 1000
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.b.Publish(context.Background(), f.queue, Message{ID: fmt.Sprint(i), Body: []byte("x")}); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d publishes failed", failed.Load())
	}
	got := collect(t, f.b, f.queue, n, 30*time.Second)
	if len(got) != n {
		t.Errorf("consumed %d distinct messages, want %d", len(got), n)
	}
}

func TestRequeueAndReject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"requeue-me", "reject-me"} {
		if err := f.b.Publish(context.Background(), f.queue, Message{ID: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var redelivered atomic.Bool
	_ = f.b.Consume(ctx, ConsumeConfig{Queue: f.queue, Prefetch: 2}, func(_ context.Context, d Delivery) Disposition {
		switch {
		case d.MessageID == "reject-me":
			return Reject
		case !d.Redelivered:
			return Requeue
		}
		redelivered.Store(true)
		cancel()
		return Ack
	})
	if !redelivered.Load() {
		t.Error("a requeued message did not come back marked redelivered")
	}
	if got := collect(t, f.b, f.dead, 1, 10*time.Second); len(got) != 1 || got["reject-me"].MessageID != "reject-me" {
		t.Errorf("dead-letter queue got %v, want the rejected message", got)
	}
}

func TestPrefetchBoundsInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 20 {
		if err := f.b.Publish(context.Background(), f.queue, Message{ID: fmt.Sprint(i), Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var inFlight, peak, done atomic.Int64
	release := make(chan struct{})
	go func() {
		waitFor(t, 10*time.Second, "3 in flight", func() bool { return inFlight.Load() == 3 })
		time.Sleep(100 * time.Millisecond) // a fourth would have arrived by now if prefetch allowed it
		close(release)
	}()
	_ = f.b.Consume(ctx, ConsumeConfig{Queue: f.queue, Prefetch: 3, Workers: 10}, func(_ context.Context, d Delivery) Disposition {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		if done.Add(1) == 20 {
			cancel()
		}
		return Ack
	})
	if peak.Load() != 3 || done.Load() != 20 {
		t.Errorf("peak in flight %d (want 3), handled %d (want 20)", peak.Load(), done.Load())
	}
}

func TestReconnectAfterCut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[string]bool{}
	go func() {
		_ = f.b.Consume(ctx, ConsumeConfig{Queue: f.queue, Prefetch: 10}, func(_ context.Context, d Delivery) Disposition {
			mu.Lock()
			got[d.MessageID] = true
			mu.Unlock()
			return Ack
		})
	}()
	if err := f.b.Publish(context.Background(), f.queue, Message{ID: "before"}); err != nil {
		t.Fatal(err)
	}
	f.proxy.Cut()
	waitFor(t, 10*time.Second, "disconnected", func() bool { return !f.b.Connected() })

	// While cut, a publish waits, then fails with ErrUnavailable.
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := f.b.Publish(short, f.queue, Message{ID: "lost"})
	cancelShort()
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("publish while cut = %v, want ErrUnavailable", err)
	}
	if err := f.b.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping while cut = %v", err)
	}
	// A publish that outlives the cut succeeds once the connection is back.
	result := make(chan error, 1)
	go func() { result <- f.b.Publish(context.Background(), f.queue, Message{ID: "after"}) }()
	time.Sleep(50 * time.Millisecond)
	f.proxy.Restore()
	if err := <-result; err != nil {
		t.Fatalf("publish across the reconnect: %v", err)
	}
	waitFor(t, 15*time.Second, "the consumer resumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got["before"] && got["after"]
	})
}

func TestUnroutableIsAnErrorAndTopologyComesBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.b.Publish(context.Background(), "no-such-queue", Message{ID: "x"}); err == nil {
		t.Error("publish to a queue outside the topology succeeded")
	}
	// Someone deletes our queue behind our back: the publish must fail, not vanish, and
	// the broker must declare its topology again.
	if err := testsupport.DeleteQueue(f.direct, f.queue); err != nil {
		t.Fatal(err)
	}
	err := f.b.Publish(context.Background(), f.queue, Message{ID: "returned"})
	if err == nil {
		t.Fatal("a message to a deleted queue was reported published")
	}
	waitFor(t, 15*time.Second, "queue declared again", func() bool {
		return f.b.Publish(context.Background(), f.queue, Message{ID: "again"}) == nil
	})
	if got := collect(t, f.b, f.queue, 1, 10*time.Second); !got["again"].Redelivered && got["again"].MessageID != "again" {
		t.Errorf("after re-declaring, got %v", got)
	}
}

func TestCloseStopsReconnecting(t *testing.T) {
	t.Parallel()
	raw := testsupport.BrokerURL(t)
	tok := testsupport.Token()
	b, err := New(Config{URL: raw, Exchange: "test." + tok, Queues: []QueueSpec{{Name: "test." + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = testsupport.DeleteQueue(raw, "test."+tok)
		_ = testsupport.DeleteExchange(raw, "test."+tok)
	})
	waitFor(t, 10*time.Second, "connected", b.Connected)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Connected() {
		t.Error("connected after Close")
	}
	if err := b.Publish(context.Background(), "test."+tok, Message{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("publish after Close = %v, want ErrUnavailable", err)
	}
}

func BenchmarkPublishConfirmed(b *testing.B) {
	raw := testsupport.BrokerURL(b)
	tok := testsupport.Token()
	q := "bench." + tok
	br, err := New(Config{URL: raw, Exchange: q, Queues: []QueueSpec{{Name: q}}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = br.Close(); _ = testsupport.DeleteQueue(raw, q); _ = testsupport.DeleteExchange(raw, q) }()
	deadline := time.Now().Add(10 * time.Second)
	for !br.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	body := make([]byte, 200)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := br.Publish(context.Background(), q, Message{Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "confirmed/s")
}
