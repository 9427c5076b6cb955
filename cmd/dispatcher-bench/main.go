// Command dispatcher-bench measures the dispatcher on this machine's PostgreSQL and
// RabbitMQ, next to the raw limits of those services measured in the same run, and prints
// one table. The dispatcher runs as a child process (`dispatcher serve`), so that its peak
// memory is its own; simulated Pacifica runs in the benchmark. Every part works in a
// private schema, private queues and a temporary directory, and removes them at the end.
//
//	dispatcher-bench all      [-duration 5s] [-concurrency 1,16,64] [-jobs 40] [-workers 2] [-transfer-size 1GiB]
//	dispatcher-bench intake   [-duration 5s] [-concurrency 1,16,64]
//	dispatcher-bench pipeline [-jobs 40] [-concurrency 1,2,4]
//	dispatcher-bench sandbox  [-jobs 40]
//	dispatcher-bench abuse    [-rounds 3]
//	dispatcher-bench store    [-store-jobs 1000000] [-duration 5s]
//	dispatcher-bench scripts  [-jobs 300] [-workers 2,8] [-sandbox-off] [-profile [-profile-dir DIR]]
//
// In all, the scripts part takes -script-jobs and -script-workers (defaults 300 and 2,8).
// Every subcommand also takes -dispatcher (a built binary; default: go build it), -database,
// -broker, -queue-type and -timeout.
package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: dispatcher-bench all      [-duration 5s] [-concurrency 1,16,64] [-jobs 40] [-workers 2] [-transfer-size 1GiB]
       dispatcher-bench intake   [-duration 5s] [-concurrency 1,16,64]
       dispatcher-bench pipeline [-jobs 40] [-concurrency 1,2,4]
       dispatcher-bench sandbox  [-jobs 40]
       dispatcher-bench abuse    [-rounds 3]
       dispatcher-bench store    [-store-jobs 1000000] [-duration 5s]
       dispatcher-bench scripts  [-jobs 300] [-workers 2,8] [-sandbox-off=false] [-profile [-profile-dir DIR]]
