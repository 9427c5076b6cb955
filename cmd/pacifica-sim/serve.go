package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := pacificasim.DefaultAddrs
	fs.StringVar(&a.Cartd, "cartd", a.Cartd, "cartd listen address (empty: off)")
	fs.StringVar(&a.Ingest, "ingest", a.Ingest, "ingest listen address (empty: off)")
	fs.StringVar(&a.Notifications, "notifications", a.Notifications, "notifications listen address (empty: off)")
	fs.StringVar(&a.Metadata, "metadata", a.Metadata, "metadata listen address (empty: off)")
	dataDir := fs.String("data", "", "directory of the archived files (default: a temporary directory, removed at exit)")
	staging := fs.Duration("staging-delay", pacificasim.DefaultStagingDelay, "how long a cart stays staging")
	step := fs.Duration("ingest-step-delay", pacificasim.DefaultIngestStepDelay, "time between the tasks of an ingest job")
	debug := fs.Bool("debug", false, "log at debug level")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: pacifica-sim serve [flags]\n\n"+
			"Runs Pacifica's cartd, ingest, notifications and a read-only metadata subset until\n"+
			"interrupted (SIGINT or SIGTERM). Port 0 picks a free port; the log says which.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return usageError(fs, stderr, "unexpected argument %q", pos[0])
	}
	if *staging < 0 || *step < 0 {
		return usageError(fs, stderr, "delays must not be negative")
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := pacificasim.Config{DataDir: *dataDir, Logger: log, StagingDelay: noZero(*staging), IngestStepDelay: noZero(*step)}
	sim, err := pacificasim.New(cfg)
	if err != nil {
		log.Error("start", "error", err)
		return 1
	}
	log.Info("pacifica-sim starting", "data", sim.DataDir())
	err = sim.Serve(ctx, a)
	if cerr := sim.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("serve", "error", err)
		return 1
	}
	log.Info("pacifica-sim stopped")
	return 0
}

// noZero maps a delay of zero asked for on the command line to the simulator's "none".
func noZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
