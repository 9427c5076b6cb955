package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// result is one measured line.
type result struct {
	what        string
	concurrency int
	n           int64
	elapsed     time.Duration
	lat         []time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) pct(p float64) string {
	if len(r.lat) == 0 {
		return "-"
	}
	slices.Sort(r.lat)
	i := int(p * float64(len(r.lat)-1))
	return r.lat[i].Round(10 * time.Microsecond).String()
}

func benchIntake(ctx context.Context, out io.Writer, dbURL, mqURL string, d time.Duration, levels []int) error {
	schema := "bench_" + devenv.Token()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", devenv.Redact(dbURL), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") }()
	schemaURL := devenv.WithSearchPath(dbURL, schema)

	sample, err := devenv.ReadSample()
	if err != nil {
		return err
	}
	var results []result

	// The raw limit: single-row inserts of a row like an event's, one statement each.
	pool, err := pgxpool.New(ctx, schemaURL+"&pool_max_conns=64")
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_insert (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
		source text, event_id text, body bytea, received_at timestamptz DEFAULT now())`); err != nil {
		pool.Close()
		return err
	}
	for _, c := range levels {
		var seq atomic.Int64
		r := load(ctx, c, d, func(ctx context.Context) error {
			_, err := pool.Exec(ctx, `INSERT INTO raw_insert (source, event_id, body) VALUES ($1, $2, $3)`,
				"/bench", fmt.Sprint(seq.Add(1)), sample)
			return err
		})
		r.what = "PostgreSQL raw single-row INSERT"
		results = append(results, r)
	}
	pool.Close()

	// The raw limit of RabbitMQ: confirmed persistent publishes to a quorum queue.
	if r, err := rawPublish(ctx, mqURL, d, levels); err != nil {
		return err
	} else {
		results = append(results, r...)
	}

	// The dispatcher: POST /receive of distinct sample events, answered once durable.
	prefix := "bench." + devenv.Token()
	cfg, err := service.Load()
	if err != nil {
		return err
	}
	cfg.DatabaseURL, cfg.BrokerURL, cfg.ListenAddr, cfg.Role = schemaURL, mqURL, "127.0.0.1:0", service.RoleReceiver
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = prefix, prefix
	cfg.DBMaxConns = 32
	sctx, stop := context.WithCancel(ctx)
	svc, err := service.New(sctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		stop()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	defer func() {
		stop()
		<-done
		devenv.DeleteQueues(mqURL, prefix)
	}()
	addr, err := svc.Addr(ctx)
	if err != nil {
		return err
	}
	base := "http://" + addr.String()
	if err := devenv.WaitReady(ctx, base); err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	var seq atomic.Int64
	var bodyMu sync.Mutex
	for _, c := range levels {
		r := load(ctx, c, d, func(ctx context.Context) error {
			bodyMu.Lock()
			doc["eventID"] = fmt.Sprintf("bench-%d", seq.Add(1))
			body, _ := json.Marshal(doc)
			bodyMu.Unlock()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/receive", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("POST /receive answered %d", resp.StatusCode)
			}
			return nil
		})
		r.what = "dispatcher durable intake (POST /receive, 202)"
		results = append(results, r)
	}

	fmt.Fprintf(out, "\nIntake benchmark — %s, %d CPUs, %s per measurement, sample event of %d bytes\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), d, len(sample))
	fmt.Fprintf(out, "PostgreSQL %s, RabbitMQ %s (quorum queues, persistent messages, publisher confirms)\n\n", devenv.Redact(dbURL), devenv.Redact(mqURL))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\tconcurrency\tops\tops/s\tp50\tp99\tvs raw insert\t")
	raw := map[int]float64{}
	for _, r := range results {
		if r.what == "PostgreSQL raw single-row INSERT" {
			raw[r.concurrency] = r.rate()
		}
	}
	for _, r := range results {
		ratio := "-"
		if r.what == "dispatcher durable intake (POST /receive, 202)" && raw[r.concurrency] > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.rate()/raw[r.concurrency])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t\n", r.what, r.concurrency, r.n, r.rate(), r.pct(0.50), r.pct(0.99), ratio)
	}
	tw.Flush()
	fmt.Fprintln(out, "\nEach intake answer means the event and its job are committed in PostgreSQL (jobs are then published to RabbitMQ in the background).")
	return nil
}

// load runs op from c goroutines for d and records each call's latency. The first error
// stops the measurement.
func load(ctx context.Context, c int, d time.Duration, op func(context.Context) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		lats []time.Duration
		n    atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := op(ctx); err != nil {
					if ctx.Err() == nil {
						fmt.Fprintln(os.Stderr, "error:", err)
						cancel()
					}
					break
				}
				local = append(local, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{concurrency: c, n: n.Load(), elapsed: time.Since(start), lat: lats}
}

func rawPublish(ctx context.Context, mqURL string, d time.Duration, levels []int) ([]result, error) {
	conn, err := amqp.Dial(mqURL)
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ at %s: %w", devenv.Redact(mqURL), err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	q := "bench.raw." + devenv.Token()
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return nil, err
	}
	defer func() { _, _ = ch.QueueDelete(q, false, false, false) }()
	if err := ch.Confirm(false); err != nil {
		return nil, err
	}
	body := make([]byte, 100)
	var out []result
	for _, c := range levels {
		r := load(ctx, c, d, func(ctx context.Context) error {
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false,
				amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent})
			if err != nil {
				return err
			}
			ok, err := dc.WaitContext(ctx)
			if err == nil && !ok {
				err = fmt.Errorf("nack")
			}
			return err
		})
		r.what = "RabbitMQ raw confirmed publish"
		out = append(out, r)
		if _, err := ch.QueuePurge(q, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}
