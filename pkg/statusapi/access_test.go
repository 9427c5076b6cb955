package statusapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
)

// oneJob is a store holding one failed job; cancel and retry succeed on it.
type oneJob struct{ j jobstore.Job }

func (s oneJob) Get(_ context.Context, id uuid.UUID) (jobstore.Job, error) {
	if id != s.j.ID {
		return jobstore.Job{}, jobstore.ErrNotFound
	}
	return s.j, nil
}
func (s oneJob) List(context.Context, jobstore.Filter) (jobstore.Page, error) {
	return jobstore.Page{Jobs: []jobstore.Job{s.j}}, nil
}
func (s oneJob) Attempts(context.Context, uuid.UUID) ([]jobstore.Attempt, error) { return nil, nil }
func (s oneJob) EventBody(context.Context, uuid.UUID) ([]byte, string, error) {
	return []byte(`{}`), "application/json", nil
}
func (s oneJob) EventBodiesWithin(ctx context.Context, ids []uuid.UUID, _ int) (map[uuid.UUID]jobstore.EventBody, error) {
	out := map[uuid.UUID]jobstore.EventBody{}
	for _, id := range ids {
		b, ct, err := s.EventBody(ctx, id)
		if err != nil {
			return nil, err
		}
		out[id] = jobstore.EventBody{Body: b, ContentType: ct, Size: len(b)}
	}
	return out, nil
}
func (s oneJob) Cancel(ctx context.Context, id uuid.UUID) (jobstore.Job, error) {
	return s.Get(ctx, id)
}
func (s oneJob) Retry(ctx context.Context, id uuid.UUID) (jobstore.Job, error) { return s.Get(ctx, id) }
func (s oneJob) RetryMatching(context.Context, jobstore.RetryFilter) ([]uuid.UUID, error) {
	return []uuid.UUID{s.j.ID}, nil
}

func TestAccess(t *testing.T) {
	t.Parallel()
	job := jobstore.Job{ID: uuid.New(), Route: "script.x", State: jobstore.Failed, Error: "cartd: http://cartd.internal:8081 refused"}
	ops := receiver.Auth{Type: "basic", Username: "ops", Password: "op-secret"}
	readers := receiver.Auth{Type: "header", Header: "Bearer read-token"}
	open := receiver.Auth{Type: "none"}
	asOps := func(r *http.Request) { r.SetBasicAuth("ops", "op-secret") }
	asReader := func(r *http.Request) { r.Header.Set("Authorization", "Bearer read-token") }
	wrongOps := func(r *http.Request) { r.SetBasicAuth("ops", "guess") }
	anonymous := func(*http.Request) {}

	reads := []string{"/jobs", "/jobs/" + job.ID.String(), "/status/" + job.ID.String(), "/get/" + job.ID.String(), "/",
		"/scriptlog", "/scriptlog/" + job.ID.String()}
	cases := []struct {
		name        string
		admin, read Authorizer
		who         func(*http.Request)
		method      string
		paths       []string
		code        int
		errHas      string
	}{
		{"operator action, not configured", nil, nil, anonymous, http.MethodPost, []string{"/retry", "/cancel"}, 403, "ADMIN_AUTH_TYPE"},
		{"operator action, not configured, with credentials", nil, nil, asOps, http.MethodPost, []string{"/retry"}, 403, "ADMIN_AUTH_TYPE"},
		{"operator action, anonymous", ops, nil, anonymous, http.MethodPost, []string{"/retry", "/cancel"}, 401, "operator credentials"},
		{"operator action, wrong password", ops, nil, wrongOps, http.MethodPost, []string{"/retry", "/cancel"}, 401, "operator credentials"},
		{"operator action, reader's credentials", ops, readers, asReader, http.MethodPost, []string{"/retry"}, 401, "operator credentials"},
		{"operator action, operator", ops, nil, asOps, http.MethodPost, []string{"/retry", "/cancel"}, 200, ""},
		{"operator action, opened with none", open, nil, anonymous, http.MethodPost, []string{"/retry", "/cancel"}, 200, ""},
		{"read, not configured", nil, nil, anonymous, http.MethodGet, reads, 200, ""},
		{"read, none", ops, open, anonymous, http.MethodGet, reads, 200, ""},
		{"read, anonymous", ops, readers, anonymous, http.MethodGet, reads, 401, "read credentials"},
		{"read, wrong operator password", ops, readers, wrongOps, http.MethodGet, reads, 401, "read credentials"},
		{"read, reader", ops, readers, asReader, http.MethodGet, reads, 200, ""},
		{"read, operator", ops, readers, asOps, http.MethodGet, reads, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, err := New(Config{Store: oneJob{job}, Admin: tc.admin, Read: tc.read,
				AdminDisabled: "operator actions are disabled: set ADMIN_AUTH_TYPE"})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			api.Register(mux)
			mux.Handle("GET /routes", api.ReadOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, []string{})
			})))
			paths := tc.paths
			if tc.method == http.MethodGet {
				paths = append(paths, "/routes")
			}
			for _, p := range paths {
				if tc.method == http.MethodPost {
					p = "/jobs/" + job.ID.String() + p
				}
				req := httptest.NewRequest(tc.method, p, nil)
				tc.who(req)
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != tc.code {
					t.Errorf("%s %s: %d %s, want %d", tc.method, p, rec.Code, rec.Body, tc.code)
					continue
				}
				if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: 401 without WWW-Authenticate", tc.method, p)
				}
				if tc.errHas == "" {
					continue
				}
				var body map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body["error"], tc.errHas) {
					t.Errorf("%s %s: answer %s lacks %q", tc.method, p, rec.Body, tc.errHas)
				}
				if strings.Contains(rec.Body.String(), "cartd.internal") {
					t.Errorf("%s %s: a refused request saw the job: %s", tc.method, p, rec.Body)
				}
			}
		})
	}
}
