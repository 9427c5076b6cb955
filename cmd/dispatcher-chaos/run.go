package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// chaosRun runs everything and prints the report; it reports whether every expectation
// held.
func chaosRun(ctx context.Context, o options, dir string, out io.Writer) (bool, error) {
	t0 := time.Now()
	var outMu sync.Mutex
	logf := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, "  %6.1fs  %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
	svc, err := findServices()
	if err != nil {
		return false, err
	}
	tok := dsn.Token()
	schema, prefix := "chaos_"+tok, "chaos."+tok
	if err := checkServices(ctx, o.dbURL, o.mqURL, schema); err != nil {
		return false, err
	}
	// Whatever happens from here on, PostgreSQL and RabbitMQ are running at the end (this
	// runs after the processes are stopped), then the schema and queues are removed.
	defer func() {
		for _, d := range svc.restore() {
			fmt.Fprintln(out, "restored:", d)
		}
		dropSchema(o.dbURL, schema)
		devenv.DeleteQueues(o.mqURL, prefix)
	}()

	bin := o.dispatcher
	if bin == "" {
		if bin, err = buildDispatcher(dir); err != nil {
			return false, err
		}
	}
	st, err := startSite(ctx, dir)
	if err != nil {
		return false, err
	}
	defer st.stop()

	dups := int(float64(o.events) * o.duplicates)
	distinct := o.events - dups
	if distinct < 1 {
		distinct, dups = 1, o.events-1
	}
	fmt.Fprintf(out, "chaos run: %d deliveries (%d distinct events, %d re-sent), %d senders at %s; %s jobs\n",
		o.events, distinct, dups, o.concurrency, rateText(o.rate), o.route)
	events, err := buildEvents(ctx, st, o, dir, distinct, tok)
	if err != nil {
		return false, err
	}

	env, err := childEnv(o, dir, bin, schema, prefix, st)
	if err != nil {
		return false, err
	}
	snd := devenv.NewSender()
	env = append(env, snd.Env()...)
	fl := newFleet(bin, dir, env, logf)
	defer fl.stopAll(15 * time.Second)
	recv, err := fl.start("receiver", "receiver", "")
	if err != nil {
		return false, err
	}
	for i := 1; i <= o.workers; i++ {
		if _, err := fl.start(fmt.Sprintf("worker-%d", i), "worker", ""); err != nil {
			return false, err
		}
	}
	if err := fl.waitReady(ctx, devenv.WaitReady); err != nil {
		return false, err
	}
	base := "http://" + recv.addr
	fmt.Fprintf(out, "dispatcher: receiver %s and %d workers (WORKER_CONCURRENCY=%d, JOB_LEASE=%s), schema %s, queues %s.*\n",
		base, o.workers, o.workerConc, o.lease, schema, prefix)
	fmt.Fprintf(out, "simulated Pacifica: cartd %s, ingest %s\n", st.urls.Cartd, st.urls.Ingest)

	plan := plan(events, dups, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)))
	c := &chaos{svc: svc, fl: fl, sim: st.sim, gap: o.gap, hold: o.hold, log: logf}
	sendStart := time.Now()
	logf("sending %d deliveries", len(plan))
	var outcomes []outcome
	var sendEnd time.Time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		outcomes = newSender(base+"/receive", snd, o.concurrency, o.rate).run(ctx, plan)
		sendEnd = time.Now()
		logf("all %d deliveries answered", len(outcomes))
	}()
	if !o.noFaults {
		c.play(ctx)
		logf("faults done")
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false, fmt.Errorf("interrupted")
	}

	expected := map[string]bool{}
	for _, oc := range outcomes {
		for _, id := range oc.jobs {
			expected[id] = true
		}
	}
	jobs, settled := settle(ctx, base, expected, time.Now().Add(o.settle), func(s string) { logf("%s", s) })
	settleTime := time.Since(sendEnd)
	logf("settled: %v (%s after the last answer)", settled, settleTime.Round(100*time.Millisecond))
	// A worker that lost its lease may still be uploading: wait for such stragglers
	// before counting the uploads.
	pause(ctx, 2*o.lease+2*time.Second)
	uploads := uploadsByJob(st.sim)

	r := tally(outcomes, jobs, uploads, c)
	r.settled, r.settleTime, r.sendTime, r.total = settled, settleTime, sendEnd.Sub(sendStart), time.Since(t0)
	r.unexpected = fl.unexpectedExits()
	r.faultErrs = c.errs
	r.print(out, base, t0)
	return r.verdict(out, o), nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "full speed"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + "/s"
}

