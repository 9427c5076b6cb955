package statusapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// scriptRun is a script job as dispatcher-k8s's GET /scriptlog showed its runs (uuid,
// event, stdout, stderr, return_code, script_id, created, updated, deleted), with the
// job's state, error and uploads besides.
type scriptRun struct {
	UUID       string          `json:"uuid"`
	Event      json.RawMessage `json:"event"`
	Stdout     string          `json:"stdout"`
	Stderr     string          `json:"stderr"`
	ReturnCode *int            `json:"return_code"`
	ScriptID   string          `json:"script_id"`
	Created    string          `json:"created"`
	Updated    string          `json:"updated"`
	Deleted    *string         `json:"deleted"`

	State         jobstore.State  `json:"state"`
	Error         string          `json:"error"`
	Attempts      int             `json:"attempts"`
	TransactionID *int64          `json:"transaction_id"`
	Outputs       json.RawMessage `json:"outputs,omitempty"`
	Truncated     bool            `json:"truncated,omitempty"`
	// EventOmitted and OutputOmitted: the listing left out an event or an output larger
	// than its bound; GET /scriptlog/{uuid} gives them.
	EventOmitted  bool `json:"event_omitted,omitempty"`
	OutputOmitted bool `json:"output_omitted,omitempty"`
}

// scriptDetails is the part of a script job's details (scripts.Run) the log shows.
type scriptDetails struct {
	Script     string          `json:"script"`
	ReturnCode *int            `json:"return_code"`
	Stdout     string          `json:"stdout"`
	Stderr     string          `json:"stderr"`
	Truncated  bool            `json:"truncated"`
	Outputs    json.RawMessage `json:"outputs"`
}

// scriptRunOf is the run of a script job. In a listing (brief), an event larger than
// MaxItemBytes is left out unread.
func (a *API) scriptRunOf(ctx context.Context, j jobstore.Job, brief bool) scriptRun {
	if brief {
		bodies, err := a.cfg.Store.EventBodiesWithin(ctx, []uuid.UUID{j.ID}, a.cfg.MaxItemBytes)
		b, ok := bodies[j.ID]
		return a.scriptRunWith(j, b, err == nil && ok)
	}
	body, ct, err := a.cfg.Store.EventBody(ctx, j.ID)
	return a.scriptRunWith(j, jobstore.EventBody{Body: body, ContentType: ct, Size: len(body)}, err == nil)
}

// scriptRunWith is the script run of j with its event as read (found false: it could not
// be read, and shows as null).
func (a *API) scriptRunWith(j jobstore.Job, ev jobstore.EventBody, found bool) scriptRun {
	var d scriptDetails
	if len(j.Details) > 0 {
		_ = json.Unmarshal(j.Details, &d)
	}
	if d.Script == "" {
		d.Script = strings.TrimPrefix(j.Route, a.cfg.ScriptRoutePrefix)
	}
	v := scriptRun{UUID: j.ID.String(), Event: json.RawMessage("null"), Stdout: d.Stdout, Stderr: d.Stderr,
		ReturnCode: d.ReturnCode, ScriptID: d.Script, Created: compatTime(j.ReceivedAt), Updated: compatTime(j.UpdatedAt),
		State: j.State, Error: j.Error, Attempts: j.Attempts, TransactionID: j.TransactionID,
		Outputs: d.Outputs, Truncated: d.Truncated, OutputOmitted: j.DetailsOmitted()}
	v.EventOmitted = found && ev.Body == nil
	switch {
	case !found || ev.Body == nil:
	case ev.ContentType == event.StoredPacifica:
		// A Pacifica event is kept as its body, which is its document: no need to parse it
		// again (only to check it, since it goes into the answer as it is).
		if json.Valid(ev.Body) {
			v.Event = ev.Body
		}
	default:
		if e, err := event.Load(ev.Body, ev.ContentType); err == nil {
			v.Event = e.Document()
		}
	}
	return v
}

// scriptLog serves GET /scriptlog/{id}: one script run; 404 when unknown or not a script
// job.
func (a *API) scriptLog(ctx context.Context, w http.ResponseWriter, j jobstore.Job) {
	if !strings.HasPrefix(j.Route, a.cfg.ScriptRoutePrefix) {
		writeError(w, http.StatusNotFound, "no script run "+j.ID.String())
		return
	}
	writeJSON(w, http.StatusOK, a.scriptRunOf(ctx, j, false))
}

// scriptLogs serves GET /scriptlog: the script runs, newest first. dispatcher-k8s listed
// every run; this lists the newest ?limit= (default 100, at most jobstore.MaxLimit), and
// ?script= selects one script's runs. The answer stays a JSON list, bounded to
// MaxAnswerBytes: when a page stops early or more runs follow, the header X-Next-Cursor (and
// Link rel="next") gives ?cursor= of the rest, and X-Truncated: true says it stopped early.
func (a *API) scriptLogs(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r, 100)
	if !ok {
		return
	}
	f := jobstore.Filter{Limit: limit, RoutePrefix: a.cfg.ScriptRoutePrefix, MaxDetailBytes: a.cfg.MaxItemBytes,
		Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("script"); s != "" {
		if err := checkText("script", s); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.Route = a.cfg.ScriptRoutePrefix + s
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
	defer cancel()
	page, err := a.cfg.Store.List(ctx, f)
	if err != nil {
		if errors.Is(err, jobstore.ErrBadCursor) {
			writeError(w, http.StatusBadRequest, "cursor: not a cursor this service gave out")
			return
		}
		a.storeError(w, err, [16]byte{})
		return
	}
	ids := make([]uuid.UUID, len(page.Jobs))
	for i, j := range page.Jobs {
		ids[i] = j.ID
	}
	// Every run's event in one query, not one per run.
	bodies, berr := a.cfg.Store.EventBodiesWithin(ctx, ids, a.cfg.MaxItemBytes)
	runs, n := a.encodeRuns(page.Jobs, func(id uuid.UUID) (jobstore.EventBody, bool) {
		b, ok := bodies[id]
		return b, berr == nil && ok
	})
	if n < len(page.Jobs) {
		w.Header().Set("X-Truncated", "true")
		page.Next = jobstore.CursorAfter(page.Jobs[n-1])
	}
	if page.Next != "" {
		q := r.URL.Query()
		q.Set("cursor", page.Next)
		w.Header().Set("X-Next-Cursor", page.Next)
		w.Header().Set("Link", `</scriptlog?`+q.Encode()+`>; rel="next"`)
	}
	writeJSONList(w, http.StatusOK, runs)
}

// encodeRuns encodes the runs of jobs, each once, as elements of writeJSONList's answer,
// until their size would pass MaxAnswerBytes (the first always goes): n is how many.
func (a *API) encodeRuns(jobs []jobstore.Job, eventOf func(uuid.UUID) (jobstore.EventBody, bool)) (runs [][]byte, n int) {
	size := 0
	for i, j := range jobs {
		ev, found := eventOf(j.ID)
		b, err := json.MarshalIndent(a.scriptRunWith(j, ev, found), listIndent, listIndent)
		if err != nil {
			b = []byte(`null`) // cannot happen: every part is valid JSON
		}
		if size += len(b) + len(listIndent) + 2; size > a.cfg.MaxAnswerBytes && i > 0 {
			return runs, i
		}
		runs = append(runs, b)
	}
	return runs, len(jobs)
}
