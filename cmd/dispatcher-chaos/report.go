package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// jobView is what the run reads of a job from GET /jobs.
type jobView struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Route         string `json:"route"`
	EventID       string `json:"event_id"`
	Attempts      int    `json:"attempts"`
	Error         string `json:"error"`
	TransactionID *int64 `json:"transaction_id"`
}

func final(state string) bool {
	return state == "succeeded" || state == "failed" || state == "cancelled" || state == "unrouted"
}

// listJobs reads every job of the dispatcher through its status API.
func listJobs(base string) (map[string]jobView, error) {
	out := map[string]jobView{}
	cursor := ""
	for {
		var page struct {
			Jobs       []jobView `json:"jobs"`
			NextCursor string    `json:"next_cursor"`
		}
		u := base + "/jobs?limit=1000"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := devenv.GetJSON(u, &page); err != nil {
			return nil, fmt.Errorf("GET /jobs: %w", err)
		}
		for _, j := range page.Jobs {
			out[j.ID] = j
		}
		if page.NextCursor == "" || len(page.Jobs) == 0 {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// settle waits until every expected job exists, every event of events has a job, and
// every job is final, or the deadline.
func settle(ctx context.Context, base string, expected, events map[string]bool, deadline time.Time, progress func(string)) (map[string]jobView, bool) {
	var jobs map[string]jobView
	last := time.Time{}
	for {
		js, err := listJobs(base)
		if err == nil {
			jobs = js
			missing, open, noJob := 0, 0, 0
			for id := range expected {
				if _, ok := jobs[id]; !ok {
					missing++
				}
			}
			withJob := map[string]bool{}
			for _, j := range jobs {
				if !final(j.State) {
					open++
				}
				withJob[j.EventID] = true
			}
			for ev := range events {
				if !withJob[ev] {
					noJob++
				}
			}
			if missing == 0 && open == 0 && noJob == 0 {
				return jobs, true
			}
			if time.Since(last) >= 10*time.Second {
				progress(fmt.Sprintf("waiting: %d jobs not finished, %d accepted jobs not in the store yet, %d uploads through the simulator without a job",
					open, missing, noJob))
				last = time.Now()
			}
		} else if time.Since(last) >= 10*time.Second {
			progress(err.Error())
			last = time.Now()
		}
		if time.Now().After(deadline) || !pause(ctx, time.Second) {
			return jobs, false
		}
	}
}

// counter counts reasons and prints them most frequent first.
type counter map[string]int

func (c counter) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// expectation is one line of the verdict.
type expectation struct {
	ok   bool
	text string
}

func printVerdict(w io.Writer, exps []expectation) bool {
	all := true
	fmt.Fprintln(w, "expectations")
	for _, e := range exps {
		mark := "ok  "
		if !e.ok {
			mark, all = "FAIL", false
		}
		fmt.Fprintf(w, "  %s %s\n", mark, e.text)
	}
	return all
}
