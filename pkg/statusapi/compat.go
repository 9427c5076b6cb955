package statusapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// The Python dispatcher's status strings (pacifica-dispatcher's REST API), in lifecycle order.
const (
	compatAccepted   = "202 Accepted"
	compatUnrouted   = "422 Unprocessable Entity"
	compatProcessing = "102 Processing"
	compatOK         = "200 OK"
	compatFailed     = "500 Internal Server Error"
)

// CompatStatus maps a job state to the Python dispatcher's status string: queued jobs are
// "202 Accepted", unrouted events "422 Unprocessable Entity", running jobs "102 Processing",
// succeeded jobs "200 OK", and failed or cancelled jobs "500 Internal Server Error".
func CompatStatus(s jobstore.State) string {
	switch s {
	case jobstore.Queued:
		return compatAccepted
	case jobstore.Unrouted:
		return compatUnrouted
	case jobstore.Running:
		return compatProcessing
	case jobstore.Succeeded:
		return compatOK
	}
	return compatFailed
}

// compatStatus serves GET /status/{id}: the status as a JSON string; 422 when the id is
// not a UUID, 404 when unknown.
func (a *API) compatStatus(_ context.Context, w http.ResponseWriter, j jobstore.Job) {
	writeJSON(w, http.StatusOK, CompatStatus(j.State))
}

// compatTask is the object of GET /get/{id}.
type compatTask struct {
	EventType           string  `json:"eventType"`
	EventTypeVersion    any     `json:"eventTypeVersion"`
	Source              string  `json:"source"`
	EventID             string  `json:"eventID"`
	EventTime           any     `json:"eventTime"`
	SchemaURL           any     `json:"schemaURL"`
	ContentType         any     `json:"contentType"`
	EventData           string  `json:"eventData"`
	Data                string  `json:"data"`
	TaskID              string  `json:"taskID"`
	TaskStatus          string  `json:"taskStatus"`
	TaskApplicationName string  `json:"taskApplicationName"`
	TaskName            string  `json:"taskName"`
	ExceptionType       *string `json:"exceptionType"`
	ExceptionValue      *string `json:"exceptionValue"`
	ExceptionTraceback  *string `json:"exceptionTraceback"`
	Created             string  `json:"created"`
	Updated             string  `json:"updated"`
	Deleted             *string `json:"deleted"`
}

// compatGet serves GET /get/{id}: the job with its event, in the Python dispatcher's shape.
func (a *API) compatGet(ctx context.Context, w http.ResponseWriter, j jobstore.Job) {
	t := compatTask{
		EventType: j.EventType, Source: j.EventSource, EventID: j.EventID,
		TaskID: j.ID.String(), TaskStatus: CompatStatus(j.State),
		TaskApplicationName: a.cfg.AppName, TaskName: j.Route,
		Created: compatTime(j.ReceivedAt), Updated: compatTime(j.UpdatedAt),
	}
	if j.EventTimeText != "" {
		t.EventTime = j.EventTimeText
	}
	if body, ct, err := a.cfg.Store.EventBody(ctx, j.ID); err == nil {
		if ev, err := event.Load(body, ct); err == nil {
			doc := ev.Document()
			t.EventData = string(doc)
			t.Data = string(ev.Data())
			var env struct {
				EventTypeVersion any `json:"eventTypeVersion"`
				SchemaURL        any `json:"schemaURL"`
				ContentType      any `json:"contentType"`
			}
			if json.Unmarshal(doc, &env) == nil {
				t.EventTypeVersion, t.SchemaURL, t.ContentType = env.EventTypeVersion, env.SchemaURL, env.ContentType
			}
		}
	}
	if j.State == jobstore.Failed || j.State == jobstore.Cancelled {
		typ, val := "JobFailed", j.Error
		if j.State == jobstore.Cancelled {
			typ = "JobCancelled"
		}
		tb := j.Logs
		t.ExceptionType, t.ExceptionValue, t.ExceptionTraceback = &typ, &val, &tb
	}
	writeJSON(w, http.StatusOK, t)
}

// compatList serves GET /: [{"taskID", "created", "updated", "deleted"}], newest first.
// The Python dispatcher listed every task; this lists the newest ?limit= (default 100, at
// most jobstore.MaxLimit) so that a store with millions of jobs still answers.
func (a *API) compatList(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r, 100)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
	defer cancel()
	// Only ids and times are shown: the logs and details are not loaded.
	page, err := a.cfg.Store.List(ctx, jobstore.Filter{Limit: limit, MaxDetailBytes: 1})
	if err != nil {
		a.storeError(w, err, [16]byte{})
		return
	}
	type row struct {
		TaskID  string  `json:"taskID"`
		Created string  `json:"created"`
		Updated string  `json:"updated"`
		Deleted *string `json:"deleted"`
	}
	out := make([]row, 0, len(page.Jobs))
	for _, j := range page.Jobs {
		out = append(out, row{TaskID: j.ID.String(), Created: compatTime(j.ReceivedAt), Updated: compatTime(j.UpdatedAt)})
	}
	writeJSON(w, http.StatusOK, out)
}

// compatTime formats times as the Python dispatcher did (ISO 8601, UTC, microseconds).
func compatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }
