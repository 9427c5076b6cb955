package webui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
)

// fakeStore holds jobs in memory and records the operator's changes.
type fakeStore struct {
	mu      sync.Mutex
	jobs    map[uuid.UUID]jobstore.Job
	event   []byte
	retried []uuid.UUID
	bulk    []jobstore.RetryFilter
	lists   []jobstore.Filter
}

func (f *fakeStore) Get(_ context.Context, id uuid.UUID) (jobstore.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return j, jobstore.ErrNotFound
	}
	return j, nil
}

func (f *fakeStore) List(_ context.Context, flt jobstore.Filter) (jobstore.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, flt)
	var p jobstore.Page
	for _, j := range f.jobs {
		if (flt.State == "" || string(j.State) == flt.State) && (flt.Route == "" || j.Route == flt.Route) &&
			strings.HasPrefix(j.Route, flt.RoutePrefix) {
			p.Jobs = append(p.Jobs, j)
		}
	}
	return p, nil
}

func (f *fakeStore) Attempts(context.Context, uuid.UUID) ([]jobstore.Attempt, error) {
	return []jobstore.Attempt{{N: 1, Owner: "w<1>", StartedAt: time.Now(), Outcome: "failed", Error: "<i>boom</i>"}}, nil
}

func (f *fakeStore) EventBodyWithin(context.Context, uuid.UUID, int) ([]byte, string, int, error) {
	return f.event, "application/json", len(f.event), nil
}

func (f *fakeStore) Cancel(ctx context.Context, id uuid.UUID) (jobstore.Job, error) {
	return f.Get(ctx, id)
}

func (f *fakeStore) Retry(ctx context.Context, id uuid.UUID) (jobstore.Job, error) {
	j, err := f.Get(ctx, id)
	if err != nil {
		return j, err
	}
	if j.State != jobstore.Failed {
		return j, jobstore.ErrConflict
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return j, nil
}

func (f *fakeStore) RetryMatching(_ context.Context, flt jobstore.RetryFilter) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulk = append(f.bulk, flt)
	return []uuid.UUID{uuid.New()}, nil
}

type fixedCounts []jobstore.Count

func (c fixedCounts) Counts(context.Context) ([]jobstore.Count, time.Time, error) {
	return c, time.Now(), nil
}

// hostile text: what an uploader or a script may put in a job's fields.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`

var (
	failedID  = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	runningID = uuid.MustParse("22222222-2222-4222-8222-222222222222")
)

func newStore() *fakeStore {
	now := time.Now()
	ev := `{"cloudEventsVersion":"0.1","eventID":"e1","eventType":"org.pacifica.metadata.ingest","source":"s",
		"contentType":"application/json","data":[{"destinationTable":"Transactions._id","value":5},
		{"destinationTable":"TransactionKeyValue","key":"note","value":` + jsonText(hostile) + `},
		{"destinationTable":"Files","_id":1,"name":` + jsonText(hostile+".txt") + `,"subdir":"","size":1,"hashtype":"sha1","hashsum":"aa"}]}`
	return &fakeStore{event: []byte(ev), jobs: map[uuid.UUID]jobstore.Job{
		failedID: {ID: failedID, Route: "script." + hostile, State: jobstore.Failed, EventID: hostile, Error: hostile + "\nsecond line",
			Logs: "line one\n" + hostile + "\n", Attempts: 1, MaxAttempts: 5, ReceivedAt: now, UpdatedAt: now,
			Details: json.RawMessage(`{"script":` + jsonText(hostile) + `,"stdout":` + jsonText(hostile) + `,"outputs":[{"name":"out","transaction_id":77}]}`)},
		runningID: {ID: runningID, Route: "proxymod", State: jobstore.Running, EventID: "e2", Attempts: 1, MaxAttempts: 5,
			ReceivedAt: now, UpdatedAt: now, Logs: "started\n"},
	}}
}

func jsonText(s string) string { b, _ := json.Marshal(s); return string(b) }

var ops = receiver.Auth{Type: "basic", Username: "ops", Password: "secret-ops"}
var reader = receiver.Auth{Type: "basic", Username: "reader", Password: "secret-read"}

