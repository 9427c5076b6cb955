package statusapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// bulkRetryRequest is the body of POST /jobs/retry: which failed or cancelled jobs to queue
// again. Times are RFC 3339.
type bulkRetryRequest struct {
	State string `json:"state"`
	Route string `json:"route"`
	Since string `json:"since"`
	Until string `json:"until"`
	Error string `json:"error"`
	Limit int    `json:"limit"`
}

// bulkRetry serves POST /jobs/retry (operator credentials): every failed or cancelled job
// the filter selects is queued again, as POST /jobs/{id}/retry does one; the answer lists
// them. One call retries at most limit jobs (default 1000, at most 10000): call it again
// for the rest.
func (a *API) bulkRetry(w http.ResponseWriter, r *http.Request) {
	if !a.operator(w, r) {
		return
	}
	var req bulkRetryRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a JSON object of state, route, since, until, error and limit")
		return
	}
	f := jobstore.RetryFilter{State: jobstore.State(req.State), Route: req.Route, ErrorContains: req.Error, Limit: req.Limit}
	for _, t := range []struct {
		text string
		to   *time.Time
	}{{req.Since, &f.Since}, {req.Until, &f.Until}} {
		if t.text == "" {
			continue
		}
		if *t.to, err = time.Parse(time.RFC3339, t.text); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an RFC 3339 time", t.text))
			return
		}
	}
	if f.State != "" && f.State != jobstore.Failed && f.State != jobstore.Cancelled {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q: only failed or cancelled jobs are retried", req.State))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.Timeout)
	defer cancel()
	ids, err := a.cfg.Store.RetryMatching(ctx, f)
	if err != nil {
		a.cfg.Logger.Error("bulk retry", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the job store is unavailable")
		return
	}
	out := struct {
		Retried int      `json:"retried"`
		IDs     []string `json:"ids"`
	}{Retried: len(ids), IDs: []string{}}
	for _, id := range ids {
		out.IDs = append(out.IDs, id.String())
	}
	a.cfg.Logger.Info("operator action: bulk retry", "retried", len(ids), "state", req.State, "route", req.Route,
		"since", req.Since, "until", req.Until, "error", req.Error)
	writeJSON(w, http.StatusOK, out)
}
