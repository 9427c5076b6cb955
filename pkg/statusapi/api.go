package statusapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
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
	Cancel(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
	Retry(ctx context.Context, id uuid.UUID) (jobstore.Job, error)
}

// Authorizer decides whether a request may change jobs (cancel, retry). Nil allows all.
type Authorizer interface {
	Check(r *http.Request) bool
	Enabled() bool
}

// Config configures the API. Store is required.
type Config struct {
	Store Store
	// Admin guards cancel and retry when it is enabled.
	Admin Authorizer
	// Timeout bounds each request's database work (default 10s).
	Timeout time.Duration
	// ScriptRoutePrefix starts the route names of script jobs, which GET /scriptlog shows
	// (default "script.").
	ScriptRoutePrefix string
	// AppName is reported as taskApplicationName by the Python-compatible API.
	AppName string
	Logger  *slog.Logger
}

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
	if cfg.AppName == "" {
		cfg.AppName = "pacifica-dispatcher-go"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &API{cfg: cfg}, nil
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /jobs", a.listJobs)
	mux.HandleFunc("GET /jobs/{id}", a.withJob(http.StatusBadRequest, a.getJob))
	mux.HandleFunc("POST /jobs/{id}/cancel", a.change(a.cfg.Store.Cancel))
	mux.HandleFunc("POST /jobs/{id}/retry", a.change(a.cfg.Store.Retry))
	mux.HandleFunc("GET /status/{id}", a.withJob(http.StatusUnprocessableEntity, a.compatStatus))
	mux.HandleFunc("GET /get/{id}", a.withJob(http.StatusUnprocessableEntity, a.compatGet))
	mux.HandleFunc("GET /{$}", a.compatList)
	mux.HandleFunc("GET /scriptlog", a.scriptLogs)
	mux.HandleFunc("GET /scriptlog/{id}", a.withJob(http.StatusNotFound, a.scriptLog))
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
	q := r.URL.Query()
	f := jobstore.Filter{
		State:   q.Get("state"),
		Route:   q.Get("route"),
		EventID: q.Get("event_id"),
		Cursor:  q.Get("cursor"),
	}
	var ok bool
	if f.Limit, ok = limitParam(w, r, 0); !ok {
		return
	}
	for name, v := range map[string]string{"route": f.Route, "event_id": f.EventID} {
		if err := checkText(name, v); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if f.State != "" && !jobstore.State(f.State).Valid() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state: unknown state %q", f.State))
		return
	}
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
	out := listJSON{Jobs: make([]jobView, 0, len(page.Jobs)), NextCursor: page.Next}
	for _, j := range page.Jobs {
		out.Jobs = append(out.Jobs, jobJSON(j, false))
	}
	if page.Next != "" {
		nq := r.URL.Query()
		nq.Set("cursor", page.Next)
		out.Next = "/jobs?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// change serves an operator's action on a job.
func (a *API) change(do func(context.Context, uuid.UUID) (jobstore.Job, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Admin != nil && a.cfg.Admin.Enabled() && !a.cfg.Admin.Check(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="pacifica-dispatcher"`)
			writeError(w, http.StatusUnauthorized, "this action needs the operator credentials")
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{
		"status": fmt.Sprintf("%d %s", status, http.StatusText(status)),
		"error":  msg,
	})
}

// limitParam reads ?limit= (1 to jobstore.MaxLimit; def when absent). A bad value is
// answered 400 and ok is false.
func limitParam(w http.ResponseWriter, r *http.Request, def int) (n int, ok bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > jobstore.MaxLimit {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want a whole number from 1 to %d", jobstore.MaxLimit))
		return 0, false
	}
	return n, true
}
