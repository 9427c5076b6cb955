package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// runJobsShow implements `dispatcher jobs show ID`.
func runJobsShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobs show", flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	asJSON := fs.Bool("json", false, "print the API's answer instead")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher jobs show [--json] ID")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Shows a job (GET /jobs/{id}): its state, event, error, attempts, outputs (the")
		fmt.Fprintln(fs.Output(), "details its handler kept: uploads, transaction) and its log. Read credentials.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "jobs show: give one job id")
		return 2
	}
	c, err := api.client(false)
	if err != nil {
		return exitFor(stderr, "show", err)
	}
	ctx, cancel := context.WithTimeout(ctx, api.timeout)
	defer cancel()
	var raw json.RawMessage
	if err := c.call(ctx, "GET", "/jobs/"+url.PathEscape(pos[0]), nil, &raw); err != nil {
		return exitFor(stderr, "show", err)
	}
	if *asJSON {
		fmt.Fprintln(stdout, strings.TrimSpace(string(raw)))
		return 0
	}
	var j statusapi.JobView
	if err := json.Unmarshal(raw, &j); err != nil {
		return exitFor(stderr, "show", fmt.Errorf("the answer is not a job: %w", err))
	}
	writeJob(stdout, j)
	return 0
}

// writeJob prints a job for a person: fields, attempts, outputs, log.
func writeJob(w io.Writer, j statusapi.JobView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", name, fmt.Sprintf(format, args...))
	}
	field("job", "%s", j.ID)
	state := j.State
	if j.CancelRequested {
		state += " (cancel requested)"
	}
	field("state", "%s", state)
	field("route", "%s", j.Route)
	field("event", "%s (%s from %s)", j.EventID, j.EventType, j.EventSource)
	field("received", "%s", when(&j.ReceivedAt))
	if j.StartedAt != nil {
		field("started", "%s", when(j.StartedAt))
	}
	if j.FinishedAt != nil {
		field("finished", "%s", when(j.FinishedAt))
	}
	if j.NextAttemptAt != nil {
		field("next attempt", "%s", when(j.NextAttemptAt))
	}
	field("attempts", "%d of %d", j.Attempts, j.MaxAttempts)
	if j.TransactionID != nil {
		field("transaction", "%d", *j.TransactionID)
	}
	if j.Error != "" {
		field("error", "%s", indentRest(j.Error, "  "))
	}
	_ = tw.Flush()
	if len(j.History) > 0 {
		fmt.Fprintln(w, "\nattempts:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  N\tWORKER\tSTARTED\tFINISHED\tOUTCOME\tERROR")
		for _, a := range j.History {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.N, a.Worker, when(&a.StartedAt), when(a.FinishedAt), a.Outcome, firstLine(a.Error, 80))
		}
		_ = tw.Flush()
	}
	if len(j.Details) > 0 && string(j.Details) != "null" && string(j.Details) != "{}" {
		var buf bytes.Buffer
		if json.Indent(&buf, j.Details, "  ", "  ") == nil {
			fmt.Fprintf(w, "\noutputs:\n  %s\n", buf.String())
		}
	}
	if j.Logs != nil && *j.Logs != "" {
		fmt.Fprintln(w, "\nlog:")
		for _, line := range strings.Split(strings.TrimRight(*j.Logs, "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
}

// when formats a time for a person: local time, seconds.
func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

// indentRest indents the lines of s after the first.
func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}
