package service

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// apiCase is a hostile request to the status API: it must get a clear 4xx (never a 5xx
// that blames the job store), as JSON.
type apiCase struct {
	name, path string
	code       int
	errHas     string
}

func apiCases() []apiCase {
	return []apiCase{
		{"api/job id not a UUID", "/jobs/not-a-uuid", 400, "is not a UUID"},
		{"api/job id NUL", "/jobs/%00", 400, "is not a UUID"},
		{"api/job id traversal", "/jobs/..%2F..%2Fetc%2Fpasswd", 400, "is not a UUID"},
		{"api/limit negative", "/jobs?limit=-1", 400, "limit"},
		{"api/limit not a number", "/jobs?limit=abc", 400, "limit"},
		{"api/limit overflow", "/jobs?limit=99999999999999999999", 400, "limit"},
		{"api/cursor garbage", "/jobs?cursor=%ff%fe", 400, "cursor"},
		{"api/state unknown", "/jobs?state=%3Cscript%3E", 400, "unknown state"},
		{"api/route SQL", "/jobs?route=%27%20OR%201%3D1%20--", 200, ""},
		{"api/event_id NUL", "/jobs?event_id=%00", 400, "event_id: contains a NUL character"},
		{"api/event_id invalid UTF-8", "/jobs?event_id=%ff", 400, "event_id: not valid UTF-8"},
		{"api/route NUL", "/jobs?route=a%00", 400, "route: contains a NUL character"},
		{"api/scriptlog script NUL", "/scriptlog?script=%00", 400, "script: contains a NUL character"},
		{"api/scriptlog limit negative", "/scriptlog?limit=-1", 400, "limit"},
		{"api/status NUL", "/status/%00", 422, ""},
		{"api/get NUL", "/get/%00", 422, ""},
		{"api/compat list limit", "/?limit=100000000", 400, "limit"},
	}
}

func (e *hostileEnv) runAPI(t *testing.T, c apiCase) *hostileResult {
	t.Helper()
	r := &hostileResult{name: c.name}
	req, err := http.NewRequest(http.MethodGet, e.h.base+c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.h.authorize(req, "reader")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", c.path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.code = resp.StatusCode
	if r.code != c.code {
		t.Errorf("GET %s: %d %s, want %d", c.path, r.code, raw, c.code)
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("GET %s: the answer is not JSON: %.200q", c.path, raw)
	}
	if m, ok := body.(map[string]any); ok && r.code >= 400 {
		r.errText, _ = m["error"].(string)
	} else if s, ok := body.(string); ok {
		r.errText = s
	}
	if c.errHas != "" && !strings.Contains(r.errText, c.errHas) {
		t.Errorf("GET %s: error %q lacks %q", c.path, r.errText, c.errHas)
	}
	r.outside = e.outsideWrites()
	r.serves = e.serves()
	if !r.serves {
		t.Error("GET /healthz does not answer 200 any more")
	}
	return r
}
