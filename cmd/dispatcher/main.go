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

// command is one subcommand of the dispatcher binary. Each prints its usage on stdout
// when asked with -h or --help (and for `dispatcher help <command>`).
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
		{"jobs", "list, show, retry and cancel jobs through a running service's API (jobs help)", runJobs},
		{"retry", "the same as jobs retry", runJobsRetry},
		{"subscribe", "register this service's routes with Pacifica notifications (idempotent; --list, --remove)", runSubscribe},
		{"version", "print the version, VCS revision and Go release of this build", runVersion},
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
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// dispatcher help <command> [<subcommand>]: the command's own usage.
			if c, ok := lookup(args[1]); ok {
				return c.run(ctx, append(args[2:], "--help"), stdin, stdout, stderr)
			}
			fmt.Fprintf(stderr, "dispatcher help: unknown command %q\n\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	if c, ok := lookup(args[0]); ok {
		return c.run(ctx, args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "dispatcher: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: dispatcher <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `dispatcher help <command>` (or `dispatcher <command> --help`) for a command's own help.")
}
