package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runMigrate applies the job store's migrations and exits, logging (LOG_FORMAT, LOG_LEVEL)
// each migration it applies, or that the schema was up to date.
func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher migrate")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Applies the job store's database migrations to $DATABASE_URL and exits. It logs")
		fmt.Fprintln(fs.Output(), "(LOG_FORMAT, LOG_LEVEL, on standard error) each migration applied, by name, or")
		fmt.Fprintln(fs.Output(), "\"schema up to date\" with the schema's version. `dispatcher serve` applies them too;")
		fmt.Fprintln(fs.Output(), "this is for deployments that migrate first.")
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "migrate: unexpected argument %q\n", pos[0])
		return 2
	}
	cfg, err := service.Load()
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	log := startLogger(cfg, stderr, "migrate")
	store, err := jobstore.Open(ctx, jobstore.Config{URL: cfg.DatabaseURL, MaxConns: 2, Logger: log})
	if err != nil {
		log.Error("migrate: cannot open the job store", "error", err)
		return 1
	}
	defer store.Close()
	rep, err := store.ApplyMigrations(ctx)
	if err != nil {
		log.Error("migrate: failed", "error", err, "applied", strings.Join(rep.Applied, ","))
		return 1
	}
	if len(rep.Applied) == 0 {
		log.Info(fmt.Sprintf("schema up to date (version %d)", rep.Version), "version", rep.Version)
		return 0
	}
	log.Info(fmt.Sprintf("migrations applied: %s (schema version %d)", strings.Join(rep.Applied, ", "), rep.Version),
		"applied", rep.Applied, "version", rep.Version)
	return 0
}
