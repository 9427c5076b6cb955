// Command dispatcher-chaos is `make chaos`: the dispatcher under crashes and faults. It
// starts its own PostgreSQL cluster and RabbitMQ node in the run's directory (so nothing
// else on the machine is disturbed), runs two receivers behind a front door that follows
// their readiness as a Kubernetes Service does, and two workers, as separate `dispatcher
// serve` processes against a simulated Pacifica in process. A concurrent client sends a
// few thousand Pacifica ingest events (a share of them sent twice) through the front
// door, and real uploads go through the simulator (ingest, metadata, notifications, the
// subscription `dispatcher subscribe` made). Meanwhile it stops and starts RabbitMQ,
// restarts PostgreSQL, kills workers and a receiver with SIGKILL, restarts each receiver
// with SIGTERM (drain), disables the subscription by hand, and makes cartd and ingest
// fail and hang; -harsh kills PostgreSQL's postmaster and RabbitMQ's node with SIGKILL and
// cuts and partitions the network to PostgreSQL with workers killed inside. Then it waits
// for every job to finish and checks what a user would: no accepted event lost, no job
// uploaded twice, nothing stuck, every refused delivery explained by a fault (none during a
// SIGTERM restart), the subscription re-enabled by the watchdog, every upload through the
// simulator run exactly once. It exits 1 when an expectation fails.
//
//	dispatcher-chaos [-harsh] [-runs 1] [-events 3000] [-duplicates 0.1] [-rate 40] ...
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the run's flags.
type options struct {
	events, sources, concurrency, workers, workerConc, runs int
	duplicates, rate                                        float64
	lease, gap, hold, settle, uploadEvery                   time.Duration
	route, dispatcher                                       string
	noFaults, keep, harsh                                   bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dispatcher-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.events, "events", 3000, "deliveries to send, re-sent duplicates included")
	fs.Float64Var(&o.duplicates, "duplicates", 0.10, "share of the deliveries that re-send an earlier event exactly")
	fs.Float64Var(&o.rate, "rate", 40, "deliveries per second (0: as fast as the receivers answer; -harsh: 20 unless given)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "sending goroutines")
	fs.IntVar(&o.sources, "sources", 5, "source uploads the events refer to (script route)")
	fs.IntVar(&o.workers, "workers", 2, "worker processes")
	fs.IntVar(&o.workerConc, "worker-concurrency", 4, "jobs at once per worker process (WORKER_CONCURRENCY; -harsh: 8 unless given)")
	fs.DurationVar(&o.lease, "lease", 3*time.Second, "JOB_LEASE of the workers")
	fs.DurationVar(&o.gap, "gap", 3*time.Second, "pause between two faults")
	fs.DurationVar(&o.hold, "hold", 6*time.Second, "how long RabbitMQ stays stopped, the network to PostgreSQL broken, and a simulated fault lasts")
	fs.DurationVar(&o.settle, "settle", 5*time.Minute, "longest wait, after the last delivery, for every job to finish (a limit, not a pause)")
	fs.DurationVar(&o.uploadEvery, "upload-every", 500*time.Millisecond, "one upload through the simulator this often, while the faults play")
	fs.StringVar(&o.route, "route", "script", "jobs to run: script (a tiny shell script) or proxymod (Python models, slower)")
	fs.StringVar(&o.dispatcher, "dispatcher", "", "the dispatcher binary (default: go build ./cmd/dispatcher into the run's directory)")
	fs.BoolVar(&o.noFaults, "no-faults", false, "send and settle without any fault (a baseline)")
	fs.BoolVar(&o.harsh, "harsh", false, "the harsh schedule: PostgreSQL's postmaster and RabbitMQ's node SIGKILLed, the network to PostgreSQL cut and partitioned with workers SIGKILLed in it")
	fs.IntVar(&o.runs, "runs", envInt("CHAOS_RUNS", 1), "runs one after the other, each with its own services; one line each and a total at the end (default: $CHAOS_RUNS or 1)")
	fs.BoolVar(&o.keep, "keep", false, "keep the run's directory (logs of every process) even when every expectation holds")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.harsh && !set["rate"] {
		o.rate = 20 // the deliveries last as long as the longer schedule
	}
	if o.harsh && !set["worker-concurrency"] {
		o.workerConc = 8
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
	case o.runs < 1:
		return o, errors.New("-runs: want at least 1")
	case o.uploadEvery <= 0:
		return o, errors.New("-upload-every: want a positive duration")
	}
	return o, nil
}

// envInt reads a positive integer from the environment variable k, or def.
func envInt(k string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(k), &n); err == nil && n > 0 {
		return n
	}
	return def
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
	var lines []string
	failed := 0
	for i := 1; i <= o.runs; i++ {
		if o.runs > 1 {
			fmt.Fprintf(stdout, "=== run %d of %d\n", i, o.runs)
		}
		line, ok := oneRun(ctx, o, stdout, stderr)
		if !ok {
			failed++
		}
		lines = append(lines, fmt.Sprintf("run %d: %s", i, line))
		if ctx.Err() != nil {
			break
		}
	}
	if o.runs > 1 {
		fmt.Fprintln(stdout, "=== runs")
		for _, l := range lines {
			fmt.Fprintln(stdout, l)
		}
		fmt.Fprintf(stdout, "total: %d of %d runs with every expectation holding\n", len(lines)-failed, o.runs)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// oneRun runs once in a new directory, kept when something failed, and returns its
// one-line summary.
func oneRun(ctx context.Context, o options, stdout, stderr io.Writer) (string, bool) {
	dir, err := os.MkdirTemp("", "dispatcher-chaos-")
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher-chaos:", err)
		return "ERROR " + err.Error(), false
	}
	r, err := chaosRun(ctx, o, dir, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher-chaos:", err)
	}
	ok := err == nil && r.ok
	if !ok || o.keep {
		fmt.Fprintf(stdout, "the run's directory (process logs) is kept: %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	if err != nil {
		return "ERROR " + err.Error() + " (directory " + dir + ")", false
	}
	line := r.line()
	if !ok {
		line += " (directory " + dir + ")"
	}
	return line, ok
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
