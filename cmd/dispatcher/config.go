package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runConfig prints the configuration variables, or checks the current environment.
func runConfig(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, "Usage: dispatcher config [check]")
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "Without an argument, prints every environment variable with its default and")
		fmt.Fprintln(stdout, "meaning (a Markdown table). `check` loads the current environment and reports")
		fmt.Fprintln(stdout, "the problems, naming the variable (or the script of SCRIPT_DIR); it exits 0 when")
		fmt.Fprintln(stdout, "the configuration is valid.")
		return 0
	}
	switch {
	case len(args) == 0:
		if err := service.WriteEnvTable(stdout); err != nil {
			fmt.Fprintln(stderr, "dispatcher:", err)
			return 1
		}
		return 0
	case len(args) == 1 && args[0] == "check":
		cfg, err := service.Load()
		if err == nil {
			_, _, rerr := service.LoadRoutes(cfg)
			err = errors.Join(cfg.CheckAccess(), rerr)
		}
		if err == nil {
			lines, warn := cfg.AccessSummary()
			for i, l := range lines {
				if warn[i] {
					l = "WARNING: " + l
				}
				fmt.Fprintln(stdout, l)
			}
		}
		if err == nil && cfg.Role != service.RoleReceiver {
			var sb *sandbox.Sandbox
			if sb, err = service.NewSandbox(ctx, cfg); err == nil {
				if sb.Enabled() {
					fmt.Fprintln(stdout, "sandbox:", sb.Describe())
				} else {
					fmt.Fprintln(stdout, "WARNING: models and scripts would run without a sandbox:", sb.Reason())
				}
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "dispatcher:", err)
			return 1
		}
		fmt.Fprintln(stdout, "configuration is valid")
		return 0
	}
	fmt.Fprintln(stderr, "Usage: dispatcher config [check]")
	return 2
}
