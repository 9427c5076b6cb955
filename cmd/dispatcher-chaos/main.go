// Command dispatcher-chaos is `make chaos`: the dispatcher under crashes and faults, on
// this machine. It runs a receiver and two workers as separate `dispatcher serve`
// processes (private PostgreSQL schema, private queues) against a simulated Pacifica in
// process, sends a few thousand Pacifica ingest events (a share of them sent twice) from a
// concurrent client, and meanwhile stops and starts RabbitMQ twice, restarts PostgreSQL,
// kills the workers and the receiver with SIGKILL, and makes cartd and ingest fail and
// hang. Then it waits for every job to finish and checks what a user would: no accepted
// event lost, no job uploaded twice, nothing stuck, every refused delivery explained by a
// fault. It exits 1 when an expectation fails.
//
// It stops and starts the machine's services: run it under the exclusive lock that the
// other users of the machine share (`flock -x /tmp/pacifica-services.lock`, as `make
// chaos` does). PostgreSQL and RabbitMQ are started again at the end whatever happens,
// Ctrl-C included.
//
//	dispatcher-chaos [-events 3000] [-duplicates 0.1] [-rate 40] [-concurrency 16] ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

func main() {
	keepInheritedFiles()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the run's flags.
type options struct {
	events, sources, concurrency, workers, workerConc int
	duplicates, rate                                  float64
	lease, gap, hold, settle                          time.Duration
	route, dispatcher, dbURL, mqURL                   string
	noFaults, keep                                    bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dispatcher-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.events, "events", 3000, "deliveries to send, re-sent duplicates included")
	fs.Float64Var(&o.duplicates, "duplicates", 0.10, "share of the deliveries that re-send an earlier event exactly")
	fs.Float64Var(&o.rate, "rate", 40, "deliveries per second (0: as fast as the receiver answers)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "sending goroutines")
	fs.IntVar(&o.sources, "sources", 5, "source uploads the events refer to (script route)")
	fs.IntVar(&o.workers, "workers", 2, "worker processes")
	fs.IntVar(&o.workerConc, "worker-concurrency", 4, "jobs at once per worker process (WORKER_CONCURRENCY)")
	fs.DurationVar(&o.lease, "lease", 3*time.Second, "JOB_LEASE of the workers")
	fs.DurationVar(&o.gap, "gap", 3*time.Second, "pause between two faults")
	fs.DurationVar(&o.hold, "hold", 6*time.Second, "how long RabbitMQ stays stopped and a simulated fault lasts")
	fs.DurationVar(&o.settle, "settle", 3*time.Minute, "longest wait, after the last delivery, for every job to finish")
	fs.StringVar(&o.route, "route", "script", "jobs to run: script (a tiny shell script) or proxymod (Python models, slower)")
	fs.StringVar(&o.dispatcher, "dispatcher", "", "the dispatcher binary (default: go build ./cmd/dispatcher into the run's directory)")
	fs.StringVar(&o.dbURL, "database", devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL (local server)")
	fs.StringVar(&o.mqURL, "broker", devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL (local server)")
	fs.BoolVar(&o.noFaults, "no-faults", false, "send and settle without any fault (a baseline)")
	fs.BoolVar(&o.keep, "keep", false, "keep the run's directory (logs of every process) even when every expectation holds")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.events < 1:
		return o, errors.New("-events: want at least 1")
	case o.duplicates < 0 || o.duplicates >= 1:
		return o, errors.New("-duplicates: want a share from 0 to below 1")
	case o.concurrency < 1 || o.workers < 2 || o.workerConc < 1 || o.sources < 1:
		return o, errors.New("-concurrency, -worker-concurrency and -sources want at least 1, -workers at least 2")
	case o.route != "script" && o.route != "proxymod":
		return o, fmt.Errorf("-route: %q: want script or proxymod", o.route)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "dispatcher-chaos:", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "dispatcher-chaos-")
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher-chaos:", err)
		return 1
	}
	ok, err := chaosRun(ctx, o, dir, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher-chaos:", err)
	}
	if err != nil || !ok || o.keep {
		fmt.Fprintf(stdout, "the run's directory (process logs) is kept: %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	switch {
	case err != nil:
		return 1
	case !ok:
		return 1
	}
	return 0
}

// buildDispatcher builds cmd/dispatcher into dir.
func buildDispatcher(dir string) (string, error) {
	bin := filepath.Join(dir, "dispatcher")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/dispatcher").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/dispatcher (run me from the repository root): %w\n%s", err, out)
	}
	return bin, nil
}
