package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// states are the job states in the order the pages show them.
var states = []jobstore.State{jobstore.Queued, jobstore.Running, jobstore.Succeeded, jobstore.Failed,
	jobstore.Cancelled, jobstore.Unrouted}

// dashboardData is the dashboard: the jobs by route and state.
type dashboardData struct {
	States    []jobstore.State
	Rows      []countRow
	Total     countRow
	CountedAt time.Time
	Err       string
}

type countRow struct {
	Route string
	Cells []countCell
	All   int64
}

type countCell struct {
	Route string
	State jobstore.State
	N     int64
}

// add counts n jobs of state in the row.
func (row *countRow) add(state jobstore.State, n int64) {
	for i := range row.Cells {
		if row.Cells[i].State == state {
			row.Cells[i].N += n
		}
	}
	row.All += n
}

func newRow(route string, all bool) *countRow {
	row := &countRow{Route: route}
	for _, s := range states {
		c := countCell{Route: route, State: s}
		if all {
			c.Route = ""
		}
		row.Cells = append(row.Cells, c)
	}
	return row
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	defer cancel()
	d := dashboardData{States: states}
	counts, at, err := u.cfg.Counter.Counts(ctx)
	if err != nil {
		u.cfg.Logger.Warn("web page: counting jobs", "error", err)
		d.Err = "The jobs could not be counted: the job store is unavailable."
	}
	d.CountedAt = at
	rows, total := map[string]*countRow{}, newRow("", true)
	for _, c := range counts {
		row := rows[c.Route]
		if row == nil {
			row = newRow(c.Route, false)
			rows[c.Route] = row
		}
		row.add(c.State, c.N)
		total.add(c.State, c.N)
	}
	d.Total = *total
	for _, row := range rows {
		d.Rows = append(d.Rows, *row)
	}
	sort.Slice(d.Rows, func(i, j int) bool { return d.Rows[i].Route < d.Rows[j].Route })
	u.render(w, r, http.StatusOK, "dashboard", "Jobs", d)
}

// listData is the jobs list.
type listData struct {
	Filter statusapi.BulkRetry // the list's filters, as the bulk retry form takes them
	Query  url.Values
	States []jobstore.State
	Routes []string
	Jobs   []jobstore.Job
	Next   string
	First  string
	Err    string
}

func (u *UI) jobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := statusapi.ListFilter(q)
	d := listData{Query: q, States: states}
	d.Filter.State, d.Filter.Route, d.Filter.Since, d.Filter.Until = f.State, f.Route, q.Get("since"), q.Get("until")
	if f.State != string(jobstore.Failed) && f.State != string(jobstore.Cancelled) {
		d.Filter.State = ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	defer cancel()
	d.Routes = u.routes(ctx)
	if err != nil {
		d.Err = err.Error()
		u.render(w, r, http.StatusBadRequest, "jobs", "Jobs", d)
		return
	}
	// The list shows neither logs nor details: the store leaves them out.
	f.MaxDetailBytes = 1
	page, err := u.cfg.Store.List(ctx, f)
	if errors.Is(err, jobstore.ErrBadCursor) {
		d.Err = "cursor: not a cursor this service gave out"
		u.render(w, r, http.StatusBadRequest, "jobs", "Jobs", d)
		return
	}
	if err != nil {
		u.storeError(w, r, err)
		return
	}
	d.Jobs = page.Jobs
	if page.Next != "" {
		nq := cloneQuery(q)
		nq.Set("cursor", page.Next)
		d.Next = "/ui/jobs?" + nq.Encode()
	}
	if f.Cursor != "" {
		fq := cloneQuery(q)
		fq.Del("cursor")
		d.First = "/ui/jobs?" + fq.Encode()
	}
	u.render(w, r, http.StatusOK, "jobs", "Jobs", d)
}

// routes are the routes the last count saw, for the filter's choices.
func (u *UI) routes(ctx context.Context) []string {
	counts, _, _ := u.cfg.Counter.Counts(ctx)
	seen := map[string]bool{}
	var out []string
	for _, c := range counts {
		if !seen[c.Route] {
			seen[c.Route] = true
			out = append(out, c.Route)
		}
	}
	sort.Strings(out)
	return out
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if v[0] != "" {
			out[k] = v
		}
	}
	return out
}

