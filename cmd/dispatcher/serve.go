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
	role := fs.String("role", "", "what this process runs: all (receiver and workers), receiver, or worker (default: $ROLE, else all)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher serve [--role=all|receiver|worker]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Receives Pacifica notification events, records jobs in PostgreSQL, queues them on")
		fmt.Fprintln(fs.Output(), "RabbitMQ and runs them. Configuration comes from the environment (see the README;")
		fmt.Fprintln(fs.Output(), "`dispatcher config check` checks it).")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", pos[0])
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
	s, err := service.New(ctx, cfg, service.Options{Logger: startLogger(cfg, stderr, "serve")})
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
