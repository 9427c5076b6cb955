// Command demo runs the dispatcher on the sample proxymod event, on this machine, and
// reports what happened. It needs the local PostgreSQL and RabbitMQ (DATABASE_URL and
// BROKER_URL, defaults: the local servers) and works in a private schema and private
// queues that it removes at the end.
//
// Today it shows intake end to end: the proxymod route on the sample event, the event
// received, recorded in PostgreSQL and its job published to RabbitMQ, a re-delivery mapped
// to the same job, and the job seen through the status API and the Python dispatcher's
// compatible API. Workers that run the job come with the worker pipeline.
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
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
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

	step(out, "starting the dispatcher (receiver role)")
	cfg, err := service.Load()
	if err != nil {
		return err
	}
	cfg.DatabaseURL = withSearchPath(dbURL, schema)
	cfg.BrokerURL, cfg.ListenAddr, cfg.Role = mqURL, "127.0.0.1:0", service.RoleReceiver
	cfg.BrokerQueuePrefix, cfg.BrokerExchange = "demo."+tok, "demo."+tok
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
	fmt.Fprintf(out, "    listening on %s\n", base)

	step(out, "Pacifica notifications delivers the sample event: POST /receive")
	start := time.Now()
	code, answer, err := post(base+"/receive", sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d in %s\n%s", code, time.Since(start).Round(time.Millisecond), indent(answer))
	var rcpt struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(answer, &rcpt); err != nil || len(rcpt.Jobs) == 0 {
		return fmt.Errorf("unexpected answer %s", answer)
	}
	id := rcpt.Jobs[0].ID

	step(out, "a second subscription delivers it again: the same job, marked duplicate")
	code, answer, err = post(base+"/receive", sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d\n%s", code, indent(answer))

	step(out, "the job through the status API: GET /jobs/%s", id)
	if err := show(out, base+"/jobs/"+id); err != nil {
		return err
	}
	step(out, "the same through the Python dispatcher's API: GET /status/%s", id)
	if err := show(out, base+"/status/"+id); err != nil {
		return err
	}
	step(out, "readiness: GET /readyz")
	if err := show(out, base+"/readyz"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDone. The job is queued on RabbitMQ for a worker; the worker pipeline (download,")
	fmt.Fprintln(out, "compute, upload) is the next stage of this project. Everything the demo created has been removed.")
	return nil
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