// serve builds the pages with cfg's access over a fake store.
func serve(t *testing.T, store *fakeStore, mutate func(*Config)) (*httptest.Server, *UI) {
	t.Helper()
	cfg := Config{Store: store, Counter: fixedCounts{{Route: "proxymod", State: jobstore.Running, N: 3}, {Route: "script." + hostile, State: jobstore.Failed, N: 1}},
		Admin: ops, Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	ui, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, ui
}

type answer struct {
	status int
	header http.Header
	body   string
}

func request(t *testing.T, method, rawURL string, auth *receiver.Auth, form url.Values, header map[string]string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != nil {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// Every page escapes what comes from events and jobs, and carries the security headers;
// its style and script are allowed by the answer's own nonce.
func TestPagesEscapeAndSecure(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, newStore(), nil)
	for _, path := range []string{"/ui/", "/ui/jobs", "/ui/jobs?state=failed", "/ui/jobs/" + failedID.String(),
		"/ui/jobs/" + runningID.String(), "/ui/scriptlog", "/ui/nothing-here"} {
		t.Run(path, func(t *testing.T) {
			a := request(t, "GET", srv.URL+path, &ops, nil, nil)
			want := http.StatusOK
			if path == "/ui/nothing-here" {
				want = http.StatusNotFound
			}
			if a.status != want {
				t.Fatalf("%d, want %d:\n%s", a.status, want, a.body)
			}
			if strings.Contains(a.body, "<script>alert") || strings.Contains(a.body, "<img src=x") {
				t.Errorf("hostile text unescaped:\n%s", a.body)
			}
			csp := a.header.Get("Content-Security-Policy")
			nonce := regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
			if nonce == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Fatalf("Content-Security-Policy %q", csp)
			}
			for _, tag := range regexp.MustCompile(`<(style|script)[^>]*>`).FindAllString(a.body, -1) {
				if !strings.Contains(tag, `nonce="`+nonce[1]+`"`) {
					t.Errorf("%s without the answer's nonce", tag)
				}
			}
			if a.header.Get("X-Frame-Options") != "DENY" || a.header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("headers %v", a.header)
			}
		})
	}
	// The escaped text is there, as text.
	a := request(t, "GET", srv.URL+"/ui/jobs/"+failedID.String(), &ops, nil, nil)
	if !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(a.body, "second line") {
		t.Errorf("the job page does not show the hostile text as text:\n%s", a.body)
	}
	// Only a running job's page has the script that follows it.
	if strings.Contains(a.body, "<script") {
		t.Error("a finished job's page has a script")
	}
	if b := request(t, "GET", srv.URL+"/ui/jobs/"+runningID.String(), &ops, nil, nil).body; !strings.Contains(b, "<script nonce=") ||
		!strings.Contains(b, `<meta http-equiv="refresh"`) {
		t.Errorf("a running job's page neither follows it with a script nor refreshes without one:\n%s", b)
	}
	var live liveLog
	l := request(t, "GET", srv.URL+"/ui/jobs/"+runningID.String()+"/log", &ops, nil, nil)
	if err := json.Unmarshal([]byte(l.body), &live); err != nil || live.State != jobstore.Running || live.Final || live.Log != "started\n" {
		t.Errorf("live log %d %s: %+v %v", l.status, l.body, live, err)
	}
}

// The list takes GET /jobs's parameters, and answers a bad one 400 saying which.
func TestListParameters(t *testing.T) {
	t.Parallel()
	store := newStore()
	srv, _ := serve(t, store, nil)
	for q, want := range map[string]string{"state=bogus": `state: unknown state`, "limit=0": "limit: want a whole number",
		"route=%00": "route: contains a NUL", "since=yesterday": "since: &#34;yesterday&#34; is not an RFC 3339 time"} {
		a := request(t, "GET", srv.URL+"/ui/jobs?"+q, nil, nil, nil)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, want) {
			t.Errorf("?%s: %d, want 400 saying %q", q, a.status, want)
		}
	}
	a := request(t, "GET", srv.URL+"/ui/jobs?state=failed&route=r&event_id=e&limit=7&cursor=&until=2026-01-02T03:04:05Z", nil, nil, nil)
	store.mu.Lock()
	last := store.lists[len(store.lists)-1]
	store.mu.Unlock()
	if a.status != http.StatusOK || last.State != "failed" || last.Route != "r" || last.EventID != "e" || last.Limit != 7 ||
		!last.Until.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || !last.Since.IsZero() {
		t.Errorf("%d, filter %+v", a.status, last)
	}
}

// Who sees and may do what: readers need the read credentials (or the operator's) when
// they are set; operator actions need the operator credentials, and answer 403 when none
// are configured.
func TestAccess(t *testing.T) {
	t.Parallel()
	jobPage := "/ui/jobs/" + failedID.String()
	t.Run("read credentials", func(t *testing.T) {
		srv, _ := serve(t, newStore(), func(c *Config) { c.Read = reader })
		a := request(t, "GET", srv.URL+jobPage, nil, nil, nil)
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("without credentials: %d %v", a.status, a.header)
		}
		if a := request(t, "GET", srv.URL+jobPage, &reader, nil, nil); a.status != http.StatusOK ||
			strings.Contains(a.body, `id="retry"`) || !strings.Contains(a.body, "sign in as operator") {
			t.Errorf("a reader: %d, retry button %v", a.status, strings.Contains(a.body, `id="retry"`))
		}
		if a := request(t, "GET", srv.URL+jobPage, &ops, nil, nil); a.status != http.StatusOK || !strings.Contains(a.body, `id="retry"`) {
			t.Errorf("an operator: %d, retry button %v", a.status, strings.Contains(a.body, `id="retry"`))
		}
		if a := request(t, "GET", srv.URL+"/ui/signin", &reader, nil, nil); a.status != http.StatusUnauthorized ||
			a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("sign-in as a reader: %d", a.status)
		}
		if a := request(t, "GET", srv.URL+"/ui/signin", &ops, nil, nil); a.status != http.StatusSeeOther {
			t.Errorf("sign-in as an operator: %d", a.status)
		}
	})
	t.Run("no operators", func(t *testing.T) {
		store := newStore()
		srv, _ := serve(t, store, func(c *Config) { c.Admin, c.AdminDisabled = nil, "operator actions are disabled: set ADMIN_AUTH_*" })
		a := request(t, "GET", srv.URL+jobPage, nil, nil, nil)
		if a.status != http.StatusOK || strings.Contains(a.body, `id="retry"`) || !strings.Contains(a.body, "operator actions are disabled") {
			t.Errorf("%d, retry button %v", a.status, strings.Contains(a.body, `id="retry"`))
		}
		a = request(t, "POST", srv.URL+jobPage+"/retry", &ops, url.Values{"token": {"x"}}, nil)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "set ADMIN_AUTH_*") || len(store.retried) != 0 {
			t.Errorf("retry without operators configured: %d\n%s", a.status, a.body)
		}
	})
}