Each also takes -dispatcher BIN, -database URL, -broker URL, -queue-type quorum|classic, -timeout 9m.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if args[0] == "transfer-child" {
		return runTransferChild(ctx, args[1:], stdout, stderr)
	}
	var parts options
	switch args[0] {
	case "all":
		parts = options{intake: true, pipeline: true, transfer: true, sandbox: true, abuse: true, store: true, scripts: true}
	case "intake":
		parts = options{intake: true}
	case "pipeline":
		parts = options{pipeline: true}
	case "sandbox":
		parts = options{sandbox: true}
	case "abuse":
		parts = options{abuse: true}
	case "store":
		parts = options{store: true}
	case "scripts":
		parts = options{scripts: true}
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &parts
	o.name = args[0]
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each load measurement (raw INSERT, raw publish, intake)")
	var intakeLevels, workerLevels *string
	switch args[0] {
	case "scripts": // -workers is the scripts part's (below)
		unused := "1"
		workerLevels, intakeLevels = &unused, &unused
	case "pipeline":
		// bench-pipeline's historic spelling: -concurrency is the workers'.
		workerLevels = fs.String("concurrency", "1,2,4", "worker concurrencies of the end-to-end runs, comma-separated")
		intakeLevels = workerLevels
	default:
		intakeLevels = fs.String("concurrency", "1,16,64", "concurrencies of the load measurements, comma-separated")
		workerLevels = fs.String("workers", "2", "worker concurrencies of the end-to-end runs, comma-separated")
	}
	var scriptLevels *string
	if args[0] == "scripts" {
		// The scripts part's own spelling: -jobs and -workers are its.
		fs.IntVar(&o.scriptJobs, "jobs", 300, "script jobs of each burst")
		scriptLevels = fs.String("workers", "2,8", "WORKER_CONCURRENCY of the script bursts, comma-separated")
		o.jobs = 40
	} else {
		fs.IntVar(&o.jobs, "jobs", 40, "jobs per end-to-end run")
		fs.IntVar(&o.scriptJobs, "script-jobs", 300, "script jobs of each burst (scripts part)")
		scriptLevels = fs.String("script-workers", "2,8", "WORKER_CONCURRENCY of the script bursts, comma-separated (scripts part)")
	}
	fs.BoolVar(&o.sandboxOff, "sandbox-off", true, "scripts part: one more burst, at the last worker concurrency, with SANDBOX=off (comparison only)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "scripts part, with -profile: keep the raw profiles (receiver.pprof, worker.pprof) in this directory, for go tool pprof")
	fs.BoolVar(&o.profile, "profile", false, "scripts part: take a 5 s CPU profile of the receiver and the worker (DEBUG_LISTEN_ADDR) during the last sandboxed burst and print the top functions")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of eight 16 MiB events at once (abuse part)")
	fs.IntVar(&o.storeJobs, "store-jobs", 1_000_000, "finished jobs the store part fills the job store with (10000000 for ten million)")
	size := fs.String("transfer-size", "1GiB", "size of the file uploaded and downloaded")
	fs.StringVar(&o.env.dispatcher, "dispatcher", "", "the dispatcher binary (default: go build ./cmd/dispatcher into a temporary directory)")
	fs.StringVar(&o.env.dbURL, "database", devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	fs.StringVar(&o.env.mqURL, "broker", devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	fs.StringVar(&o.env.queueType, "queue-type", "quorum", "RabbitMQ queue type of the raw publishes and of the dispatcher (the service's default is quorum)")
	timeout := fs.Duration("timeout", 9*time.Minute, "give up after this long")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", args[0], fs.Arg(0))
		return 2
	}
	var err error
	if o.levels, err = parseLevels(*intakeLevels); err != nil {
		fmt.Fprintln(stderr, "-concurrency:", err)
		return 2
	}
	if args[0] != "scripts" {
		if o.workers, err = parseLevels(*workerLevels); err != nil {
			fmt.Fprintln(stderr, "-workers:", err)
			return 2
		}
	}
	if o.scriptWorkers, err = parseLevels(*scriptLevels); err != nil {
		fmt.Fprintln(stderr, "-workers / -script-workers:", err)
		return 2
	}
	if o.scriptJobs < 1 {
		fmt.Fprintln(stderr, "-jobs / -script-jobs: want a positive value")
		return 2
	}
	if o.size, err = parseSize(*size); err != nil || o.size < 1 {
		fmt.Fprintln(stderr, "-transfer-size: want a positive size:", err)
		return 2
	}
	if o.jobs < 1 || o.duration <= 0 || o.storeJobs < 1000 {
		fmt.Fprintln(stderr, "-jobs and -duration: want positive values; -store-jobs: at least 1000")
		return 2
	}
	if o.env.queueType != "quorum" && o.env.queueType != "classic" {
		fmt.Fprintln(stderr, "-queue-type: want quorum or classic")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "dispatcher-bench:", err)
		return 1
	}
	return 0
}

// benchEnv is what every part works with.
type benchEnv struct {
	dbURL, mqURL, queueType string
	dispatcher              string // the binary
	tmp                     string // removed at the end
	sample                  []byte // the sample event
}

// options are a run's parts and sizes.
type options struct {
	name                       string
	intake, pipeline, transfer bool
	sandbox, abuse, store      bool
	scripts                    bool
	sandboxOff, profile        bool // of the scripts part
	profileDir                 string
	scriptJobs                 int
	scriptWorkers              []int
	rounds, storeJobs          int
	duration                   time.Duration
	levels, workers            []int
	jobs                       int
	size                       int64
	env                        benchEnv
}

// bench runs the parts o asks for and prints the header, then the table.
func bench(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	began := time.Now()
	env := &o.env
	var err error
	if env.sample, err = devenv.ReadSample(); err != nil {
		return err
	}
	if env.tmp, err = os.MkdirTemp("", "dispatcher-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(env.tmp)
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	built := env.dispatcher == ""
	if built {
		progress("go build ./cmd/dispatcher")
	}
	if env.dispatcher, err = dispatcherBinary(ctx, env.dispatcher, env.tmp); err != nil {
		return err
	}
	header(ctx, stdout, o, built)

	t := &table{cols: benchColumns}
	if o.intake {
		progress("raw INSERT, raw publish, then intake: %d × %s each", len(o.levels), o.duration)
		f, err := measureIntake(ctx, env, o.duration, o.levels)
		if err != nil {
			return err
		}
		f.rows(t, env.queueType, len(env.sample))
	}
	if o.sandbox {
		progress("child start-up without and with the sandbox: %d × 2", o.jobs)
		r, err := measureSandbox(ctx, env.tmp, o.jobs)
		if err != nil {
			return err
		}
		r.rows(t)
	}
	if o.abuse {
		progress("abuse: %d rounds of 8 × 16 MiB events at once, then the pathological batch", o.rounds)
		f, err := measureAbuse(ctx, env, o.rounds)
		if err != nil {
			return err
		}
		f.rows(t)
	}
	if o.store {
		f, err := measureStore(ctx, env, o.storeJobs, o.duration, progress)
		if err != nil {
			return err
		}
		f.rows(t)
	}
	if o.pipeline {
		for _, w := range o.workers {
			progress("end-to-end: %d jobs at %d workers", o.jobs, w)
			rs, err := measurePipeline(ctx, env, o.jobs, []int{w})
			if err != nil {
				return err
			}
			rs[0].rows(t)
		}
	}
	var scriptFigs scriptsFigures
	if o.scripts {
		if scriptFigs, err = measureScripts(ctx, env, o.scriptJobs, o.scriptWorkers, o.sandboxOff, o.profile, o.profileDir, progress); err != nil {
			return err
		}
		scriptFigs.rows(t)
	}
	if o.transfer {
		progress("%s upload, then download", fmtSize(o.size))
		f, err := measureTransfer(ctx, env, o.size)
		if err != nil {
			return err
		}
		f.rows(t)
	}
	progress("done")
	fmt.Fprintln(stdout)
	if err := t.write(stdout); err != nil {
		return err
	}
	scriptFigs.writeProfiles(stdout)
	fmt.Fprintf(stdout, "\nThe whole run took %s.\n", time.Since(began).Round(time.Second))
	return nil
}

// header prints the conditions of the run.
func header(ctx context.Context, w io.Writer, o *options, built bool) {
	env := &o.env
	pg, mq := serverVersions(ctx, env.dbURL, env.mqURL)
	goDisp := "?"
	if bi, err := buildinfo.ReadFile(env.dispatcher); err == nil {
		goDisp = bi.GoVersion
	}
	fmt.Fprintf(w, "dispatcher-bench %s, %s\n", o.name, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "machine:    %d CPUs (%s/%s); benchmark %s, dispatcher %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), goDisp)
	fmt.Fprintf(w, "services:   PostgreSQL %s at %s; RabbitMQ %s at %s\n", pg, dsn.Redact(env.dbURL), mq, dsn.Redact(env.mqURL))
	fmt.Fprintf(w, "queues:     %s (raw publishes and the dispatcher's), persistent messages, publisher confirms\n", env.queueType)
	bin := env.dispatcher
	if built {
		bin = "./cmd/dispatcher (built from this tree)"
	}
	sim := "simulated Pacifica runs in the benchmark's process"
	if o.scripts {
		sim += " (the scripts part's: `pacifica-sim serve`, a child process)"
	}
	fmt.Fprintf(w, "dispatcher: `%s serve`, a child process per part, private schema and queues; %s\n", bin, sim)
	var parts []string
	if o.intake {
		parts = append(parts, fmt.Sprintf("load %s per measurement at concurrency %s, sample event %d B", o.duration, joinInts(o.levels), len(env.sample)))
	}
	if o.pipeline {
		parts = append(parts, fmt.Sprintf("end-to-end %d jobs at %s workers", o.jobs, joinInts(o.workers)))
	}
	if o.transfer {
		parts = append(parts, "transfer "+fmtSize(o.size))
	}
	if o.sandbox {
		parts = append(parts, fmt.Sprintf("sandbox start-up %d runs each", o.jobs))
	}
	if o.abuse {
		parts = append(parts, fmt.Sprintf("abuse %d rounds of 8 × 16 MiB", o.rounds))
	}
	if o.store {
		parts = append(parts, fmt.Sprintf("store of %s finished jobs", fmtCount(o.storeJobs)))
	}
	if o.scripts {
		parts = append(parts, fmt.Sprintf("script jobs: %d alone, bursts of %d at %s workers (receiver and worker as two children; simulator a child with no delays)",
			scriptsAlone, o.scriptJobs, joinInts(o.scriptWorkers)))
	}
	fmt.Fprintf(w, "sizes:      %s\n", strings.Join(parts, "; "))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
