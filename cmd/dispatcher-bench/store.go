package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// The store part: the same operations on an empty job store and on one that holds many
// finished jobs with their events and attempts, as a site's store does after months (the
// default retention keeps 30 days of them). Each read of the status API is timed one at a
// time (its latency, not the machine's concurrency); intake and claim rates are measured
// the same way on both stores, so their ratio is the store size's cost.

// storeFigures are the store part's measurements.
type storeFigures struct {
	size     int
	fill     time.Duration
	tableMiB float64
	duration time.Duration
	// rounds[0] are the empty store's, rounds[1] the full store's: the same claims and
	// intake, interleaved (storeRounds rounds, from a checkpoint each, the stores' order
	// alternating), so that what the machine does meanwhile weighs on both alike.
	rounds [2][]storeRound
	reads  []storeRead
}

// storeRound is one round of a store: claims (concurrency storeClaimConc), then intake
// (concurrency storeIntakeConc), and the WAL PostgreSQL wrote during each: after a
// checkpoint, the first change of a page writes the whole page (a full-page image).
type storeRound struct {
	claim, intake       result
	claimWAL, intakeWAL walUse
}

type storeRead struct {
	name, conditions string
	lat              []time.Duration
}

const (
	storeIntakeConc = 16
	storeClaimConc  = 8
	storeClaimJobs  = 4000
	storeReads      = 200
	storeRounds     = 3
)

func measureStore(ctx context.Context, env *benchEnv, size int, d time.Duration, progress func(string, ...any)) (storeFigures, error) {
	f := storeFigures{size: size, duration: d}
	prefix := "bench." + dsn.Token()
	defer devenv.DeleteQueues(env.mqURL, prefix)
	bodies, err := eventBodies(env.sample)
	if err != nil {
		return f, err
	}
	// Two job stores, each in a schema of its own: one empty, one filled.
	type side struct {
		store    *jobstore.Store
		url      string
		childEnv []string
	}
	var sides [2]side
	for i := range sides {
		schema, drop, err := privateSchema(ctx, env.dbURL)
		if err != nil {
			return f, err
		}
		defer drop()
		sd := &sides[i]
		sd.url = dsn.WithSearchPath(env.dbURL, schema)
		if sd.store, err = jobstore.Open(ctx, jobstore.Config{URL: sd.url, MaxConns: 16}); err != nil {
			return f, err
		}
		defer sd.store.Close()
		if err := sd.store.Migrate(ctx); err != nil {
			return f, err
		}
		sd.childEnv = dispatcherEnv(env.dbURL, env.mqURL, schema, prefix+"."+strconv.Itoa(i), env.queueType, env.tmp,
			"ROLE=receiver", "DB_MAX_CONNS=16", "SUBSCRIPTION_CHECK_INTERVAL=0", "CATCHUP_INTERVAL=0", "RETENTION=0s")
	}
	intake := func(sd side) (result, error) {
		p, err := startDispatcher(ctx, env.dispatcher, sd.childEnv)
		if err != nil {
			return result{}, err
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: storeIntakeConc}}
		r, err := load(ctx, storeIntakeConc, d, func(ctx context.Context) error {
			resp, err := p.post(ctx, client, bodies())
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("POST /receive: %s", resp.Status)
			}
			return nil
		})
		if serr := p.Stop(); err == nil {
			err = serr
		}
		return r, err
	}

	progress("store: filling one with %d finished jobs, their events and attempts", size)
	t0 := time.Now()
	if err := fillStore(ctx, sides[1].url, size, env.sample); err != nil {
		return f, err
	}
	f.fill = time.Since(t0)
	conn, err := pgx.Connect(ctx, sides[1].url)
	if err != nil {
		return f, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var bytes int64
	if err := conn.QueryRow(ctx, `SELECT pg_total_relation_size('jobs') + pg_total_relation_size('events') + pg_total_relation_size('job_attempts')`).Scan(&bytes); err != nil {
		return f, err
	}
	f.tableMiB = float64(bytes) / (1 << 20)

	for round := range storeRounds {
		order := []int{0, 1}
		if round%2 == 1 {
			order = []int{1, 0}
		}
		progress("store: round %d of %d: claims and intake on the %s store, then the %s one", round+1, storeRounds,
			[]string{"empty", "full"}[order[0]], []string{"empty", "full"}[order[1]])
		if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
			return f, err
		}
		for _, i := range order {
			var r storeRound
			ids, err := recordClaims(ctx, sides[i].store, fmt.Sprintf("%d-%d", i, round))
			if err != nil {
				return f, err
			}
			w0, err := readWAL(ctx, conn)
			if err != nil {
				return f, err
			}
			if r.claim, err = measureClaims(ctx, sides[i].store, ids); err != nil {
				return f, err
			}
			w1, err := readWAL(ctx, conn)
			if err != nil {
				return f, err
			}
			if r.intake, err = intake(sides[i]); err != nil {
				return f, err
			}
			w2, err := readWAL(ctx, conn)
			if err != nil {
				return f, err
			}
			r.claimWAL, r.intakeWAL = w1.sub(w0), w2.sub(w1)
			f.rounds[i] = append(f.rounds[i], r)
		}
	}

	progress("store: the status API's reads, %d of each, one at a time", storeReads)
	p, err := startDispatcher(ctx, env.dispatcher, sides[1].childEnv)
	if err != nil {
		return f, err
	}
	defer p.Stop()
	f.reads, err = measureReads(ctx, conn, sides[1].store, p.base)
	return f, err
}

