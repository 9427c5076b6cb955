package statusapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// ListFilter reads the filters and paging of a listing of jobs (GET /jobs, and the jobs
// web page) from its query: state, route, event_id, since and until (reception time, RFC
// 3339), cursor and limit (1 to jobstore.MaxLimit; the store's default when absent). The
// error names the parameter at fault, for a 400 answer.
func ListFilter(q url.Values) (jobstore.Filter, error) {
	f := jobstore.Filter{State: q.Get("state"), Route: q.Get("route"), EventID: q.Get("event_id"), Cursor: q.Get("cursor")}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit"), 0); err != nil {
		return f, err
	}
	for _, p := range []struct{ name, v string }{{"route", f.Route}, {"event_id", f.EventID}} {
		if err := checkText(p.name, p.v); err != nil {
			return f, err
		}
	}
	if f.State != "" && !jobstore.State(f.State).Valid() {
		return f, fmt.Errorf("state: unknown state %q", f.State)
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if *p.to, err = timeParam(q.Get(p.name)); err != nil {
			return f, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return f, nil
}

// parseLimit reads a limit parameter: 1 to jobstore.MaxLimit, def when s is empty.
func parseLimit(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > jobstore.MaxLimit {
		return 0, fmt.Errorf("limit: want a whole number from 1 to %d", jobstore.MaxLimit)
	}
	return n, nil
}

// BulkRetry selects the failed or cancelled jobs a bulk retry queues again: the body of
// POST /jobs/retry, and the web page's form. Times are RFC 3339; empty fields select
// everything.
type BulkRetry struct {
	State string `json:"state"`
	Route string `json:"route"`
	Since string `json:"since"`
	Until string `json:"until"`
	Error string `json:"error"`
	Limit int    `json:"limit"`
}

// Filter checks b and returns the job store's filter; the error says what is wrong.
func (b BulkRetry) Filter() (jobstore.RetryFilter, error) {
	f := jobstore.RetryFilter{State: jobstore.State(b.State), Route: b.Route, ErrorContains: b.Error, Limit: b.Limit}
	for _, t := range []struct {
		text string
		to   *time.Time
	}{{b.Since, &f.Since}, {b.Until, &f.Until}} {
		if t.text == "" {
			continue
		}
		var err error
		if *t.to, err = time.Parse(time.RFC3339, t.text); err != nil {
			return f, fmt.Errorf("%q is not an RFC 3339 time", t.text)
		}
	}
	if f.State != "" && f.State != jobstore.Failed && f.State != jobstore.Cancelled {
		return f, fmt.Errorf("state %q: only failed or cancelled jobs are retried", b.State)
	}
	for _, p := range []struct{ name, v string }{{"route", b.Route}, {"error", b.Error}} {
		if err := checkText(p.name, p.v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// checkText refuses a filter parameter that no stored text can equal: PostgreSQL text
// holds neither NUL nor invalid UTF-8, and the store would fail on it (which is not the
// store being unavailable).
func checkText(name, v string) error {
	switch {
	case !utf8.ValidString(v):
		return fmt.Errorf("%s: not valid UTF-8", name)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("%s: contains a NUL character", name)
	}
	return nil
}

// timeParam reads a time parameter (since, until): RFC 3339, or empty for none.
func timeParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", v)
	}
	return t, nil
}
