package statusapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// Store is what the API needs of the job store.
type Store interface {
	Get(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	List(ctx context.Context, f jobstore.Filter) (jobstore.Page, error)
	Attempts(ctx context.Context, id uuid.UUID) ([]jobstore.Attempt, error)
	EventBody(ctx context.Context, id uuid.UUID) (body []byte, contentType string, err error)
	EventBodiesWithin(ctx context.Context, ids []uuid.UUID, maxBytes int) (map[uuid.UUID]jobstore.EventBody, error)
	Cancel(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	Retry(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	RetryMatching(ctx context.Context, f jobstore.RetryFilter) ([]uuid.UUID, error)
}

// Authorizer decides whether a request carries the credentials it wants. One that is not
// Enabled lets every request through (receiver.Auth with Type "none" is one).
type Authorizer interface {
	Check(r *http.Request) bool
	Enabled() bool
}

// DefaultAdminDisabled is the error of an operator action when no Admin is configured.
const DefaultAdminDisabled = "operator actions are disabled: no operator credentials are configured"

// Config configures the API. Store is required.
type Config struct {
	Store Store
	// Admin guards the operator actions (cancel, retry). Nil disables them: they are
	// answered 403 with AdminDisabled. An Admin that is not Enabled opens them to anyone.
	Admin Authorizer
	// AdminDisabled is the error of a 403 answer when Admin is nil, saying how to enable
	// operator actions (default DefaultAdminDisabled).
	AdminDisabled string
	// Read guards the read endpoints (every GET route of the API, and those wrapped with
	// ReadOnly) when it is Enabled; nil leaves them open. The operator credentials are
	// accepted too.
	Read Authorizer
	// Timeout bounds each request's database work (default 10s).
	Timeout time.Duration
	// ScriptRoutePrefix starts the route names of script jobs, which GET /scriptlog shows
	// (default "script.").
	ScriptRoutePrefix string
	// AppName is reported as taskApplicationName by the Python-compatible API.
	AppName string
	// MaxAnswerBytes bounds the answers of GET /jobs and GET /scriptlog (default
	// DefaultMaxAnswerBytes): a page stops before the job that would take it past the
	// bound, says so ("truncated") and gives the cursor of the rest. In these listings, a
	// job's details, a script run's output and its event larger than MaxItemBytes (default
	// DefaultMaxItemBytes) are left out; GET /jobs/{id} and GET /scriptlog/{id} give them.
	MaxAnswerBytes int
	MaxItemBytes   int
	Logger         *slog.Logger
}

// Defaults of the listings' bounds.
const (
	DefaultMaxAnswerBytes = 4 << 20
	DefaultMaxItemBytes   = 64 << 10
)

// API is the status API's http handler set.
type API struct {
	cfg Config
}

// New returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("statusapi: no store")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.ScriptRoutePrefix == "" {
		cfg.ScriptRoutePrefix = "script."
	}
	if cfg.MaxAnswerBytes <= 0 {
		cfg.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if cfg.MaxItemBytes <= 0 {
		cfg.MaxItemBytes = DefaultMaxItemBytes
	}
	if cfg.AppName == "" {
		cfg.AppName = "pacifica-dispatcher-go"
	}
	if cfg.AdminDisabled == "" {
		cfg.AdminDisabled = DefaultAdminDisabled
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &API{cfg: cfg}, nil
}

// Mux is what Register adds the API's routes to; *http.ServeMux is one.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Mux) {
	read := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.ReadOnly(h)) }
	read("GET /jobs", a.listJobs)
	read("GET /jobs/{id}", a.withJob(http.StatusBadRequest, a.getJob))
	mux.Handle("POST /jobs/{id}/cancel", a.change(a.cfg.Store.Cancel))
	mux.Handle("POST /jobs/{id}/retry", a.change(a.cfg.Store.Retry))
	mux.Handle("POST /jobs/retry", http.HandlerFunc(a.bulkRetry))
	read("GET /status/{id}", a.withJob(http.StatusUnprocessableEntity, a.compatStatus))
	read("GET /get/{id}", a.withJob(http.StatusUnprocessableEntity, a.compatGet))
	read("GET /{$}", a.compatList)
	read("GET /scriptlog", a.scriptLogs)
	read("GET /scriptlog/{id}", a.withJob(http.StatusNotFound, a.scriptLog))
}

