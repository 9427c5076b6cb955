package statusapi

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// JobView is a job as the API shows it (GET /jobs, GET /jobs/{id}); clients of the API, such
// as dispatcher jobs, decode answers into it.
type JobView struct {
	ID              uuid.UUID       `json:"id"`
	State           jobstore.State  `json:"state"`
	Route           string          `json:"route"`
	EventID         string          `json:"event_id"`
	EventSource     string          `json:"event_source"`
	EventType       string          `json:"event_type"`
	EventTime       string          `json:"event_time,omitempty"`
	Attempts        int             `json:"attempts"`
	MaxAttempts     int             `json:"max_attempts"`
	Error           string          `json:"error"`
	TransactionID   *int64          `json:"transaction_id"`
	ReceivedAt      time.Time       `json:"received_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	StartedAt       *time.Time      `json:"started_at"`
	FinishedAt      *time.Time      `json:"finished_at"`
	NextAttemptAt   *time.Time      `json:"next_attempt_at,omitempty"`
	CancelRequested bool            `json:"cancel_requested,omitempty"`
	Details         json.RawMessage `json:"details,omitempty"`
	DetailsOmitted  bool            `json:"details_omitted,omitempty"`
	Logs            *string         `json:"logs,omitempty"`
	History         []AttemptView   `json:"attempt_history,omitempty"`
}

// AttemptView is one attempt of a job in JobView.History.
type AttemptView struct {
	N          int        `json:"n"`
	Worker     string     `json:"worker"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Outcome    string     `json:"outcome"`
	Error      string     `json:"error,omitempty"`
}

type listJSON struct {
	Jobs       []JobView `json:"jobs"`
	NextCursor string    `json:"next_cursor,omitempty"`
	Next       string    `json:"next,omitempty"`
	// Truncated: the page stopped early to stay within the answer's bound; next continues.
	Truncated bool `json:"truncated,omitempty"`
}

func jobJSON(j jobstore.Job, withLogs bool) JobView {
	v := JobView{
		ID: j.ID, State: j.State, Route: j.Route,
		EventID: j.EventID, EventSource: j.EventSource, EventType: j.EventType, EventTime: j.EventTimeText,
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, Error: j.Error, TransactionID: j.TransactionID,
		ReceivedAt: j.ReceivedAt, UpdatedAt: j.UpdatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		CancelRequested: j.CancelRequested,
	}
	if j.State == jobstore.Queued {
		v.NextAttemptAt = j.NextAttemptAt
	}
	if j.DetailsOmitted() {
		v.DetailsOmitted = true
	} else if len(j.Details) > 0 && json.Valid(j.Details) {
		v.Details = j.Details
	}
	if withLogs {
		logs := j.Logs
		v.Logs = &logs
	}
	return v
}

func attemptsJSON(att []jobstore.Attempt) []AttemptView {
	out := make([]AttemptView, 0, len(att))
	for _, a := range att {
		out = append(out, AttemptView{N: a.N, Worker: a.Owner, StartedAt: a.StartedAt,
			FinishedAt: a.FinishedAt, Outcome: a.Outcome, Error: a.Error})
	}
	return out
}