// An operator's form is taken only from the dispatcher's own page: same origin, with a
// token made for the same credentials within tokenLife.
func TestOperatorForms(t *testing.T) {
	t.Parallel()
	store := newStore()
	srv, ui := serve(t, store, nil)
	jobPage := srv.URL + "/ui/jobs/" + failedID.String()
	m := tokenRE.FindStringSubmatch(request(t, "GET", jobPage, &ops, nil, nil).body)
	if m == nil {
		t.Fatal("no token on the operator's page")
	}
	token := m[1]
	other := receiver.Auth{Type: "basic", Username: "ops", Password: "another"}
	opsReq := &http.Request{Header: http.Header{}}
	opsReq.SetBasicAuth(ops.Username, ops.Password)
	expired := ui.token(opsReq, time.Now().Add(-tokenLife-time.Minute))
	another, err := New(Config{Store: store, Counter: fixedCounts{}, Admin: ops}) // a process of its own key
	if err != nil {
		t.Fatal(err)
	}
	foreign := another.token(opsReq, time.Now())
	if !ui.tokenOK(opsReq, ui.token(opsReq, time.Now())) {
		t.Fatal("a token made now is refused")
	}
	for _, c := range []struct {
		name   string
		auth   *receiver.Auth
		token  string
		header map[string]string
		status int
		says   string
	}{
		{"no token", &ops, "", nil, http.StatusForbidden, "token is missing"},
		{"a forged token", &ops, "1." + strings.Repeat("A", 43), nil, http.StatusForbidden, "token is missing"},
		{"an expired token", &ops, expired, nil, http.StatusForbidden, "token is missing"},
		{"a token of another key", &ops, foreign, nil, http.StatusForbidden, "token is missing"},
		{"no credentials", nil, token, nil, http.StatusForbidden, "needs the operator credentials"},
		{"wrong credentials", &other, token, nil, http.StatusForbidden, "needs the operator credentials"},
		{"another site (fetch metadata)", &ops, token, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "another site"},
		{"a sibling site", &ops, token, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden, "another site"},
		{"another origin", &ops, token, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden, "another site"},
	} {
		a := request(t, "POST", jobPage+"/retry", c.auth, url.Values{"token": {c.token}}, c.header)
		if a.status != c.status || !strings.Contains(a.body, c.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", c.name, a.status, c.status, c.says, a.body)
		}
	}
	if len(store.retried) != 0 {
		t.Fatalf("a refused form retried %v", store.retried)
	}
	a := request(t, "POST", jobPage+"/retry", &ops, url.Values{"token": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/jobs/"+failedID.String()+"?done=retry" || len(store.retried) != 1 {
		t.Fatalf("the operator's own form: %d %v\n%s", a.status, a.header, a.body)
	}
	if a := request(t, "POST", srv.URL+"/ui/jobs/"+runningID.String()+"/retry", &ops, url.Values{"token": {token}}, nil); a.status != http.StatusConflict ||
		!strings.Contains(a.body, "only failed and cancelled jobs") {
		t.Errorf("retry of a running job: %d\n%s", a.status, a.body)
	}

	// Bulk retry takes POST /jobs/retry's selection.
	a = request(t, "POST", srv.URL+"/ui/jobs/retry", &ops, url.Values{"token": {token}, "state": {"running"}}, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "only failed or cancelled jobs are retried") {
		t.Errorf("bulk retry of running jobs: %d\n%s", a.status, a.body)
	}
	a = request(t, "POST", srv.URL+"/ui/jobs/retry", &ops, url.Values{"token": {token}, "state": {"failed"}, "route": {"r"},
		"since": {"2025-01-02T03:04:05Z"}, "error": {"503"}, "limit": {"20"}}, nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, "1 failed or cancelled job was queued again") || len(store.bulk) != 1 {
		t.Fatalf("bulk retry: %d\n%s", a.status, a.body)
	}
	if f := store.bulk[0]; f.State != jobstore.Failed || f.Route != "r" || f.ErrorContains != "503" || f.Limit != 20 ||
		!f.Since.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("bulk retry filter %+v", f)
	}
}
