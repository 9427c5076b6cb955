// Command demo runs the dispatcher on the sample proxymod event, on this machine, and
// reports what happened. It needs the local PostgreSQL and RabbitMQ (DATABASE_URL and
// BROKER_URL, defaults: the local servers) and works in a private schema and private
// queues that it removes at the end.
//
// It runs the main job end to end on real parts: a simulated Pacifica (pacifica-sim, in
// process), the dispatcher with its receiver and workers, the sample event's key/values
// and input CSVs uploaded with three model scripts, the ingest event delivered by
// notifications, the models run in Python with the proxymod stand-in of testdata/, and
// the results uploaded back as a transaction linked to the source. DEMO_SLEEP_SCALE
// (default 0.05) scales the models' configured sleeps; 1 runs the sample's 117 s.
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
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(w io.Writer, format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }

// demo is one run: what each step made, for the next steps, and the clean-ups to run at
// the end, last first.
type demo struct {
	out          io.Writer
	dbURL, mqURL string
	sample       []byte
	tok, schema  string
	cleanups     []func()

	sim    *pacificasim.Sim
	urls   pacificasim.Addrs
	cfg    service.Config
	svc    *service.Service
	base   string
	sender devenv.Sender
	pc     *pacifica.Client
	source int64
	jobID  string
	job    map[string]any
}

func (d *demo) atEnd(f func()) { d.cleanups = append(d.cleanups, f) }

func run(ctx context.Context, out io.Writer) error {
	d := &demo{out: out,
		dbURL: devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		mqURL: devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")}
	defer func() {
		for i := len(d.cleanups) - 1; i >= 0; i-- {
			d.cleanups[i]()
		}
	}()
	var err error
	if d.sample, err = devenv.ReadSample(); err != nil {
		return err
	}
	for _, s := range []struct {
		title string
		run   func(context.Context) error
	}{
		{"checking PostgreSQL and RabbitMQ", d.checkServices},
		{"the proxymod route on the sample event (testdata/proxymod-event/event.json)", d.showRoute},
		{"starting a simulated Pacifica (cartd, ingest, notifications) on loopback", d.startPacifica},
		{"starting the dispatcher (receiver and workers in one process)", d.startDispatcher},
		{"subscribing the dispatcher to notifications with the proxymod route", d.subscribe},
		{"a scientist uploads the sample: its key/values and input CSVs, and three model scripts", d.upload},
		{"notifications delivers the ingest event; the job runs (download, models, upload)", d.waitForJob},
		{"the result in Pacifica: a new transaction linked to the source", d.showResult},
		{"the same job through the Python dispatcher's API: GET /status/{id}", d.showCompatible},
	} {
		step(out, "%s", s.title)
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "\nDone. Everything the demo created (schema, queues, directories) has been removed.")
	return nil
}

// checkServices reaches PostgreSQL and RabbitMQ and makes the demo's private schema.
func (d *demo) checkServices(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, d.dbURL)
	cancel()
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (start it, or set DATABASE_URL): %v", dsn.Redact(d.dbURL), err)
	}
	d.atEnd(func() { conn.Close(context.WithoutCancel(ctx)) })
	mq, err := amqp.DialConfig(d.mqURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return fmt.Errorf("RabbitMQ is not reachable at %s (start it, or set BROKER_URL): %v", dsn.Redact(d.mqURL), err)
	}
	_ = mq.Close()
	d.tok = dsn.Token()
	d.schema = "demo_" + d.tok
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+d.schema); err != nil {
		return err
	}
	d.atEnd(func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+d.schema+" CASCADE") })
	fmt.Fprintf(d.out, "    PostgreSQL %s (schema %s), RabbitMQ %s\n", dsn.Redact(d.dbURL), d.schema, dsn.Redact(d.mqURL))
	return nil
}

// showRoute says whether the proxymod route's filter matches the sample event.
func (d *demo) showRoute(context.Context) error {
	doc, err := jsonpath2.Decode(d.sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "    matches: %v\n", proxymod.Route().Matches(doc))
	return nil
}

