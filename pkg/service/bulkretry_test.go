package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// POST /jobs/retry queues again the jobs its filter selects, with the operator
// credentials only.
func TestBulkRetry(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil) // a receiver: its jobs stay queued, an operator cancels them
	var ids []string
	for i := range 3 {
		code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), fmt.Sprintf("bulk-%d", i)))
		if code != http.StatusAccepted {
			t.Fatal(code, ans)
		}
		ids = append(ids, jobIDs(t, ans)[0])
	}
	user, password := h.cfg.AdminAuthUsername, h.cfg.AdminAuthPassword
	for _, id := range ids[:2] {
		if code := h.operator("/jobs/"+id+"/cancel", user, password); code != http.StatusOK {
			t.Fatalf("cancel: %d", code)
		}
	}
	post := func(body string, user, password string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/jobs/retry", bytes.NewReader([]byte(body)))
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post(`{"state": "cancelled"}`, "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", code)
	}
	if code, out := post(`{"state": "succeeded"}`, user, password); code != http.StatusBadRequest {
		t.Errorf("state succeeded: %d %v, want 400", code, out)
	}
	code, out := post(`{"state": "cancelled", "error": "CANCELLED BY", "limit": 10}`, user, password)
	if code != http.StatusOK || out["retried"] != float64(2) {
		t.Fatalf("bulk retry: %d %v, want the two cancelled jobs", code, out)
	}
	for _, id := range ids {
		var j jobJSON
		h.get("/jobs/"+id, &j)
		if j.State != "queued" {
			t.Errorf("job %s is %s after the bulk retry", id, j.State)
		}
	}
}
