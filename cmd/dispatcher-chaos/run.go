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
	"strings"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// The front door's readiness probes: every probePeriod; a receiver leaves after
// probeFailures failed probes in a row.
const (
	probePeriod   = 200 * time.Millisecond
	probeFailures = 2
	// catchUpMargin is the receivers' CATCHUP_MARGIN: short, so that catch-up does not
	// take in the sources of the direct events, uploaded before the receivers started.
	catchUpMargin = 2 * time.Second
	checkInterval = 2 * time.Second
)

// chaosRun runs everything in dir and prints the report; it returns what it found.
func chaosRun(ctx context.Context, o options, dir string, out io.Writer) (*result, error) {
	t0 := time.Now()
	var outMu sync.Mutex
	logf := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, "  %6.1fs  %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
	svc, err := startServices(ctx, dir, logf)
	if err != nil {
		return nil, err
	}
	// Last of all (after the processes are stopped): the run's PostgreSQL and RabbitMQ
	// are stopped; their data goes with the run's directory.
	defer svc.close()
	tok := dsn.Token()
	schema, prefix := "chaos_"+tok, "chaos."+tok
	if err := checkServices(ctx, svc.pgURL(false), svc.mqURL(), schema); err != nil {
		return nil, err
	}
	defer func() {
		for _, d := range svc.restore() {
			fmt.Fprintln(out, "restored:", d)
		}
	}()

	bin := o.dispatcher
	if bin == "" {
		if bin, err = buildDispatcher(dir); err != nil {
			return nil, err
		}
	}
	st, err := startSite(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.stop()

	dups := int(float64(o.events) * o.duplicates)
	distinct := o.events - dups
	if distinct < 1 {
		distinct, dups = 1, o.events-1
	}
	fmt.Fprintf(out, "chaos run%s: %d deliveries (%d distinct events, %d re-sent), %d senders at %s; %s jobs; an upload through the simulator every %s\n",
		map[bool]string{true: " (harsh)"}[o.harsh], o.events, distinct, dups, o.concurrency, rateText(o.rate), o.route, o.uploadEvery)
	events, err := buildEvents(ctx, st, o, dir, distinct, tok)
	if err != nil {
		return nil, err
	}
	// Catch-up looks CATCHUP_MARGIN behind its first start: the sources must be older.
	pause(ctx, catchUpMargin+time.Second)

	// DRAIN_TIMEOUT: longer than the front door may take to stop sending to a receiver.
	drain := removalTime(probePeriod, probeFailures) + time.Second
	env, err := childEnv(o, dir, bin, schema, prefix, st, svc, drain)
	if err != nil {
		return nil, err
	}
	snd := devenv.NewSender()
	env = append(env, snd.Env()...)
	fl := newFleet(bin, dir, env, logf)
	defer fl.stopAll(20 * time.Second)
	var backends []string
	for i := 1; i <= 2; i++ {
		p, err := fl.start(fmt.Sprintf("receiver-%d", i), "receiver", "")
		if err != nil {
			return nil, err
		}
		backends = append(backends, "http://"+p.addr)
	}
	for i := 1; i <= o.workers; i++ {
		if _, err := fl.start(fmt.Sprintf("worker-%d", i), "worker", ""); err != nil {
			return nil, err
		}
	}
	if err := fl.waitReady(ctx, devenv.WaitReady); err != nil {
		return nil, err
	}
	front, err := startFrontDoor(backends, probePeriod, probeFailures)
	if err != nil {
		return nil, err
	}
	defer front.close()
	for _, b := range backends {
		if !front.waitReady(b, 30*time.Second) {
			return nil, fmt.Errorf("receiver %s not ready behind the front door", b)
		}
	}
	base := front.base
	fmt.Fprintf(out, "dispatcher: receivers %s behind a front door %s (probe every %s, out after %d failures; DRAIN_TIMEOUT=%s), %d workers (WORKER_CONCURRENCY=%d, JOB_LEASE=%s), schema %s, queues %s.*\n",
		strings.Join(backends, " "), base, probePeriod, probeFailures, drain, o.workers, o.workerConc, o.lease, schema, prefix)
	fmt.Fprintf(out, "simulated Pacifica: cartd %s, ingest %s, notifications %s, metadata %s\n", st.urls.Cartd, st.urls.Ingest,
		st.urls.Notifications, st.urls.Metadata)
	subOut, err := subscribe(bin, env, base+"/receive", snd)
	if err != nil {
		return nil, err
	}
	logf("dispatcher subscribe: %s", strings.ReplaceAll(subOut, "\n", "; "))

	plan := plan(events, dups, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)))
	load := &simLoad{st: st, dir: dir, every: o.uploadEvery}
	c := &chaos{svc: svc, fl: fl, front: front, sim: st.sim, pc: st.pc, load: load, snd: snd, gap: o.gap, hold: o.hold, harsh: o.harsh,
		termLimit: drain + 30*time.Second, reenableLimit: 30 * time.Second, log: logf}
	sendStart := time.Now()
	logf("sending %d deliveries; uploading through the simulator", len(plan))
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
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load.run(ctx, stopLoad) }()
	if !o.noFaults {
		c.play(ctx)
		logf("faults done")
	}
	wg.Wait()
	close(stopLoad)
	<-loadDone
	tried, failed := load.counts()
	logf("uploads through the simulator stopped: %d tried, %d failed (ingest's faults)", tried, failed)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted")
	}

	expected := map[string]bool{}
	for _, oc := range outcomes {
		for _, id := range oc.jobs {
			expected[id] = true
		}
	}
	// An upload ingest took (a worker's, or the simulator's own) may still be on its way.
	if !waitIngestIdle(ctx, st.sim, time.Minute) {
		logf("ingest jobs still running a minute after the load")
	}
	jobs, settled := settle(ctx, base, expected, simEventIDs(st.sim), time.Now().Add(o.settle), func(s string) { logf("%s", s) })
	settleTime := time.Since(sendEnd)
	logf("settled: %v (%s after the last answer)", settled, settleTime.Round(100*time.Millisecond))
	// A worker that lost its lease may still be uploading: wait for such stragglers
	// before counting the uploads.
	pause(ctx, 2*o.lease+2*time.Second)
	waitIngestIdle(ctx, st.sim, time.Minute)
	uploads := uploadsByJob(st.sim)

	r := tally(outcomes, jobs, uploads, c)
	r.sim = simUploads(st.sim, jobs, base)
	r.tallyDeliveries(st.sim.Deliveries(), st.sim.Subscriptions(), c, snd)
	r.loadTried, r.loadFailed = tried, failed
	r.settled, r.settleTime, r.sendTime, r.total = settled, settleTime, sendEnd.Sub(sendStart), time.Since(t0)
	r.unexpected = fl.unexpectedExits()
	r.faultErrs = c.errs
	r.noFaults, r.harsh = o.noFaults, o.harsh
	r.print(out, base, t0)
	r.ok = r.verdict(out, o)
	return r, nil
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
// the private schema and queues, PostgreSQL through the proxy, short leases and backoff,
// the simulated Pacifica, the subscription watchdog and catch-up at short intervals, and
// the script directory.
func childEnv(o options, dir, bin, schema, prefix string, st *site, svc *services, drain time.Duration) ([]string, error) {
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
		"DATABASE_URL=" + dsn.WithSearchPath(svc.pgURL(true), schema), "BROKER_URL=" + svc.mqURL(),
		"BROKER_EXCHANGE=" + prefix, "BROKER_QUEUE_PREFIX=" + prefix, "DB_MAX_CONNS=8",
		"JOB_LEASE=" + o.lease.String(), "JOB_BACKOFF_BASE=200ms", "JOB_BACKOFF_MAX=2s", "JOB_MAX_ATTEMPTS=20",
		"WORKER_CONCURRENCY=" + strconv.Itoa(o.workerConc), "SHUTDOWN_TIMEOUT=5s", "DRAIN_TIMEOUT=" + drain.String(),
		"RELAY_INTERVAL=500ms", "LOG_FORMAT=text", "LOG_LEVEL=info",
		"UPLOAD_URL=" + st.urls.Ingest + "/upload", "UPLOAD_STATUS_URL=" + st.urls.Ingest + "/get_state",
		"DOWNLOAD_URL=" + st.urls.Cartd, "NOTIFICATIONS_URL=" + st.urls.Notifications, "METADATA_URL=" + st.urls.Metadata,
		"PACIFICA_REQUEST_TIMEOUT=5s", "CART_TIMEOUT=60s", "INGEST_TIMEOUT=60s",
		"SUBSCRIPTION_CHECK_INTERVAL=" + checkInterval.String(), "SUBSCRIPTION_USER=dispatcher",
		"CATCHUP_INTERVAL=" + checkInterval.String(), "CATCHUP_MARGIN=" + catchUpMargin.String(),
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

// checkServices waits up to a minute for PostgreSQL and RabbitMQ to answer and creates
// the private schema.
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
