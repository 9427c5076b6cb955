package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runMigrate applies the job store's migrations and exits.
func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dispatcher migrate")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Applies the job store's database migrations to $DATABASE_URL and exits.")
		fmt.Fprintln(stderr, "`dispatcher serve` applies them too; this is for deployments that migrate first.")
	}
	if err := fs.Parse(args); err != nil {
		return exitCodeForFlagError(err)
	}
	cfg, err := service.Load()
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	store, err := jobstore.Open(ctx, jobstore.Config{URL: cfg.DatabaseURL, MaxConns: 2})
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher: migrate:", err)
		return 1
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		fmt.Fprintln(stderr, "dispatcher: migrate:", err)
		return 1
	}
	fmt.Fprintln(stdout, "migrations applied")
	return 0
}
