package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// runJobsList implements `dispatcher jobs list`.
func runJobsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobs list", flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	state := fs.String("state", "", "only jobs in this state (queued, running, succeeded, failed, cancelled, unrouted)")
	route := fs.String("route", "", "only the jobs of this route")
	eventID := fs.String("event", "", "only the jobs of this event id")
	since := fs.String("since", "", "only jobs whose event was received at or after this time (RFC 3339)")
	until := fs.String("until", "", "only jobs whose event was received before this time (RFC 3339)")
	limit := fs.Int("limit", 50, "jobs per page (1 to 1000)")
	cursor := fs.String("cursor", "", "continue a listing where the previous page ended (printed after a full page)")
	all := fs.Bool("all", false, "follow the pages to the end of the listing")
	asJSON := fs.Bool("json", false, "print the API's answer (each page's JSON) instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher jobs list [--state S] [--route R] [--since T] [--until T] [--event ID] [--limit N] [--cursor C | --all] [--json]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Lists jobs newest first (GET /jobs) as a table: id, state, route, attempts, the time")
		fmt.Fprintln(fs.Output(), "the event was received, and the error's first line. Read credentials (see `dispatcher jobs help`).")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "jobs list: unexpected argument %q\n", pos[0])
		return 2
	}
	for name, v := range map[string]string{"--since": *since, "--until": *until} {
		if v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				fmt.Fprintf(stderr, "jobs list: %s %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z\n", name, v)
				return 2
			}
		}
	}
	c, err := api.client(false)
	if err != nil {
		return exitFor(stderr, "list", err)
	}
	q := url.Values{}
	for k, v := range map[string]string{"state": *state, "route": *route, "event_id": *eventID, "since": *since,
		"until": *until, "cursor": *cursor, "limit": strconv.Itoa(*limit)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var tw *tabwriter.Writer
	if !*asJSON {
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tROUTE\tATTEMPTS\tRECEIVED\tERROR")
	}
	n := 0
	for {
		var page struct {
			Jobs       []statusapi.JobView `json:"jobs"`
			NextCursor string              `json:"next_cursor"`
		}
		var raw json.RawMessage
		rctx, cancel := context.WithTimeout(ctx, api.timeout)
		err := c.call(rctx, "GET", "/jobs?"+q.Encode(), nil, &raw)
		cancel()
		if err == nil {
			err = json.Unmarshal(raw, &page)
		}
		if err != nil {
			if tw != nil {
				_ = tw.Flush()
			}
			return exitFor(stderr, "list", err)
		}
		n += len(page.Jobs)
		if *asJSON {
			fmt.Fprintln(stdout, strings.TrimSpace(string(raw)))
		} else {
			for _, j := range page.Jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, j.State, j.Route, j.Attempts, j.MaxAttempts,
					j.ReceivedAt.Local().Format("2006-01-02 15:04:05"), firstLine(j.Error, 80))
			}
		}
		if page.NextCursor == "" {
			break
		}
		if !*all {
			if tw != nil {
				_ = tw.Flush()
			}
			fmt.Fprintf(stderr, "more jobs: --cursor %s (or --all)\n", page.NextCursor)
			return 0
		}
		q.Set("cursor", page.NextCursor)
	}
	if tw != nil {
		_ = tw.Flush()
		fmt.Fprintf(stderr, "%d jobs\n", n)
	}
	return 0
}

// firstLine is the first line of s, cut to at most max characters.
func firstLine(s string, max int) string {
	s, _, cut := strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.ReplaceAll(s, "\t", " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return string(r[:max-1]) + "…"
	}
	if cut {
		return s + " …"
	}
	return s
}