// walUse is the WAL written: bytes, and full-page images.
type walUse struct{ bytes, fpi int64 }

func (w walUse) sub(o walUse) walUse { return walUse{bytes: w.bytes - o.bytes, fpi: w.fpi - o.fpi} }

// per is the WAL per operation, as a note.
func (w walUse) per(n int64) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("WAL %.1f KiB and %.2f full-page images per op", float64(w.bytes)/1024/float64(n), float64(w.fpi)/float64(n))
}

// readWAL reads the cluster's WAL position and pg_stat_wal's full-page images (the benchmark
// is alone on the machine's PostgreSQL). Backends report their statistics about once a
// second: it waits for them first.
func readWAL(ctx context.Context, conn *pgx.Conn) (walUse, error) {
	time.Sleep(1500 * time.Millisecond)
	var w walUse
	err := conn.QueryRow(ctx, `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, (SELECT wal_fpi FROM pg_stat_wal)`).Scan(&w.bytes, &w.fpi)
	return w, err
}

// recordClaims records storeClaimJobs queued jobs to claim, as the intake would.
func recordClaims(ctx context.Context, store *jobstore.Store, tag string) (chan uuid.UUID, error) {
	ids := make(chan uuid.UUID, storeClaimJobs)
	run := dsn.Token()
	for from := 0; from < storeClaimJobs; from += 500 {
		var items []jobstore.Item
		for i := from; i < min(from+500, storeClaimJobs); i++ {
			id := fmt.Sprintf("claim-%s-%s-%d", tag, run, i)
			items = append(items, jobstore.Item{
				Event: jobstore.NewEvent{Source: "bench", ID: id, Type: "bench", TimeText: "x",
					Body: []byte(`{}`), ContentType: "application/json", ReceivedAt: time.Now()},
				Jobs: []jobstore.NewJob{{ID: jobstore.JobID("bench", id, "bench"), Route: "bench", State: jobstore.Queued, MaxAttempts: 5}}})
		}
		recs, err := store.RecordMany(ctx, items)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			ids <- rec[0].Job.ID
		}
	}
	close(ids)
	return ids, nil
}

// measureClaims claims and finishes the recorded jobs from storeClaimConc goroutines, as
// workers do (Claim, then Finish succeeded).
func measureClaims(ctx context.Context, store *jobstore.Store, ids chan uuid.UUID) (result, error) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		n    atomic.Int64
		wg   sync.WaitGroup
		ferr error
	)
	start := time.Now()
	for w := range storeClaimConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("bench-worker-%d", w)
			var local []time.Duration
			for id := range ids {
				t0 := time.Now()
				if _, err := store.Claim(ctx, id, owner, time.Minute); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				if _, err := store.Finish(ctx, id, owner, jobstore.Outcome{State: jobstore.Succeeded}); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
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
	return result{concurrency: storeClaimConc, n: n.Load(), elapsed: time.Since(start), lat: lats}, ferr
}

