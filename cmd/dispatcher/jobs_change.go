package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// runJobsRetry implements `dispatcher jobs retry` (and `dispatcher retry`): the jobs
// named, or without names every failed (or cancelled) job the filter selects.
func runJobsRetry(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobs retry", flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	state := fs.String("state", "failed", "without IDs: failed, cancelled, or all (both)")
	route := fs.String("route", "", "without IDs: only the jobs of this route")
	since := fs.String("since", "", "without IDs: only jobs whose event was received at or after this time (RFC 3339)")
	until := fs.String("until", "", "without IDs: only jobs whose event was received before this time (RFC 3339)")
	errText := fs.String("error", "", "without IDs: only jobs whose error holds this text (any case)")
	limit := fs.Int("limit", 1000, "without IDs: most jobs retried by this call (at most 10000)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher jobs retry ID...")
		fmt.Fprintln(fs.Output(), "       dispatcher jobs retry [--state failed|cancelled|all] [--route R] [--since T] [--until T] [--error TEXT] [--limit N]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Queues failed or cancelled jobs again, with the operator credentials (ADMIN_AUTH_*,")
		fmt.Fprintln(fs.Output(), "see `dispatcher jobs help`); each keeps what earlier attempts uploaded. With IDs, those")
		fmt.Fprintln(fs.Output(), "jobs (POST /jobs/{id}/retry). Without, the failed (or cancelled) jobs the filter")
		fmt.Fprintln(fs.Output(), "selects, oldest first (POST /jobs/retry). Prints the ids queued again.")
		fmt.Fprintln(fs.Output(), "`dispatcher retry` is the same command.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	filtered := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "state", "route", "since", "until", "error", "limit":
			filtered = true
		}
	})
	if len(pos) > 0 && filtered {
		fmt.Fprintln(stderr, "jobs retry: give job ids or a filter (--state, --route, --since, --until, --error, --limit), not both")
		return 2
	}
	c, err := api.client(true)
	if err != nil {
		return exitFor(stderr, "retry", err)
	}
	if len(pos) > 0 {
		return changeEach(ctx, c, api, "retry", pos, stdout, stderr)
	}
	if *state == "all" {
		*state = ""
	}
	ctx, cancel := context.WithTimeout(ctx, api.timeout)
	defer cancel()
	var out struct {
		Retried int      `json:"retried"`
		IDs     []string `json:"ids"`
	}
	err = c.call(ctx, "POST", "/jobs/retry", map[string]any{"state": *state, "route": *route, "since": *since,
		"until": *until, "error": *errText, "limit": *limit}, &out)
	if err != nil {
		return exitFor(stderr, "retry", err)
	}
	for _, id := range out.IDs {
		fmt.Fprintln(stdout, id)
	}
	fmt.Fprintf(stderr, "%d jobs queued again\n", out.Retried)
	return 0
}

// runJobsCancel implements `dispatcher jobs cancel ID...`.
func runJobsCancel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobs cancel", flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher jobs cancel ID...")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Cancels queued or running jobs (POST /jobs/{id}/cancel) with the operator credentials")
		fmt.Fprintln(fs.Output(), "(ADMIN_AUTH_*, see `dispatcher jobs help`). A running job stops at its next step.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "jobs cancel: give the ids of the jobs to cancel")
		return 2
	}
	c, err := api.client(true)
	if err != nil {
		return exitFor(stderr, "cancel", err)
	}
	return changeEach(ctx, c, api, "cancel", pos, stdout, stderr)
}

// changeEach posts an operator action (retry, cancel) for each job, printing each job's
// new state; it goes on after a failure and exits 1 if any failed.
func changeEach(ctx context.Context, c *apiClient, api apiFlags, action string, ids []string, stdout, stderr io.Writer) int {
	code := 0
	for _, id := range ids {
		rctx, cancel := context.WithTimeout(ctx, api.timeout)
		var j statusapi.JobView
		err := c.call(rctx, "POST", "/jobs/"+url.PathEscape(id)+"/"+action, nil, &j)
		cancel()
		if err != nil {
			code = exitFor(stderr, action, err)
			continue
		}
		state := j.State
		if j.CancelRequested && j.State == "running" {
			state += " (cancel requested: it stops at its next step)"
		}
		fmt.Fprintf(stdout, "%s\t%s\n", j.ID, state)
	}
	return code
}
