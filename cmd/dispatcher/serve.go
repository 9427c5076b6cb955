package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runServe runs the dispatcher service until ctx is cancelled (SIGINT, SIGTERM).
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "what this process runs: all (receiver and workers), receiver, or worker (default: $ROLE, else all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dispatcher serve [--role=all|receiver|worker]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Receives Pacifica notification events, records jobs in PostgreSQL, queues them on")
		fmt.Fprintln(stderr, "RabbitMQ and runs them. Configuration comes from the environment (see the README).")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitCodeForFlagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := service.Load()
	if *role != "" {
		cfg.Role = *role
		if err == nil {
			err = cfg.Validate()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	s, err := service.New(ctx, cfg, service.Options{Logger: service.NewLogger(cfg, stderr)})
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	return 0
}

func exitCodeForFlagError(err error) int {
	if err == flag.ErrHelp {
		return 0
	}
	return 2
}