// fillStore inserts size finished jobs, one event and one attempt each, in batches: routes
// and states in the proportions of a busy site (most jobs succeeded proxymod runs; script
// jobs, failures, cancellations and unrouted events among them), received over the last 25
// days, each event the sample's stored body, each job a log tail and details.
func fillStore(ctx context.Context, dbURL string, size int, sample []byte) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The sample event as the intake stores a Pacifica event (its body, as it came), for
	// every filled event.
	body, ctype := sample, event.StoredPacifica
	const batch = 50_000
	for from := 0; from < size; from += batch {
		to := min(from+batch, size)
		_, err := conn.Exec(ctx, `
WITH g AS (
	SELECT i,
		gen_random_uuid() AS ekey,
		gen_random_uuid() AS jid,
		now() - (i::float8 / $1::float8) * interval '25 days' AS at,
		CASE WHEN i % 20 < 12 THEN 'proxymod' WHEN i % 20 < 16 THEN 'script.summary'
		     WHEN i % 20 < 18 THEN 'script.plots' ELSE '' END AS route,
		CASE WHEN i % 20 >= 18 THEN 'unrouted' WHEN i % 50 = 7 THEN 'failed' WHEN i % 97 = 5 THEN 'cancelled'
		     ELSE 'succeeded' END AS state
	FROM generate_series($2::int, $3::int - 1) AS i
), ev AS (
	INSERT INTO events (key, source, event_id, type, time, time_text, body, content_type, received_at)
	SELECT ekey, 'http://metadata.example/events', 'metadata.ingest.' || i, 'org.pacifica.metadata.ingest',
		at, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS'), $4, $5, at FROM g
), jb AS (
	INSERT INTO jobs (id, event_key, route, state, attempts, max_attempts, received_at, updated_at, started_at,
		finished_at, next_attempt_at, published, error, transaction_id, logs, details)
	SELECT jid, ekey, route, state, CASE WHEN state = 'unrouted' THEN 0 ELSE 1 END, 25, at, at + interval '40 s',
		CASE WHEN state = 'unrouted' THEN NULL ELSE at + interval '1 s' END, at + interval '40 s', at, true,
		CASE WHEN state = 'failed' THEN 'model exited with status 1: Traceback (most recent call last) ...' ELSE '' END,
		CASE WHEN state = 'succeeded' THEN 1000000 + i ELSE NULL END,
		CASE WHEN state = 'unrouted' THEN '' ELSE repeat('2026-11-01T10:00:00Z downloaded 5 files, ran 3 models, uploaded 95 files' || chr(10), 12) END,
		CASE WHEN state = 'succeeded' THEN jsonb_build_object('files', 95, 'outputs', jsonb_build_array('outputs')) ELSE NULL END
	FROM g
	RETURNING id, state, started_at, finished_at
)
INSERT INTO job_attempts (job_id, n, owner, started_at, finished_at, outcome, error)
SELECT id, 1, 'worker-1', started_at, finished_at, state, '' FROM jb WHERE state <> 'unrouted'`,
			size, from, to, body, ctype)
		if err != nil {
			return fmt.Errorf("fill jobs %d to %d: %w", from, to, err)
		}
	}
	// A site's months-old rows were vacuumed (and frozen) long ago, and checkpointed: without
	// this, autovacuum's first pass over the freshly loaded tables and the checkpoint of the
	// fill's WAL would run during the full store's measurements and be counted as its cost.
	if _, err := conn.Exec(ctx, `VACUUM (FREEZE, ANALYZE) events`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `VACUUM (FREEZE, ANALYZE) jobs`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `VACUUM (FREEZE, ANALYZE) job_attempts`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CHECKPOINT`)
	return err
}

// measureReads times each read of the status API storeReads times, one request at a time.
func measureReads(ctx context.Context, conn *pgx.Conn, store *jobstore.Store, base string) ([]storeRead, error) {
	var (
		someIDs  []string
		someEvts []string
		scriptID string
	)
	rows, err := conn.Query(ctx, `SELECT j.id::text, e.event_id FROM jobs j TABLESAMPLE SYSTEM (1) JOIN events e ON e.key = j.event_key LIMIT $1`, storeReads)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, ev string
		if err := rows.Scan(&id, &ev); err != nil {
			return nil, err
		}
		someIDs, someEvts = append(someIDs, id), append(someEvts, ev)
	}
	rows.Close()
	if err := conn.QueryRow(ctx, `SELECT id::text FROM jobs WHERE route = 'script.summary' LIMIT 1`).Scan(&scriptID); err != nil {
		return nil, err
	}
	if len(someIDs) == 0 {
		return nil, fmt.Errorf("no job sampled")
	}
	// A cursor in the middle of the listing, and one near its end: paging deep.
	cursorAt := func(offset int) (string, error) {
		var at time.Time
		var id uuid.UUID
		err := conn.QueryRow(ctx, `SELECT received_at, id FROM jobs ORDER BY received_at DESC, id DESC OFFSET $1 LIMIT 1`, offset).Scan(&at, &id)
		return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id.String())), err
	}
	var total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM jobs`).Scan(&total); err != nil {
		return nil, err
	}
	middle, err := cursorAt(total / 2)
	if err != nil {
		return nil, err
	}
	deep, err := cursorAt(total - 100)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	type read struct {
		name, cond string
		path       func(i int) string
	}
	q := url.QueryEscape
	reads := []read{
		{"GET /jobs", "no filter, first page of 50", func(int) string { return "/jobs" }},
		{"GET /jobs", "state=failed", func(int) string { return "/jobs?state=failed" }},
		{"GET /jobs", "state=queued (few among many)", func(int) string { return "/jobs?state=queued" }},
		{"GET /jobs", "route=script.plots", func(int) string { return "/jobs?route=script.plots" }},
		{"GET /jobs", "state=cancelled&route=script.summary", func(int) string { return "/jobs?state=cancelled&route=script.summary" }},
		{"GET /jobs", "event_id=<one of them>", func(i int) string { return "/jobs?event_id=" + q(someEvts[i%len(someEvts)]) }},
		{"GET /jobs", "limit=1000 (the largest page)", func(int) string { return "/jobs?limit=1000" }},
		{"GET /jobs", "cursor in the middle", func(int) string { return "/jobs?cursor=" + middle }},
		{"GET /jobs", "cursor 100 jobs from the end", func(int) string { return "/jobs?cursor=" + deep }},
		{"GET /jobs", "state=failed, cursor in the middle", func(int) string { return "/jobs?state=failed&cursor=" + middle }},
		{"GET /scriptlog", "first page", func(int) string { return "/scriptlog" }},
		{"GET /scriptlog/{id}", "a script job", func(int) string { return "/scriptlog/" + scriptID }},
		{"GET /jobs/{id}", "a sampled job", func(i int) string { return "/jobs/" + someIDs[i%len(someIDs)] }},
		{"GET /status/{id}", "a sampled job (compatible API)", func(i int) string { return "/status/" + someIDs[i%len(someIDs)] }},
		{"GET / (compatible list)", "first page", func(int) string { return "/" }},
		{"GET /metrics", "cached counts (10 s)", func(int) string { return "/metrics" }},
	}
	var out []storeRead
	for _, r := range reads {
		if err := get(r.path(0)); err != nil { // warm: plans, connections
			return nil, err
		}
		lat := make([]time.Duration, 0, storeReads)
		for i := range storeReads {
			t0 := time.Now()
			if err := get(r.path(i)); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t0))
		}
		out = append(out, storeRead{name: r.name, conditions: r.cond, lat: lat})
	}
	// The gauge's source, without the metrics cache: what a scrape costs every 10 s.
	lat := make([]time.Duration, 0, storeReads)
	for range storeReads {
		t0 := time.Now()
		if _, err := store.Counts(ctx); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	out = append(out, storeRead{name: "dispatcher_jobs source", conditions: "jobstore Counts, uncached", lat: lat})
	return out, nil
}

