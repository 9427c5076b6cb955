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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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
	dbURL := envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	mqURL := envOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	sample, err := os.ReadFile(filepath.Join("testdata", "proxymod-event", "event.json"))
	if err != nil {
		return fmt.Errorf("run me from the repository root (make demo): %w", err)
	}

	step(out, "checking PostgreSQL and RabbitMQ")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, dbURL)
	cancel()
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (start it, or set DATABASE_URL): %v", redact(dbURL), err)
	}
	mq, err := amqp.DialConfig(mqURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		conn.Close(ctx)
		return fmt.Errorf("RabbitMQ is not reachable at %s (start it, or set BROKER_URL): %v", redact(mqURL), err)
	}
	_ = mq.Close()
	tok := token()
	schema := "demo_" + tok
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.WithoutCancel(ctx))
	}()
	fmt.Fprintf(out, "    PostgreSQL %s (schema %s), RabbitMQ %s\n", redact(dbURL), schema, redact(mqURL))

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
		_ = sim.Serve(simCtx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0"})
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
	fmt.Fprintf(out, "    cartd %s, ingest %s, notifications %s\n", urls.Cartd, urls.Ingest, urls.Notifications)

	step(out, "starting the dispatcher (receiver and workers in one process)")
	cfg, err := service.Load()
	if err != nil {
		return err
	}
	python, err := exec.LookPath(envOr("PROXYMOD_PYTHON", "python3"))
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
	scale := envOr("DEMO_SLEEP_SCALE", "0.05")
	cfg.DatabaseURL = withSearchPath(dbURL, schema)
	cfg.BrokerURL, cfg.ListenAddr, cfg.Role = mqURL, "127.0.0.1:0", service.RoleAll
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = "demo."+tok, "demo."+tok
	cfg.DataDir, cfg.ProxymodPython = dataDir, python
	cfg.ProxymodEnv = []string{"PYTHONPATH=" + standIn, "PROXYMOD_SLEEP_SCALE=" + scale}
	cfg.PacificaConfig.UploadURL, cfg.PacificaConfig.UploadStatusURL = urls.Ingest+"/upload", urls.Ingest+"/get_state"
	cfg.PacificaConfig.DownloadURL, cfg.PacificaConfig.NotificationsURL = urls.Cartd, urls.Notifications
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
		deleteQueues(mqURL, "demo."+tok)
	}()
	addr, err := svc.Addr(ctx)
	if err != nil {
		return err
	}
	base := "http://" + addr.String()
	if err := waitReady(ctx, base); err != nil {
		return err
	}
	fmt.Fprintf(out, "    listening on %s; models run by %s with the proxymod stand-in of testdata/ (sleeps scaled by %s)\n", base, python, scale)

	step(out, "subscribing the dispatcher to notifications with the proxymod route")
	pc, err := pacifica.New(cfg.PacificaConfig)
	if err != nil {
		return err
	}
	sub, err := pc.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{Name: proxymod.RouteName,
		JSONPath: proxymod.RouteText, TargetURL: base + "/receive"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    subscription %s -> %s\n", sub.UUID, sub.TargetURL)

	step(out, "a scientist uploads the sample: its key/values and input CSVs, and three model scripts")
	src, err := uploadSample(ctx, pc, sample)
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

// uploadSample uploads the sample event's key/values with its input CSVs and the three
// model scripts of testdata/proxymod/models (the sample's own scripts are not published).
func uploadSample(ctx context.Context, pc *pacifica.Client, sample []byte) (int64, error) {
	dir, err := os.MkdirTemp("", "pacifica-demo-upload-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	copyTo := func(src, rel string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	}
	for _, n := range []string{"in_file_one.csv", "in_file_two.csv"} {
		if err := copyTo(filepath.Join("testdata", "proxymod-event", "data", "inputs", n), "inputs/"+n); err != nil {
			return 0, err
		}
	}
	for _, n := range []string{"loose_coupling.py", "tight_coupling.py", "tight_coupling_twoway.py"} {
		if err := copyTo(filepath.Join("testdata", "proxymod", "models", n), "models/"+n); err != nil {
			return 0, err
		}
	}
	var env struct {
		Data []struct {
			Table string          `json:"destinationTable"`
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(sample, &env); err != nil {
		return 0, err
	}
	var meta pacifica.UploadMeta
	for _, d := range env.Data {
		switch d.Table {
		case "Transactions.submitter":
			meta.Submitter = d.Value
		case "Transactions.project":
			meta.Project = d.Value
		case "Transactions.instrument":
			meta.Instrument = d.Value
		case "TransactionKeyValue":
			meta.KeyValues = append(meta.KeyValues, pacifica.KeyValue{Key: d.Key, Value: d.Value})
		}
	}
	return pc.Ingest.Upload(ctx, dir, meta)
}

// waitJob waits for the job of the source transaction's event to end.
func waitJob(ctx context.Context, base string, src int64) (string, map[string]any, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err := getJSON(fmt.Sprintf("%s/jobs?event_id=metadata.ingest.%d", base, src), &page); err != nil {
			return "", nil, err
		}
		if len(page.Jobs) > 0 {
			id := fmt.Sprint(page.Jobs[0]["id"])
			var job map[string]any
			if err := getJSON(base+"/jobs/"+id, &job); err != nil {
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

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
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

func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the dispatcher did not become ready within 30s")
}

func deleteQueues(mqURL, prefix string) {
	conn, err := amqp.Dial(mqURL)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range []string{prefix + ".jobs", prefix + ".intake", prefix + ".dead"} {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	_ = ch.ExchangeDelete(prefix, false, false)
}

func token() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func withSearchPath(raw, schema string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<url>"
	}
	return u.Redacted()
}