// ReadOnly guards h with the read credentials (Config.Read), which the operator
// credentials also satisfy: without them the request is answered 401.
func (a *API) ReadOnly(h http.Handler) http.Handler {
	if a.cfg.Read == nil || !a.cfg.Read.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.cfg.Read.Check(r) && !a.isAdmin(r) {
			challenge(w, a.cfg.Read)
			writeError(w, http.StatusUnauthorized, "this needs the read credentials (or the operator credentials)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isAdmin reports whether r carries the operator credentials (an open Admin gives no
// credentials, so it does not count).
func (a *API) isAdmin(r *http.Request) bool {
	return a.cfg.Admin != nil && a.cfg.Admin.Enabled() && a.cfg.Admin.Check(r)
}

// challenge sets the WWW-Authenticate header of a 401 answer.
func challenge(w http.ResponseWriter, az Authorizer) {
	c := `Basic realm="pacifica-dispatcher"`
	if ch, ok := az.(interface{ Challenge() string }); ok {
		c = ch.Challenge()
	}
	w.Header().Set("WWW-Authenticate", c)
}

// withJob serves a request about the job named by {id}: an id that is not a UUID is
// answered badID, an unknown job 404, and f gets the job with the request's bounded context.
func (a *API) withJob(badID int, f func(ctx context.Context, w http.ResponseWriter, j jobstore.Job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := a.jobID(w, r, badID)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
		defer cancel()
		j, err := a.cfg.Store.Get(ctx, id)
		if err != nil {
			a.storeError(w, err, id)
			return
		}
		f(ctx, w, j)
	}
}

func (a *API) getJob(ctx context.Context, w http.ResponseWriter, j jobstore.Job) {
	out := jobJSON(j, true)
	if att, err := a.cfg.Store.Attempts(ctx, j.ID); err == nil {
		out.History = attemptsJSON(att)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	f, err := ListFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.MaxDetailBytes = a.cfg.MaxItemBytes
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
	defer cancel()
	page, err := a.cfg.Store.List(ctx, f)
	if err != nil {
		if errors.Is(err, jobstore.ErrBadCursor) {
			writeError(w, http.StatusBadRequest, "cursor: not a cursor this service gave out")
			return
		}
		a.storeError(w, err, uuid.Nil)
		return
	}
	out := listJSON{Jobs: make([]JobView, 0, len(page.Jobs)), NextCursor: page.Next}
	size := 0
	for i, j := range page.Jobs {
		v := jobJSON(j, false)
		if size += encodedSize(v); size > a.cfg.MaxAnswerBytes && i > 0 {
			out.Truncated, out.NextCursor = true, jobstore.CursorAfter(page.Jobs[i-1])
			break
		}
		out.Jobs = append(out.Jobs, v)
	}
	page.Next = out.NextCursor
	if page.Next != "" {
		nq := r.URL.Query()
		nq.Set("cursor", page.Next)
		out.Next = "/jobs?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// change serves an operator's action on a job.
// operator checks the operator credentials, answering 403 (none configured) or 401 when
// they are missing; it reports whether the request may go on.
func (a *API) operator(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case a.cfg.Admin == nil:
		writeError(w, http.StatusForbidden, a.cfg.AdminDisabled)
		return false
	case a.cfg.Admin.Enabled() && !a.cfg.Admin.Check(r):
		challenge(w, a.cfg.Admin)
		writeError(w, http.StatusUnauthorized, "this action needs the operator credentials")
		return false
	}
	return true
}

func (a *API) change(do func(context.Context, uuid.UUID) (jobstore.Job, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.operator(w, r) {
			return
		}
		id, ok := a.jobID(w, r, http.StatusBadRequest)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
		defer cancel()
		j, err := do(ctx, id)
		if err != nil {
			if errors.Is(err, jobstore.ErrConflict) {
				writeError(w, http.StatusConflict, err.Error())
				return
			}
			a.storeError(w, err, id)
			return
		}
		a.cfg.Logger.Info("operator action", "path", r.URL.Path, "job_id", id, "state", j.State)
		writeJSON(w, http.StatusOK, jobJSON(j, false))
	}
}

func (a *API) jobID(w http.ResponseWriter, r *http.Request, badStatus int) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, badStatus, fmt.Sprintf("job id %q is not a UUID", r.PathValue("id")))
		return uuid.Nil, false
	}
	return id, true
}

func (a *API) storeError(w http.ResponseWriter, err error, id uuid.UUID) {
	if errors.Is(err, jobstore.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no job %s", id))
		return
	}
	a.cfg.Logger.Warn("status API: job store error", "error", err)
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "the job store is unavailable")
}

// encodedSize is the size of v in JSON, as the answers are written (indented, roughly).
func encodedSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b) + len(b)/8
}

// listIndent is the answers' indentation.
const listIndent = "  "

// writeJSONList answers a JSON list of elements already encoded (json.MarshalIndent with
// listIndent as prefix and indent): the same bytes as writeJSON of the list, without
// encoding the elements a second time.
func writeJSONList(w http.ResponseWriter, status int, elems [][]byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if len(elems) == 0 {
		_, _ = io.WriteString(w, "[]\n")
		return
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range elems {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(listIndent)
		b.Write(e)
	}
	b.WriteString("\n]\n")
	_, _ = w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", listIndent)
	_ = enc.Encode(v)
}

// WriteError answers status with the API's error object: {"status": "404 Not Found",
// "error": msg}. The service answers every error in this shape.
func WriteError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{
		"status": fmt.Sprintf("%d %s", status, http.StatusText(status)),
		"error":  msg,
	})
}

func writeError(w http.ResponseWriter, status int, msg string) { WriteError(w, status, msg) }

// limitParam reads ?limit= (1 to jobstore.MaxLimit; def when absent). A bad value is
// answered 400 and ok is false.
func limitParam(w http.ResponseWriter, r *http.Request, def int) (n int, ok bool) {
	n, err := parseLimit(r.URL.Query().Get("limit"), def)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	return n, true
}
