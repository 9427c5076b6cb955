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

func run(ctx context.Context, out io.Writer) error {
	dbURL := devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	mqURL := devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	sample, err := devenv.ReadSample()
	if err != nil {
		return err
	}

	step(out, "checking PostgreSQL and RabbitMQ")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, dbURL)
	cancel()
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (start it, or set DATABASE_URL): %v", devenv.Redact(dbURL), err)
	}
	mq, err := amqp.DialConfig(mqURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		conn.Close(ctx)
		return fmt.Errorf("RabbitMQ is not reachable at %s (start it, or set BROKER_URL): %v", devenv.Redact(mqURL), err)
	}
	_ = mq.Close()
	tok := devenv.Token()
	schema := "demo_" + tok
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.WithoutCancel(ctx))
	}()
	fmt.Fprintf(out, "    PostgreSQL %s (schema %s), RabbitMQ %s\n", devenv.Redact(dbURL), schema, devenv.Redact(mqURL))

	step(out, "the proxymod route on the sample event (testdata/proxymod-event/event.json)")
	doc, err := jsonpath2.Decode(sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    matches: %v\n", proxymod.Route().Matches(doc))

	step(out, "starting a simulated Pacifica (cartd, ingest, notifications) on loopback")
	simDir, err := os.MkdirTemp("", "pacifica-demo-sim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(simDir)
	sim, err := pacificasim.New(pacificasim.Config{DataDir: simDir})
	if err != nil {
		return err
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		_ = sim.Serve(simCtx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0", Metadata: "127.0.0.1:0"})
	}()
	defer func() {
		stopSim()
		<-simDone
		_ = sim.Close()
	}()
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		return err
	}
	urls := addrs.URLs()
	fmt.Fprintf(out, "    cartd %s, ingest %s, notifications %s, metadata %s\n", urls.Cartd, urls.Ingest, urls.Notifications, urls.Metadata)

	step(out, "starting the dispatcher (receiver and workers in one process)")
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
	defer os.RemoveAll(dataDir)
	scale := devenv.EnvOr("DEMO_SLEEP_SCALE", "0.05")
	cfg.DatabaseURL = devenv.WithSearchPath(dbURL, schema)
	cfg.BrokerURL, cfg.ListenAddr, cfg.Role = mqURL, "127.0.0.1:0", service.RoleAll
	// Notifications authenticates its deliveries, as it should in production.
	sender := devenv.NewSender()
	cfg.ReceiverAuthType, cfg.ReceiverAuthUsername, cfg.ReceiverAuthPassword = "basic", sender.Username, sender.Password
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = "demo."+tok, "demo."+tok
	cfg.DataDir, cfg.ProxymodPython = dataDir, python
	cfg.ProxymodEnv = []string{"PYTHONPATH=" + standIn, "PROXYMOD_SLEEP_SCALE=" + scale}
	cfg.DrainTimeout = 0 // nothing sends to the demo's receiver but the demo
	if os.Getenv("SANDBOX") == "" {
		// The demo runs with bubblewrap where it works, and says so where it does not.
		cfg.Sandbox = "auto"
	}
	cfg.PacificaConfig.UploadURL, cfg.PacificaConfig.UploadStatusURL = urls.Ingest+"/upload", urls.Ingest+"/get_state"
	cfg.PacificaConfig.DownloadURL, cfg.PacificaConfig.NotificationsURL = urls.Cartd, urls.Notifications
	cfg.PacificaConfig.MetadataURL = urls.Metadata
	sctx, stopSvc := context.WithCancel(ctx)
	svc, err := service.New(sctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		stopSvc()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	defer func() {
		stopSvc()
		<-done
		devenv.DeleteQueues(mqURL, "demo."+tok)
	}()
	addr, err := svc.Addr(ctx)
	if err != nil {
		return err
	}
	base := "http://" + addr.String()
	if err := devenv.WaitReady(ctx, base); err != nil {
		return err
	}
	fmt.Fprintf(out, "    listening on %s; models run by %s with the proxymod stand-in of testdata/ (sleeps scaled by %s)\n", base, python, scale)
	if sb := svc.Sandbox(); sb.Enabled() {
		fmt.Fprintf(out, "    models run sandboxed: %s\n", sb.Describe())
	} else {
		fmt.Fprintf(out, "    WARNING: models run WITHOUT a sandbox (%s); install bubblewrap to confine them\n", sb.Reason())
	}

	step(out, "subscribing the dispatcher to notifications with the proxymod route")
	pc, err := pacifica.New(cfg.PacificaConfig)
	if err != nil {
		return err
	}
	sub, err := pc.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{Name: proxymod.RouteName,
		JSONPath: proxymod.RouteText, TargetURL: base + "/receive", Auth: sender.Subscription()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    subscription %s -> %s\n", sub.UUID, sub.TargetURL)

	step(out, "a scientist uploads the sample: its key/values and input CSVs, and three model scripts")
	srcDir, err := os.MkdirTemp("", "pacifica-demo-upload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(srcDir)
	if err := devenv.WriteSource(srcDir, "loose_coupling", "tight_coupling", "tight_coupling_twoway"); err != nil {
		return err
	}
	meta, err := devenv.SampleMeta(sample)
	if err != nil {
		return err
	}
	src, err := pc.Ingest.Upload(ctx, srcDir, meta)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    source transaction %d\n", src)

	step(out, "notifications delivers the ingest event; the job runs (download, models, upload)")
	start := time.Now()
	id, job, err := waitJob(ctx, base, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    job %s: %s in %s, attempts %v, transaction %v\n", id, job["state"],
		time.Since(start).Round(100*time.Millisecond), job["attempts"], job["transaction_id"])
	if job["state"] != "succeeded" {
		return fmt.Errorf("the job did not succeed: %v\nlogs:\n%v", job["error"], job["logs"])
	}
	fmt.Fprintf(out, "    job log:\n%s", indentText(fmt.Sprint(job["logs"])))

	step(out, "the result in Pacifica: a new transaction linked to the source")
	txID := int64(job["transaction_id"].(float64))
	tx, ok := sim.Transaction(txID)
	if !ok {
		return fmt.Errorf("transaction %d is not in Pacifica", txID)
	}
	for _, f := range []string{"submitter", "project", "instrument"} {
		fmt.Fprintf(out, "    %s: %s\n", f, tx.Fields[f])
	}
	for _, kv := range tx.KeyValues {
		fmt.Fprintf(out, "    key/value %s = %s\n", kv.Key, kv.Value)
	}
	dirs := map[string]int{}
	for _, f := range tx.Files {
		d := strings.Trim(f.Subdir, "/")
		if d == "" {
			d = "."
		}
		dirs[d]++
	}
	keys := make([]string, 0, len(dirs))
	for d := range dirs {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	fmt.Fprintf(out, "    %d files:\n", len(tx.Files))
	for _, d := range keys {
		fmt.Fprintf(out, "      %-40s %d\n", d+"/", dirs[d])
	}

	step(out, "the same job through the Python dispatcher's API: GET /status/%s", id)
	if err := show(out, base+"/status/"+id); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDone. Everything the demo created (schema, queues, directories) has been removed.")
	return nil
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

func post(u string, body []byte) (int, []byte, error) {
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
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
