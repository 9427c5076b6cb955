// Command dispatcher is the Go dispatcher for Pacifica: it receives Pacifica notification
// events, records and queues jobs, and runs them (proxymod models, operator scripts).
//
// Usage:
//
//	dispatcher <command> [arguments]
//
// Run `dispatcher help` for the list of commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// command is one subcommand of the dispatcher binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"filter", "evaluate a jsonpath2 filter on a JSON document (try a subscription filter)",
			func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
				return runFilter(args, stdin, stdout, stderr)
			}},
		{"serve", "run the service: receiver, status API and workers (see --role)", runServe},
		{"migrate", "apply the job store's database migrations and exit", runMigrate},
		{"config", "print the configuration variables, or check the environment (config check)", runConfig},
		{"routes", "list the routes of the configuration: the proxymod route and one per script", runRoutes},
		{"retry", "queue failed or cancelled jobs again, by state, route, time and error (operator credentials)", runRetry},
		{"subscribe", "register this service's routes with Pacifica notifications (idempotent; --list, --remove)", runSubscribe},
		{"version", "print the version", func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "dispatcher", version)
			return 0
		}},
	}
}

func main() {
	// No process of this user (a model or script run unsandboxed, or anything else) may
	// read this process's environment or memory, or attach to it.
	if err := nonDumpable(); err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher: making the process non-dumpable:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// nonDumpable sets PR_SET_DUMPABLE to 0: /proc/<pid>/environ, mem and fd become root's,
// and ptrace is refused to processes of the same user.
func nonDumpable() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "dispatcher: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: dispatcher <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `dispatcher <command> -h` for a command's own help.")
}
