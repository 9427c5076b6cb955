package statusapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// bulkRetry serves POST /jobs/retry (operator credentials): every failed or cancelled job
// the filter selects is queued again, as POST /jobs/{id}/retry does one; the answer lists
// them. One call retries at most limit jobs (default 1000, at most 10000): call it again
// for the rest.
func (a *API) bulkRetry(w http.ResponseWriter, r *http.Request) {
	if !a.operator(w, r) {
		return
	}
	var req BulkRetry
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a JSON object of state, route, since, until, error and limit")
		return
	}
	f, err := req.Filter()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