// startPacifica starts the simulated Pacifica in process.
func (d *demo) startPacifica(ctx context.Context) error {
	simDir, err := os.MkdirTemp("", "pacifica-demo-sim-")
	if err != nil {
		return err
	}
	d.atEnd(func() { _ = os.RemoveAll(simDir) })
	if d.sim, err = pacificasim.New(pacificasim.Config{DataDir: simDir}); err != nil {
		return err
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		_ = d.sim.Serve(simCtx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0", Metadata: "127.0.0.1:0"})
	}()
	d.atEnd(func() {
		stopSim()
		<-simDone
		_ = d.sim.Close()
	})
	addrs, err := d.sim.Addrs(ctx)
	if err != nil {
		return err
	}
	d.urls = addrs.URLs()
	fmt.Fprintf(d.out, "    cartd %s, ingest %s, notifications %s, metadata %s\n", d.urls.Cartd, d.urls.Ingest, d.urls.Notifications, d.urls.Metadata)
	return nil
}

// startDispatcher runs the service (receiver and workers) against the simulated Pacifica,
// in the private schema and queues.
func (d *demo) startDispatcher(ctx context.Context) error {
	cfg, err := service.Load()
	if err != nil {
		return err
	}
	python, err := exec.LookPath(devenv.EnvOr("PROXYMOD_PYTHON", "python3"))
	if err != nil {
		return fmt.Errorf("the models need a Python 3 interpreter (set PROXYMOD_PYTHON): %v", err)
	}
	standIn, err := filepath.Abs(filepath.Join("testdata", "proxymod", "python"))
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "pacifica-demo-data-")
	if err != nil {
		return err
	}
	d.atEnd(func() { _ = os.RemoveAll(dataDir) })
	scale := devenv.EnvOr("DEMO_SLEEP_SCALE", "0.05")
	cfg.DatabaseURL = dsn.WithSearchPath(d.dbURL, d.schema)
	cfg.BrokerURL, cfg.ListenAddr, cfg.Role = d.mqURL, "127.0.0.1:0", service.RoleAll
	// Notifications authenticates its deliveries, as it should in production.
	d.sender = devenv.NewSender()
	cfg.ReceiverAuthType, cfg.ReceiverAuthUsername, cfg.ReceiverAuthPassword = "basic", d.sender.Username, d.sender.Password
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = "demo."+d.tok, "demo."+d.tok
	cfg.DataDir, cfg.ProxymodPython = dataDir, python
	cfg.ProxymodEnv = []string{"PYTHONPATH=" + standIn, "PROXYMOD_SLEEP_SCALE=" + scale}
	cfg.DrainTimeout = 0 // nothing sends to the demo's receiver but the demo
	if os.Getenv("SANDBOX") == "" {
		// The demo runs with bubblewrap where it works, and says so where it does not.
		cfg.Sandbox = "auto"
	}
	cfg.PacificaConfig.UploadURL, cfg.PacificaConfig.UploadStatusURL = d.urls.Ingest+"/upload", d.urls.Ingest+"/get_state"
	cfg.PacificaConfig.DownloadURL, cfg.PacificaConfig.NotificationsURL = d.urls.Cartd, d.urls.Notifications
	cfg.PacificaConfig.MetadataURL = d.urls.Metadata
	d.cfg = cfg
	sctx, stopSvc := context.WithCancel(ctx)
	svc, err := service.New(sctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		stopSvc()
		return err
	}
	d.svc = svc
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	d.atEnd(func() {
		stopSvc()
		<-done
		devenv.DeleteQueues(d.mqURL, "demo."+d.tok)
	})
	addr, err := svc.Addr(ctx)
	if err != nil {
		return err
	}
	d.base = "http://" + addr.String()
	if err := devenv.WaitReady(ctx, d.base); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "    listening on %s; models run by %s with the proxymod stand-in of testdata/ (sleeps scaled by %s)\n", d.base, python, scale)
	if sb := svc.Sandbox(); sb.Enabled() {
		fmt.Fprintf(d.out, "    models run sandboxed: %s\n", sb.Describe())
	} else {
		fmt.Fprintf(d.out, "    WARNING: models run WITHOUT a sandbox (%s); install bubblewrap to confine them\n", sb.Reason())
	}
	return nil
}

