// Command dispatcher-bench measures the dispatcher on this machine's PostgreSQL and
// RabbitMQ and prints its figures next to the raw limits of those services, measured in the
// same run. It works in a private schema and private queues, and removes them at the end.
//
//	dispatcher-bench intake [-duration 5s] [-concurrency 16,64]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "intake" && args[0] != "pipeline") {
		fmt.Fprintln(stderr, "Usage: dispatcher-bench intake [-duration 5s] [-concurrency 16,64]")
		fmt.Fprintln(stderr, "       dispatcher-bench pipeline [-jobs 40] [-concurrency 1,2,4]")
		return 2
	}
	if args[0] == "pipeline" {
		return runPipeline(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each measurement")
	conc := fs.String("concurrency", "16,64", "concurrencies to measure, comma-separated")
	dbURL := fs.String("database", devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	mqURL := fs.String("broker", devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "-concurrency: %q is not a positive number\n", s)
			return 2
		}
		levels = append(levels, n)
	}
	if err := benchIntake(ctx, stdout, *dbURL, *mqURL, *duration, levels); err != nil {
		fmt.Fprintln(stderr, "dispatcher-bench:", err)
		return 1
	}
	return 0
}

func runPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jobs := fs.Int("jobs", 40, "jobs per run")
	conc := fs.String("concurrency", "1,2,4", "worker concurrencies to measure, comma-separated")
	dbURL := fs.String("database", devenv.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	mqURL := fs.String("broker", devenv.EnvOr("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "-concurrency: %q is not a positive number\n", s)
			return 2
		}
		levels = append(levels, n)
	}
	if *jobs < 1 {
		fmt.Fprintln(stderr, "-jobs: want at least 1")
		return 2
	}
	if err := benchPipeline(ctx, stdout, *dbURL, *mqURL, *jobs, levels); err != nil {
		fmt.Fprintln(stderr, "dispatcher-bench:", err)
		return 1
	}
	return 0
}
