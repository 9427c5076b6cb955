package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runConfig prints the configuration variables, or checks the current environment.
func runConfig(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher config [check]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Without an argument, prints every environment variable with its default and")
		fmt.Fprintln(fs.Output(), "meaning (a Markdown table). `check` loads the current environment and reports")
		fmt.Fprintln(fs.Output(), "every problem at once, each naming the variable (or the script of SCRIPT_DIR):")
		fmt.Fprintln(fs.Output(), "values, credentials, the scripts and their filters, the receiver's sender")
		fmt.Fprintln(fs.Output(), "authentication, and for workers the sandbox, PROXYMOD_PYTHON (it must run) and")
		fmt.Fprintln(fs.Output(), "DATA_DIR (it must be writable, or creatable). It says who may do what, warning")
		fmt.Fprintln(fs.Output(), "about what is open to anyone, and exits 0 when nothing is wrong, 1 otherwise.")
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(pos) == 0:
		if err := service.WriteEnvTable(stdout); err != nil {
			fmt.Fprintln(stderr, "dispatcher:", err)
			return 1
		}
		return 0
	case len(pos) == 1 && pos[0] == "check":
		return configCheck(ctx, stdout, stderr)
	}
	fmt.Fprintln(stderr, "Usage: dispatcher config [check]")
	return 2
}

// configCheck implements `dispatcher config check`: every problem is collected, then all
// are printed.
func configCheck(ctx context.Context, stdout, stderr io.Writer) int {
	var problems []error
	cfg, err := service.LoadAll()
	problems = append(problems, flatten(err)...)
	_, _, err = service.LoadRoutes(cfg)
	problems = append(problems, flatten(err)...)
	problems = append(problems, flatten(cfg.CheckAccess())...)
	lines, warn := cfg.AccessSummary()
	for i, l := range lines {
		if warn[i] {
			l = "WARNING: " + l
		}
		fmt.Fprintln(stdout, l)
	}
	if cfg.Role != service.RoleReceiver {
		sb, err := service.NewSandbox(ctx, cfg)
		switch {
		case err != nil:
			problems = append(problems, flatten(err)...)
		case sb.Enabled():
			fmt.Fprintln(stdout, "sandbox:", sb.Describe())
		default:
			fmt.Fprintln(stdout, "WARNING: models and scripts would run without a sandbox:", sb.Reason())
		}
	}
	hostProblems, notes := cfg.CheckHost(ctx)
	problems = append(problems, hostProblems...)
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "dispatcher:", p)
		}
		fmt.Fprintf(stderr, "the configuration has %d problem%s\n", len(problems), map[bool]string{true: "", false: "s"}[len(problems) == 1])
		return 1
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return 0
}

// flatten lists the errors an errors.Join holds, one each (nil: none).
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