// subscribe registers the dispatcher with notifications, with the senders' credentials.
func (d *demo) subscribe(ctx context.Context) error {
	pc, err := pacifica.New(d.cfg.PacificaConfig)
	if err != nil {
		return err
	}
	d.pc = pc
	sub, err := pc.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{Name: proxymod.RouteName,
		JSONPath: proxymod.RouteText, TargetURL: d.base + "/receive", Auth: d.sender.Subscription()})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "    subscription %s -> %s\n", sub.UUID, sub.TargetURL)
	return nil
}

// upload uploads the sample source, as a scientist would.
func (d *demo) upload(ctx context.Context) error {
	srcDir, err := os.MkdirTemp("", "pacifica-demo-upload-")
	if err != nil {
		return err
	}
	d.atEnd(func() { _ = os.RemoveAll(srcDir) })
	if err := devenv.WriteSource(srcDir, "loose_coupling", "tight_coupling", "tight_coupling_twoway"); err != nil {
		return err
	}
	meta, err := devenv.SampleMeta(d.sample)
	if err != nil {
		return err
	}
	if d.source, err = d.pc.Ingest.Upload(ctx, srcDir, meta); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "    source transaction %d\n", d.source)
	return nil
}

// waitForJob waits for the job of the upload's event, and shows its log.
func (d *demo) waitForJob(ctx context.Context) error {
	start := time.Now()
	id, job, err := waitJob(ctx, d.base, d.source)
	if err != nil {
		return err
	}
	d.jobID, d.job = id, job
	fmt.Fprintf(d.out, "    job %s: %s in %s, attempts %v, transaction %v\n", id, job["state"],
		time.Since(start).Round(100*time.Millisecond), job["attempts"], job["transaction_id"])
	if job["state"] != "succeeded" {
		return fmt.Errorf("the job did not succeed: %v\nlogs:\n%v", job["error"], job["logs"])
	}
	fmt.Fprintf(d.out, "    job log:\n%s", indentText(fmt.Sprint(job["logs"])))
	return nil
}

// showResult shows the result transaction as Pacifica holds it.
func (d *demo) showResult(context.Context) error {
	txID := int64(d.job["transaction_id"].(float64))
	tx, ok := d.sim.Transaction(txID)
	if !ok {
		return fmt.Errorf("transaction %d is not in Pacifica", txID)
	}
	for _, f := range []string{"submitter", "project", "instrument"} {
		fmt.Fprintf(d.out, "    %s: %s\n", f, tx.Fields[f])
	}
	for _, kv := range tx.KeyValues {
		fmt.Fprintf(d.out, "    key/value %s = %s\n", kv.Key, kv.Value)
	}
	dirs := map[string]int{}
	for _, f := range tx.Files {
		dir := strings.Trim(f.Subdir, "/")
		if dir == "" {
			dir = "."
		}
		dirs[dir]++
	}
	keys := make([]string, 0, len(dirs))
	for dir := range dirs {
		keys = append(keys, dir)
	}
	sort.Strings(keys)
	fmt.Fprintf(d.out, "    %d files:\n", len(tx.Files))
	for _, dir := range keys {
		fmt.Fprintf(d.out, "      %-40s %d\n", dir+"/", dirs[dir])
	}
	return nil
}

// showCompatible shows the job as the Python dispatcher's API answers it.
func (d *demo) showCompatible(context.Context) error {
	fmt.Fprintf(d.out, "    GET /status/%s\n", d.jobID)
	return show(d.out, d.base+"/status/"+d.jobID)
}

// waitJob waits for the job of the source transaction's event to end.
func waitJob(ctx context.Context, base string, src int64) (string, map[string]any, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err := devenv.GetJSON(fmt.Sprintf("%s/jobs?event_id=metadata.ingest.%d", base, src), &page); err != nil {
			return "", nil, err
		}
		if len(page.Jobs) > 0 {
			id := fmt.Sprint(page.Jobs[0]["id"])
			var job map[string]any
			if err := devenv.GetJSON(base+"/jobs/"+id, &job); err != nil {
				return "", nil, err
			}
			switch job["state"] {
			case "succeeded", "failed", "cancelled":
				return id, job, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "", nil, fmt.Errorf("the job of transaction %d did not finish within 10 minutes", src)
}

func indentText(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

func show(out io.Writer, u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d\n%s", resp.StatusCode, indent(b))
	return nil
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, bytes.TrimSpace(b), "    ", "  ") != nil {
		return "    " + string(b) + "\n"
	}
	return "    " + buf.String() + "\n"
}
