package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// result is one measured load: how many operations c goroutines completed in elapsed, and
// the latency of each.
type result struct {
	concurrency int
	n           int64
	elapsed     time.Duration
	lat         []time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// rawPublishBytes is the body of each raw RabbitMQ publish, about a job message's size.
const rawPublishBytes = 100

// intakeDBConns is DB_MAX_CONNS of the benchmark's receiver.
const intakeDBConns = 32

// intakeFigures are the results of the intake part: raw PostgreSQL inserts, raw RabbitMQ
// confirmed publishes and the dispatcher's durable intake, at each concurrency, and the
// receiver process's memory at the end.
type intakeFigures struct {
	duration              time.Duration
	insert, publish, take []result
	insertPG              []time.Duration // PostgreSQL's CPU time during each raw INSERT run
	takeCPU               []time.Duration // the receiver's CPU time during each intake run
	takeShare             []cpuShare      // the services', the benchmark's and the machine's during each
	takeStatements        []float64       // statements the receiver sent PostgreSQL during each
	takeRoundTrips        []float64
	receiver              memStatus
}

// measureIntake measures, one after another, raw single-row inserts, raw confirmed
// publishes and POST /receive on a receiver running as a child process, each for d at each
// concurrency, in a private schema and private queues that it removes.
func measureIntake(ctx context.Context, env *benchEnv, d time.Duration, levels []int) (intakeFigures, error) {
	f := intakeFigures{duration: d}
	schema, drop, err := privateSchema(ctx, env.dbURL)
	if err != nil {
		return f, err
	}
	defer drop()
	schemaURL := dsn.WithSearchPath(env.dbURL, schema)

	// The raw limit: single-row inserts of a row like an event's, one statement each.
	pool, err := pgxpool.New(ctx, schemaURL+"&pool_max_conns=64")
	if err != nil {
		return f, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_insert (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
		source text, event_id text, body bytea, received_at timestamptz DEFAULT now())`); err != nil {
		pool.Close()
		return f, err
	}
	for _, c := range levels {
		var seq atomic.Int64
		share0, err := readCPUShare()
		if err != nil {
			pool.Close()
			return f, err
		}
		r, err := load(ctx, c, d, func(ctx context.Context) error {
			_, err := pool.Exec(ctx, `INSERT INTO raw_insert (source, event_id, body) VALUES ($1, $2, $3)`,
				"/bench", strconv.FormatInt(seq.Add(1), 10), env.sample)
			return err
		})
		if err != nil {
			pool.Close()
			return f, fmt.Errorf("raw INSERT: %w", err)
		}
		share1, err := readCPUShare()
		if err != nil {
			pool.Close()
			return f, err
		}
		f.insert = append(f.insert, r)
		f.insertPG = append(f.insertPG, share1.sub(share0).postgres)
	}
	pool.Close()

	if f.publish, err = rawPublish(ctx, env.mqURL, env.queueType, d, levels); err != nil {
		return f, err
	}

	// The dispatcher: POST /receive of distinct sample events, answered once durable.
	prefix := "bench." + dsn.Token()
	defer devenv.DeleteQueues(env.mqURL, prefix)
	proc, err := startDispatcher(ctx, env.dispatcher, dispatcherEnv(env.dbURL, env.mqURL, schema, prefix, env.queueType,
		filepath.Join(env.tmp, "receiver"), "ROLE=receiver", "DB_MAX_CONNS="+strconv.Itoa(intakeDBConns)))
	if err != nil {
		return f, err
	}
	defer proc.Stop()
	next, err := eventBodies(env.sample)
	if err != nil {
		return f, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	for _, c := range levels {
		cpu0, err := proc.CPU()
		if err != nil {
			return f, err
		}
		share0, err := readCPUShare()
		if err != nil {
			return f, err
		}
		st0, rt0, err := traffic(client, proc.base)
		if err != nil {
			return f, err
		}
		r, err := load(ctx, c, d, func(ctx context.Context) error {
			resp, err := proc.post(ctx, client, next())
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
		if err != nil {
			return f, fmt.Errorf("intake: %w", err)
		}
		cpu1, err := proc.CPU()
		if err != nil {
			return f, err
		}
		share1, err := readCPUShare()
		if err != nil {
			return f, err
		}
		st1, rt1, err := traffic(client, proc.base)
		if err != nil {
			return f, err
		}
		f.take = append(f.take, r)
		f.takeCPU = append(f.takeCPU, cpu1.sub(cpu0).Self)
		f.takeShare = append(f.takeShare, share1.sub(share0))
		f.takeStatements = append(f.takeStatements, st1-st0)
		f.takeRoundTrips = append(f.takeRoundTrips, rt1-rt0)
	}
	if f.receiver, err = proc.Memory(); err != nil {
		return f, err
	}
	return f, proc.Stop()
}

// traffic reads the statements and round trips a dispatcher has sent PostgreSQL.
func traffic(client *http.Client, base string) (statements, roundTrips float64, err error) {
	if statements, err = scrapeCounter(client, base, "dispatcher_jobstore_statements_total"); err != nil {
		return 0, 0, err
	}
	roundTrips, err = scrapeCounter(client, base, "dispatcher_jobstore_round_trips_total")
	return statements, roundTrips, err
}

// eventBodies returns a function that gives the sample event with a new event id at each
// call (distinct events, so that none is a duplicate), cheaply: the JSON is built once.
func eventBodies(sample []byte) (func() []byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		return nil, fmt.Errorf("the sample event: %w", err)
	}
	const mark = "@@bench-event-id@@"
	doc["eventID"] = mark
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	head, tail, ok := bytes.Cut(b, []byte(mark))
	if !ok {
		return nil, fmt.Errorf("the sample event: no place for the event id")
	}
	run := dsn.Token()
	var seq atomic.Int64
	return func() []byte {
		id := "bench-" + run + "-" + strconv.FormatInt(seq.Add(1), 10)
		out := make([]byte, 0, len(head)+len(id)+len(tail))
		return append(append(append(out, head...), id...), tail...)
	}, nil
}

// rows adds the intake part's rows to t.
func (f intakeFigures) rows(t *table, queueType string, sampleBytes int) {
	raw := map[int]float64{}
	for i, r := range f.insert {
		raw[r.concurrency] = r.rate()
		t.add("PostgreSQL raw single-row INSERT", fmt.Sprintf("concurrency %d, %s, %d B bytea row", r.concurrency, f.duration, sampleBytes),
			fmtRate(r.rate(), "rows"), fmtLatency(r.lat, .50), fmtLatency(r.lat, .95), fmtLatency(r.lat, .99),
			fmt.Sprintf("%d rows; PostgreSQL CPU %s/row", r.n, fmtDuration(f.insertPG[i]/time.Duration(max(r.n, 1)))))
	}
	for _, r := range f.publish {
		t.add("RabbitMQ raw confirmed publish", fmt.Sprintf("concurrency %d, %s, %s queue, %d B persistent", r.concurrency, f.duration, queueType, rawPublishBytes),
			fmtRate(r.rate(), "msgs"), fmtLatency(r.lat, .50), fmtLatency(r.lat, .95), fmtLatency(r.lat, .99),
			fmt.Sprintf("%d msgs on one channel", r.n))
	}
	for i, r := range f.take {
		ratio := "-"
		if raw[r.concurrency] > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.rate()/raw[r.concurrency])
		}
		cpu := "?"
		if r.n > 0 {
			cpu = fmtDuration(f.takeCPU[i] / time.Duration(r.n))
		}
		t.add("durable intake POST /receive -> 202", fmt.Sprintf("concurrency %d, %s, %d B event, 1 job", r.concurrency, f.duration, sampleBytes),
			fmtRate(r.rate(), "events"), fmtLatency(r.lat, .50), fmtLatency(r.lat, .95), fmtLatency(r.lat, .99),
			fmt.Sprintf("intake/raw INSERT %s; dispatcher CPU %s/event; %d events", ratio, cpu, r.n))
		if r.n > 0 {
			sh, n := f.takeShare[i], time.Duration(r.n)
			t.add("  where intake's time goes", fmt.Sprintf("concurrency %d, per event", r.concurrency),
				fmt.Sprintf("%.1f stmts", f.takeStatements[i]/float64(r.n)), "", "", "",
				fmt.Sprintf("%.2f round trips to PostgreSQL; CPU: receiver %s, PostgreSQL %s, RabbitMQ %s, load generator %s; machine busy %.0f%% of %d CPUs",
					f.takeRoundTrips[i]/float64(r.n), fmtDuration(f.takeCPU[i]/n), fmtDuration(sh.postgres/n),
					fmtDuration(sh.rabbitmq/n), fmtDuration(sh.bench/n),
					100*sh.busy.Seconds()/(r.elapsed.Seconds()*float64(runtime.NumCPU())), runtime.NumCPU()))
		}
	}
	t.add("dispatcher peak RSS, receiver", "serve ROLE=receiver (child), all intake runs",
		fmtMiB(f.receiver.Peak), "", "", "", fmt.Sprintf("VmHWM; RSS at the end %s; DB_MAX_CONNS=%d", fmtMiB(f.receiver.RSS), intakeDBConns))
}

// load runs op from c goroutines for d and records each call's latency. The first error
// stops the measurement and is returned.
func load(ctx context.Context, c int, d time.Duration, op func(context.Context) error) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu       sync.Mutex
		lats     []time.Duration
		n        atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
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
						errOnce.Do(func() { firstErr = err })
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
	return result{concurrency: c, n: n.Load(), elapsed: time.Since(start), lat: lats}, firstErr
}

// rawPublish measures confirmed persistent publishes to a private queue of queueType, on one
// channel shared by the publishers, purging the queue between levels and deleting it at
// the end.
func rawPublish(ctx context.Context, mqURL, queueType string, d time.Duration, levels []int) ([]result, error) {
	conn, err := amqp.Dial(mqURL)
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ at %s: %w", dsn.Redact(mqURL), err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	q := "bench.raw." + dsn.Token()
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": queueType}); err != nil {
		return nil, err
	}
	defer func() { _, _ = ch.QueueDelete(q, false, false, false) }()
	if err := ch.Confirm(false); err != nil {
		return nil, err
	}
	body := make([]byte, rawPublishBytes)
	var out []result
	for _, c := range levels {
		r, err := load(ctx, c, d, func(ctx context.Context) error {
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
		if err != nil {
			return nil, fmt.Errorf("raw publish: %w", err)
		}
		out = append(out, r)
		if _, err := ch.QueuePurge(q, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// serverVersions asks PostgreSQL and RabbitMQ their versions (for the header).
func serverVersions(ctx context.Context, dbURL, mqURL string) (pg, mq string) {
	pg, mq = "?", "?"
	if c, err := pgx.Connect(ctx, dbURL); err == nil {
		_ = c.QueryRow(ctx, "SHOW server_version").Scan(&pg)
		c.Close(ctx)
	}
	if c, err := amqp.Dial(mqURL); err == nil {
		if v, ok := c.Properties["version"].(string); ok {
			mq = v
		}
		c.Close()
	}
	return pg, mq
}