// rows adds the store part's rows to t.
func (f storeFigures) rows(t *table) {
	size := fmtCount(f.size)
	t.add("store: filled", fmt.Sprintf("%s finished jobs + events + attempts", size),
		fmt.Sprintf("%.0f MiB", f.tableMiB), "", "", "", fmt.Sprintf("filled in %s (bulk INSERT … SELECT)", f.fill.Round(time.Second)))
	for _, r := range f.reads {
		p99 := percentile(r.lat, .99)
		verdict := "p99 under 50 ms"
		if p99 >= 50*time.Millisecond {
			verdict = "p99 OVER 50 ms"
		}
		t.add("store "+size+": "+r.name, r.conditions, "", fmtLatency(r.lat, .50), fmtLatency(r.lat, .95), fmtLatency(r.lat, .99),
			fmt.Sprintf("%d requests, one at a time; %s", len(r.lat), verdict))
	}
	for _, kind := range []string{"intake POST /receive", "claim + finish"} {
		var med [2]float64
		for i, name := range []string{"empty", size} {
			var rates []float64
			var lat []time.Duration
			var wal walUse
			var n int64
			for _, r := range f.rounds[i] {
				res, w := r.intake, r.intakeWAL
				if kind != "intake POST /receive" {
					res, w = r.claim, r.claimWAL
				}
				rates, lat, n = append(rates, res.rate()), append(lat, res.lat...), n+res.n
				wal.bytes, wal.fpi = wal.bytes+w.bytes, wal.fpi+w.fpi
			}
			if len(rates) == 0 {
				continue
			}
			sorted := slices.Sorted(slices.Values(rates))
			med[i] = sorted[len(sorted)/2]
			cond := fmt.Sprintf("concurrency %d, %s, %d rounds", storeIntakeConc, f.duration, len(rates))
			unit := "events"
			if kind != "intake POST /receive" {
				cond, unit = fmt.Sprintf("concurrency %d, Claim then Finish, %d jobs, %d rounds", storeClaimConc, storeClaimJobs, len(rates)), "jobs"
			}
			var each []string
			for _, r := range rates {
				each = append(each, fmt.Sprintf("%.0f", r))
			}
			note := "median of the rounds (in order: " + strings.Join(each, ", ") + "; the full store first after the checkpoint in round 2); " + wal.per(n)
			if i == 1 && med[0] > 0 {
				note = fmt.Sprintf("%.0f%% of the empty store's; ", 100*med[1]/med[0]) + note
			}
			t.add("store "+name+": "+kind, cond, fmtRate(med[i], unit), fmtLatency(lat, .50), fmtLatency(lat, .95), fmtLatency(lat, .99), note)
		}
	}
}

// fmtCount writes 1000000 as 1M and 250000 as 250k.
func fmtCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