// jobData is a job's page.
type jobData struct {
	Job      jobstore.Job
	Attempts []attemptRow
	Event    eventView
	Script   *scriptRun
	Proxymod *proxymodRun
	// Details are the job's details as indented JSON, for a handler the page does not know.
	Details string
	Done    string
	Live    bool
}

type attemptRow struct {
	jobstore.Attempt
	Duration string
}

// eventView is the summary of a job's event.
type eventView struct {
	Size    int
	Omitted bool
	Err     string
	Ingest  *event.Ingest
	// Files and KeyValues are shown up to maxShown; More counts the rest.
	Files     []event.File
	MoreFiles int
	KeyValues []event.KeyValue
	MoreKVs   int
}

const maxShown = 100

// scriptRun is the part of a script job's details the page shows (scripts.Run).
type scriptRun struct {
	Script     string  `json:"script"`
	Program    string  `json:"program"`
	ReturnCode *int    `json:"return_code"`
	Signal     string  `json:"signal"`
	Duration   float64 `json:"duration_seconds"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	Truncated  bool    `json:"truncated"`
	Downloaded int     `json:"downloaded_files"`
	Outputs    []struct {
		Name          string `json:"name"`
		Directory     string `json:"directory"`
		Files         int    `json:"files"`
		KeyValues     int    `json:"key_values"`
		TransactionID *int64 `json:"transaction_id"`
	} `json:"outputs"`
}

// proxymodRun is a proxymod job's details (proxymod.Details).
type proxymodRun struct {
	Models        []string `json:"models"`
	Configs       int      `json:"configs"`
	UploadedFiles int      `json:"uploaded_files"`
	Failed        bool     `json:"failed_run_uploaded"`
}

// done are the messages of a page shown after an action (?done=).
var done = map[string]string{
	"cancel": "Cancel requested: a queued job is cancelled at once, a running one when its worker next hears of it.",
	"retry":  "Queued again.",
}

func (u *UI) job(w http.ResponseWriter, r *http.Request) {
	j, ctx, cancel, ok := u.jobOf(w, r)
	if !ok {
		return
	}
	defer cancel()
	d := jobData{Job: j, Done: done[r.URL.Query().Get("done")], Live: !j.State.Final()}
	if att, err := u.cfg.Store.Attempts(ctx, j.ID); err == nil {
		for _, a := range att {
			row := attemptRow{Attempt: a}
			if a.FinishedAt != nil {
				row.Duration = a.FinishedAt.Sub(a.StartedAt).Round(time.Millisecond).String()
			}
			d.Attempts = append(d.Attempts, row)
		}
	}
	d.Event = u.eventOf(ctx, j.ID)
	if len(j.Details) > 0 {
		switch {
		case strings.HasPrefix(j.Route, u.cfg.ScriptRoutePrefix):
			var s scriptRun
			if json.Unmarshal(j.Details, &s) == nil {
				d.Script = &s
			}
		case j.Route == "proxymod":
			var p proxymodRun
			if json.Unmarshal(j.Details, &p) == nil {
				d.Proxymod = &p
			}
		}
		if d.Script == nil && d.Proxymod == nil {
			var v any
			if json.Unmarshal(j.Details, &v) == nil {
				b, _ := json.MarshalIndent(v, "", "  ")
				d.Details = string(b)
			}
		}
	}
	u.render(w, r, http.StatusOK, "job", "Job "+j.ID.String(), d)
}

// jobOf reads the job of the path; it answers the request itself when it cannot.
func (u *UI) jobOf(w http.ResponseWriter, r *http.Request) (jobstore.Job, context.Context, context.CancelFunc, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		u.fail(w, r, http.StatusNotFound, fmt.Sprintf("%q is not a job id.", r.PathValue("id")))
		return jobstore.Job{}, nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	j, err := u.cfg.Store.Get(ctx, id)
	if err != nil {
		cancel()
		u.storeError(w, r, err)
		return jobstore.Job{}, nil, nil, false
	}
	return j, ctx, cancel, true
}

// eventOf summarises a job's event, read within MaxEventBytes.
func (u *UI) eventOf(ctx context.Context, id uuid.UUID) eventView {
	body, ct, size, err := u.cfg.Store.EventBodyWithin(ctx, id, u.cfg.MaxEventBytes)
	v := eventView{Size: size}
	switch {
	case err != nil:
		v.Err = "The event could not be read."
		return v
	case body == nil:
		v.Omitted = true
		return v
	}
	ev, err := event.Load(body, ct)
	if err != nil {
		v.Err = "The stored event does not parse."
		return v
	}
	data := ev.Data()
	if len(data) == 0 {
		return v
	}
	in, err := event.ParseIngest(data)
	if err != nil {
		return v // not an ingest event: its id, source and type are the job's
	}
	v.Ingest = in
	v.Files, v.MoreFiles = in.Files[:min(len(in.Files), maxShown)], max(len(in.Files)-maxShown, 0)
	v.KeyValues, v.MoreKVs = in.KeyValues[:min(len(in.KeyValues), maxShown)], max(len(in.KeyValues)-maxShown, 0)
	return v
}

// liveLog is the answer of GET /ui/jobs/{id}/log, which the job page's script polls.
type liveLog struct {
	State jobstore.State `json:"state"`
	Final bool           `json:"final"`
	Log   string         `json:"log"`
}

func (u *UI) jobLog(w http.ResponseWriter, r *http.Request) {
	j, _, cancel, ok := u.jobOf(w, r)
	if !ok {
		return
	}
	defer cancel()
	secure(w)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(liveLog{State: j.State, Final: j.State.Final(), Log: j.Logs})
}

// scriptLogData is the script log: the runs of script jobs, newest first.
type scriptLogData struct {
	Script string
	Runs   []scriptRow
	Next   string
	First  string
	Err    string
}

type scriptRow struct {
	Job     jobstore.Job
	Run     *scriptRun
	Omitted bool
}

func (u *UI) scriptLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := scriptLogData{Script: q.Get("script")}
	// The paging of GET /jobs; the script selects the route.
	f, err := statusapi.ListFilter(url.Values{"cursor": {q.Get("cursor")}, "limit": {q.Get("limit")}, "route": {d.Script}})
	if err != nil {
		d.Err = err.Error()
		u.render(w, r, http.StatusBadRequest, "scriptlog", "Script log", d)
		return
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	f.Route, f.RoutePrefix, f.MaxDetailBytes = "", u.cfg.ScriptRoutePrefix, statusapi.DefaultMaxItemBytes
	if d.Script != "" {
		f.Route = u.cfg.ScriptRoutePrefix + d.Script
	}
	ctx, cancel := context.WithTimeout(r.Context(), u.cfg.Timeout)
	defer cancel()
	page, err := u.cfg.Store.List(ctx, f)
	if errors.Is(err, jobstore.ErrBadCursor) {
		d.Err = "cursor: not a cursor this service gave out"
		u.render(w, r, http.StatusBadRequest, "scriptlog", "Script log", d)
		return
	}
	if err != nil {
		u.storeError(w, r, err)
		return
	}
	for _, j := range page.Jobs {
		row := scriptRow{Job: j, Omitted: j.DetailsOmitted()}
		var s scriptRun
		if !row.Omitted && len(j.Details) > 0 && json.Unmarshal(j.Details, &s) == nil {
			row.Run = &s
		}
		d.Runs = append(d.Runs, row)
	}
	if page.Next != "" {
		nq := cloneQuery(q)
		nq.Set("cursor", page.Next)
		d.Next = "/ui/scriptlog?" + nq.Encode()
	}
	if f.Cursor != "" {
		fq := cloneQuery(q)
		fq.Del("cursor")
		d.First = "/ui/scriptlog?" + fq.Encode()
	}
	u.render(w, r, http.StatusOK, "scriptlog", "Script log", d)
}
