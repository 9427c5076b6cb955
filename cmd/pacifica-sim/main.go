// Command pacifica-sim runs a simulated Pacifica site (cartd, ingest, notifications and a
// read-only metadata subset) on loopback, and talks to one as the Pacifica CLI would:
//
//	pacifica-sim serve   [--cartd ADDR --ingest ADDR --notifications ADDR --metadata ADDR --data DIR ...]
//	pacifica-sim upload  [--ingest URL] [--submitter V --project V --instrument V] [--kv key=value ...] [--from-event FILE] [--json] DIR
//	pacifica-sim show    ID [--metadata URL --cartd URL] [--extract DIR] [--json]
//
// Each command prints its usage with -h. Exit status: 0 success, 1 failure, 2 bad usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: pacifica-sim <command> [flags]

Commands:
  serve    run the simulated Pacifica services until interrupted
  upload   upload a directory as a new transaction, as the Pacifica CLI does
  show     print a transaction and optionally download its files

Run "pacifica-sim <command> -h" for the flags of a command.
`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "upload":
		return runUpload(ctx, args[1:], stdout, stderr)
	case "show":
		return runShow(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "pacifica-sim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