// buildEvents uploads the sources and returns the distinct events: each a source's
// ingest event under its own eventID, hence its own job.
func buildEvents(ctx context.Context, st *site, o options, dir string, distinct int, tok string) ([][]byte, error) {
	var sample []byte
	if o.route == "proxymod" {
		var err error
		if sample, err = devenv.ReadSample(); err != nil {
			return nil, err
		}
	}
	srcEvents := make([][]byte, o.sources)
	for i := range srcEvents {
		sdir := filepath.Join(dir, "sources", strconv.Itoa(i))
		var ev []byte
		var err error
		if o.route == "proxymod" {
			_, ev, err = st.uploadProxymodSource(ctx, sdir, sample)
		} else {
			_, ev, err = st.uploadScriptSource(ctx, sdir, i)
		}
		if err != nil {
			return nil, err
		}
		srcEvents[i] = ev
	}
	events := make([][]byte, distinct)
	for i := range events {
		ev, err := withEventID(srcEvents[i%len(srcEvents)], fmt.Sprintf("chaos.%s.%d", tok, i))
		if err != nil {
			return nil, err
		}
		events[i] = ev
	}
	return events, nil
}

// childEnv is the configuration of every dispatcher process: a clean environment with
// the private schema and queues, short leases and backoff, the simulated Pacifica, and
// the script directory.
func childEnv(o options, dir, bin, schema, prefix string, st *site) ([]string, error) {
	scripts := filepath.Join(dir, "scripts.d")
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		return nil, err
	}
	if o.route == "script" {
		if err := os.WriteFile(filepath.Join(scripts, "list-files"), []byte(chaosScript), 0o755); err != nil {
			return nil, err
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"DATABASE_URL=" + dsn.WithSearchPath(o.dbURL, schema), "BROKER_URL=" + o.mqURL,
		"BROKER_EXCHANGE=" + prefix, "BROKER_QUEUE_PREFIX=" + prefix, "DB_MAX_CONNS=8",
		"JOB_LEASE=" + o.lease.String(), "JOB_BACKOFF_BASE=200ms", "JOB_BACKOFF_MAX=2s", "JOB_MAX_ATTEMPTS=20",
		"WORKER_CONCURRENCY=" + strconv.Itoa(o.workerConc), "SHUTDOWN_TIMEOUT=5s", "DRAIN_TIMEOUT=2s", "RELAY_INTERVAL=500ms",
		"LOG_FORMAT=text", "LOG_LEVEL=info",
		"UPLOAD_URL=" + st.urls.Ingest + "/upload", "UPLOAD_STATUS_URL=" + st.urls.Ingest + "/get_state",
		"DOWNLOAD_URL=" + st.urls.Cartd, "NOTIFICATIONS_URL=http://127.0.0.1:1", "METADATA_URL=" + st.urls.Metadata,
		"PACIFICA_REQUEST_TIMEOUT=5s", "CART_TIMEOUT=60s", "INGEST_TIMEOUT=60s",
		"SCRIPT_DIR=" + scripts, "DISPATCHER_K8S_CONFIG=" + filepath.Join(dir, "no-config.ini"), "SCRIPT_TIMEOUT=60s",
	}
	if o.route == "proxymod" {
		python, err := exec.LookPath(devenv.EnvOr("PROXYMOD_PYTHON", "python3"))
		if err != nil {
			return nil, fmt.Errorf("proxymod jobs need python3: %w", err)
		}
		standIn, err := filepath.Abs(filepath.Join("testdata", "proxymod", "python"))
		if err != nil {
			return nil, err
		}
		env = append(env, "PROXYMOD_PYTHON="+python, "PROXYMOD_ENV=PYTHONPATH="+standIn+",PROXYMOD_SLEEP_SCALE=0")
	}
	return env, nil
}

// checkServices waits up to a minute for PostgreSQL and RabbitMQ to answer (another run
// may have just restarted them) and creates the private schema.
func checkServices(ctx context.Context, dbURL, mqURL, schema string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := tryServices(ctx, dbURL, mqURL, schema)
		if err == nil || time.Now().After(deadline) || !pause(ctx, time.Second) {
			return err
		}
	}
}

func tryServices(ctx context.Context, dbURL, mqURL, schema string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dbURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s: %w", dsn.Redact(dbURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	mq, err := amqp.DialConfig(mqURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return fmt.Errorf("RabbitMQ is not reachable at %s: %w", dsn.Redact(mqURL), err)
	}
	_ = mq.Close()
	if _, err := conn.Exec(cctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

func dropSchema(dbURL, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
}
