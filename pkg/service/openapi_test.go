package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/openapi"
)

// notInDescription are the path prefixes whose routes the API description (package openapi)
// leaves out, each with why. The web UI's pages are for people's browsers, not programs: a
// UI path goes here, or, if programs may call it, into the description.
var notInDescription = map[string]string{
	"/ui/": "the web UI's HTML pages and forms",
}

// describedElsewhere reports whether notInDescription leaves path out of the description.
func describedElsewhere(path string) bool {
	for prefix := range notInDescription {
		if strings.HasPrefix(path, prefix) || path+"/" == prefix {
			return true
		}
	}
	return false
}

// patternRoute turns a ServeMux pattern into the method and OpenAPI path it serves:
// "GET /jobs/{id}" is GET /jobs/{id}, "POST /{$}" is POST /, and "{name...}" is {name}.
func patternRoute(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "...}", "}")
	if path == "" {
		path = "/"
	}
	return method, path
}

func loadDescription(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.JSON())
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// Every route the service registers (role all: the receiver's, the status API's and the
// service's own) is described, and every described operation is a registered route: a new
// route without a description, or a description of a route that is gone, fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	doc, _ := loadDescription(t)
	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Role, cfg.ReceiverAuthType, cfg.DataDir, cfg.Sandbox = RoleAll, "none", t.TempDir(), "off"
	svc, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.close)
	if len(svc.patterns) == 0 {
		t.Fatal("the service recorded no route patterns")
	}
	registered := map[string]bool{}
	for _, p := range svc.patterns {
		method, path := patternRoute(p)
		if describedElsewhere(path) {
			continue
		}
		if method == "" {
			t.Errorf("route %q serves every method: give it one, or list its prefix in notInDescription", p)
			continue
		}
		registered[method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %q (%s %s) is not in the API description (pkg/openapi/openapi.json)", p, method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("the API description has %s %s, which the service does not serve", method, path)
			}
		}
	}
	t.Logf("%d routes described", len(registered))
}

// apiCall is one request of TestOpenAPIValidatesRealAnswers and what it must get.
type apiCall struct {
	name         string
	method, path string
	who          string // "", "sender", "reader", "operator", "wrong": the credentials given
	header       map[string]string
	body         []byte
	want         int
	// badRequest: the description itself says the request is wrong (a missing credential, a
	// parameter out of its range), which the validator must find too.
	badRequest bool
	check      func(t *testing.T, h http.Header, body []byte)
}

// openapiHarness is a running service and the description to check it against.
type openapiHarness struct {
	h      *harness
	doc    *openapi3.T
	router routers.Router
}

func (o *openapiHarness) authorize(req *http.Request, who string) {
	c := o.h.cfg
	switch who {
	case "sender":
		o.h.senderAuth(req)
	case "reader":
		req.SetBasicAuth(c.ReadAuthUsername, c.ReadAuthPassword)
	case "operator":
		if c.AdminAuthUsername != "" {
			req.SetBasicAuth(c.AdminAuthUsername, c.AdminAuthPassword)
		} else {
			req.SetBasicAuth("ops", "guess")
		}
	case "wrong":
		req.SetBasicAuth("someone", "wrong-password")
	}
}

var validationOptions = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	// The scheme of the credentials: whether they are the right ones is the service's test.
	AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		got := strings.ToLower(in.RequestValidationInput.Request.Header.Get("Authorization"))
		if strings.HasPrefix(got, strings.ToLower(in.SecurityScheme.Scheme)+" ") {
			return nil
		}
		return fmt.Errorf("no %s credentials", in.SecurityScheme.Scheme)
	},
}

// run sends c to the service, validates the request and the answer against the description,
// and returns the answer's headers and body.
func (o *openapiHarness) run(t *testing.T, c apiCall) (http.Header, []byte) {
	t.Helper()
	build := func(target string) *http.Request {
		req := httptest.NewRequest(c.method, target, bytes.NewReader(c.body))
		req.RequestURI = ""
		if c.body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		o.authorize(req, c.who)
		return req
	}
	req := build(o.h.base + c.path)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != c.want {
		t.Errorf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.want)
		return resp.Header, body
	}

	vreq := build(c.path)
	route, params, err := o.router.FindRoute(vreq)
	if err != nil {
		// Not a described route: the answer must be the mux's error, in the API's error shape.
		if c.want != http.StatusNotFound && c.want != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: not in the description: %v", c.method, c.path, err)
		}
		o.checkError(t, c, resp.Header, body)
		return resp.Header, body
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: validationOptions}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.badRequest && err == nil:
		t.Errorf("%s %s: the description accepts this request, which should be wrong by it", c.method, c.path)
	case !c.badRequest && err != nil:
		t.Errorf("%s %s: the request does not match the description: %v", c.method, c.path, err)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: validationOptions}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%s %s: the answer %d does not match the description: %v\n%s", c.method, c.path, resp.StatusCode, err, body)
	}
	if c.check != nil {
		c.check(t, resp.Header, body)
	}
	return resp.Header, body
}

// checkError checks an answer of the mux itself (404, 405) against the description's Error.
func (o *openapiHarness) checkError(t *testing.T, c apiCall, h http.Header, body []byte) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: %d answered as %q, want application/json", c.method, c.path, c.want, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s: %d answer is not JSON: %q", c.method, c.path, c.want, body)
	}
	if err := o.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		t.Errorf("%s %s: %d answer is not the description's Error: %v\n%s", c.method, c.path, c.want, err, body)
	}
	if c.check != nil {
		c.check(t, h, body)
	}
}

func (o *openapiHarness) runAll(t *testing.T, calls []apiCall) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { o.run(t, c) })
	}
}

// hasHeader checks that an answer carries header name with value want ("" : absent).
func hasHeader(name, want string) func(t *testing.T, h http.Header, _ []byte) {
	return func(t *testing.T, h http.Header, _ []byte) {
		t.Helper()
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func errorSays(text string) func(t *testing.T, h http.Header, body []byte) {
	return func(t *testing.T, _ http.Header, body []byte) {
		t.Helper()
		var e map[string]string
		if json.Unmarshal(body, &e) != nil || !strings.Contains(e["error"], text) {
			t.Errorf("error %s does not say %q", body, text)
		}
	}
}

func both(fs ...func(t *testing.T, h http.Header, body []byte)) func(t *testing.T, h http.Header, body []byte) {
	return func(t *testing.T, h http.Header, body []byte) {
		t.Helper()
		for _, f := range fs {
			f(t, h, body)
		}
	}
}

func ceEvent(id string) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": "/openapi-test", "type": "org.example.unrouted",
		"datacontenttype": "application/json", "data": map[string]any{"n": 1}}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Real requests to a real service (PostgreSQL, RabbitMQ, the Pacifica simulator, workers
// running scripts), every route with its answers and errors, each request and answer
// validated against the API description.
func TestOpenAPIValidatesRealAnswers(t *testing.T) {
	t.Parallel()
	doc, router := loadDescription(t)
	const okScript = "#!/bin/sh\necho fine\n"
	const badScript = "#!/bin/sh\necho 'no good' >&2\nexit 3\n"
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"fine": okScript, "broken": badScript})
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.ScriptDir = dir
		c.MaxEventBytes, c.MaxBatchEvents = 64<<10, 3
		c.ReadAuthType, c.ReadAuthUsername, c.ReadAuthPassword = "basic", "reader", "read-secret"
	})
	st := &scriptSetup{site: s, h: h, dir: dir}
	st.subscribe(t)
	src := s.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	jobs := h.jobsOf(src, 2, 60*time.Second)
	fine, broken := jobs["script.fine"], jobs["script.broken"]
	if fine.State != "succeeded" || broken.State != "failed" {
		t.Fatalf("script jobs %+v, want script.fine succeeded and script.broken failed", jobs)
	}
	o := &openapiHarness{h: h, doc: doc, router: router}

	// An unrouted event, for a job that is no script run.
	_, rcpt := o.run(t, apiCall{name: "unrouted", method: "POST", path: "/receive", who: "sender",
		header: map[string]string{"Content-Type": "application/cloudevents+json"}, body: mustJSON(t, ceEvent("openapi-unrouted")), want: 202})
	var receipt struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(rcpt, &receipt); err != nil || len(receipt.Jobs) != 1 {
		t.Fatalf("receipt %s: %v", rcpt, err)
	}
	unrouted, unknown := receipt.Jobs[0].ID, uuid.NewString()
	big := mustJSON(t, map[string]any{"cloudEventsVersion": "0.1", "eventType": "t", "source": "s", "eventID": "big",
		"data": strings.Repeat("a", 65<<10)})
	batch := func(n int) []byte {
		var evs []map[string]any
		for i := range n {
			evs = append(evs, ceEvent(fmt.Sprintf("openapi-batch-%d-%d", n, i)))
		}
		return mustJSON(t, evs)
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	handshake := map[string]string{"WebHook-Request-Origin": "eventemitter.example.com", "WebHook-Request-Rate": "120"}
	granted := both(hasHeader("WebHook-Allowed-Origin", "*"), hasHeader("WebHook-Allowed-Rate", "*"))
	sample := withEventID(t, sampleEvent(t), "openapi-sample")

	o.runAll(t, []apiCall{
		// The receiver.
		{name: "receive", method: "POST", path: "/receive", who: "sender", header: jsonCT, body: sample, want: 202},
		{name: "receive again at /", method: "POST", path: "/", who: "sender", header: jsonCT, body: sample, want: 202},
		{name: "receive a batch", method: "POST", path: "/receive", who: "sender",
			header: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: batch(2), want: 202},
		{name: "receive binary mode", method: "POST", path: "/receive", who: "sender", body: []byte(`{"n": 2}`), want: 202,
			header: map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": "openapi-binary",
				"Ce-Source": "/openapi-test", "Ce-Type": "org.example.unrouted"}},
		{name: "receive without credentials", method: "POST", path: "/receive", header: jsonCT, body: sample, want: 401, badRequest: true,
			check: func(t *testing.T, h http.Header, _ []byte) {
				if h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}},
		{name: "receive with wrong credentials", method: "POST", path: "/", who: "wrong", header: jsonCT, body: sample, want: 401},
		{name: "receive not JSON", method: "POST", path: "/receive", who: "sender", header: jsonCT, body: []byte(`{"cloudEventsVersion": "0.1",`), want: 400, badRequest: true},
		{name: "receive without eventID", method: "POST", path: "/receive", who: "sender",
			header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body:   []byte(`{"cloudEventsVersion":"0.1","eventType":"t","source":"s"}`), want: 400, badRequest: true},
		{name: "receive too large", method: "POST", path: "/receive", who: "sender", header: jsonCT, body: big, want: 413},
		{name: "receive too large a batch", method: "POST", path: "/receive", who: "sender",
			header: map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body: batch(4), want: 413},
		{name: "receive plain text", method: "POST", path: "/receive", who: "sender",
			header: map[string]string{"Content-Type": "text/plain"}, body: []byte("hello"), want: 415},
		// The CloudEvents webhook handshake: no credentials, the same answer with them.
		{name: "handshake", method: "OPTIONS", path: "/receive", header: handshake, want: 204,
			check: both(granted, hasHeader("Allow", "OPTIONS, POST"))},
		{name: "handshake with credentials", method: "OPTIONS", path: "/receive", who: "sender", header: handshake, want: 204,
			check: both(granted, hasHeader("Allow", "OPTIONS, POST"))},
		{name: "handshake with wrong credentials", method: "OPTIONS", path: "/receive", who: "wrong", header: handshake, want: 204,
			check: both(granted, hasHeader("Allow", "OPTIONS, POST"))},
		{name: "handshake at /", method: "OPTIONS", path: "/", header: map[string]string{"WebHook-Request-Origin": "eventemitter.example.com"},
			want: 204, check: both(granted, hasHeader("Allow", "GET, HEAD, OPTIONS, POST"))},
		{name: "OPTIONS without origin", method: "OPTIONS", path: "/receive", want: 204,
			check: both(hasHeader("WebHook-Allowed-Origin", ""), hasHeader("WebHook-Allowed-Rate", ""), hasHeader("Allow", "OPTIONS, POST"))},

		// The status API.
		{name: "jobs", method: "GET", path: "/jobs", who: "reader", want: 200},
		{name: "jobs by state", method: "GET", path: "/jobs?state=failed", who: "reader", want: 200},
		{name: "jobs by route and event, a page of one", method: "GET", path: "/jobs?route=script.fine&event_id=metadata.ingest." + jsonInt(src) + "&limit=1", who: "reader", want: 200},
		{name: "jobs as the operator", method: "GET", path: "/jobs?limit=2", who: "operator", want: 200},
		{name: "jobs without credentials", method: "GET", path: "/jobs", want: 401},
		{name: "jobs with wrong credentials", method: "GET", path: "/jobs", who: "wrong", want: 401},
		{name: "jobs limit 0", method: "GET", path: "/jobs?limit=0", who: "reader", want: 400, badRequest: true},
		{name: "jobs limit not a number", method: "GET", path: "/jobs?limit=many", who: "reader", want: 400, badRequest: true},
		{name: "jobs unknown state", method: "GET", path: "/jobs?state=sleeping", who: "reader", want: 400, badRequest: true},
		{name: "jobs bad cursor", method: "GET", path: "/jobs?cursor=not-a-cursor", who: "reader", want: 400},
		{name: "job succeeded", method: "GET", path: "/jobs/" + fine.ID, who: "reader", want: 200},
		{name: "job failed", method: "GET", path: "/jobs/" + broken.ID, who: "reader", want: 200},
		{name: "job unrouted", method: "GET", path: "/jobs/" + unrouted, who: "reader", want: 200},
		{name: "job unknown", method: "GET", path: "/jobs/" + unknown, who: "reader", want: 404},
		{name: "job not a UUID", method: "GET", path: "/jobs/not-a-uuid", who: "reader", want: 400, badRequest: true},
		{name: "job without credentials", method: "GET", path: "/jobs/" + fine.ID, want: 401},

		// Operator actions.
		{name: "cancel a finished job", method: "POST", path: "/jobs/" + fine.ID + "/cancel", who: "operator", want: 409},
		{name: "retry a succeeded job", method: "POST", path: "/jobs/" + fine.ID + "/retry", who: "operator", want: 409},
		{name: "cancel an unknown job", method: "POST", path: "/jobs/" + unknown + "/cancel", who: "operator", want: 404},
		{name: "retry not a UUID", method: "POST", path: "/jobs/not-a-uuid/retry", who: "operator", want: 400, badRequest: true},
		{name: "cancel without credentials", method: "POST", path: "/jobs/" + fine.ID + "/cancel", want: 401, badRequest: true},
		{name: "cancel with the reader's credentials", method: "POST", path: "/jobs/" + fine.ID + "/cancel", who: "reader", want: 401},
		{name: "retry a failed job", method: "POST", path: "/jobs/" + broken.ID + "/retry", who: "operator", want: 200},
		{name: "bulk retry", method: "POST", path: "/jobs/retry", who: "operator", header: jsonCT,
			body: []byte(`{"state": "cancelled", "route": "script.fine", "since": "2020-01-01T00:00:00Z", "error": "x", "limit": 5}`), want: 200},
		{name: "bulk retry, empty body", method: "POST", path: "/jobs/retry", who: "operator", want: 200},
		{name: "bulk retry, not JSON", method: "POST", path: "/jobs/retry", who: "operator", header: jsonCT, body: []byte(`retry them`), want: 400, badRequest: true},
		{name: "bulk retry, running jobs", method: "POST", path: "/jobs/retry", who: "operator", header: jsonCT, body: []byte(`{"state": "running"}`), want: 400, badRequest: true},
		{name: "bulk retry, bad time", method: "POST", path: "/jobs/retry", who: "operator", header: jsonCT, body: []byte(`{"since": "yesterday"}`), want: 400, badRequest: true},
		{name: "bulk retry without credentials", method: "POST", path: "/jobs/retry", header: jsonCT, body: []byte(`{}`), want: 401, badRequest: true},

		// The Python dispatcher's API.
		{name: "tasks", method: "GET", path: "/", who: "reader", want: 200},
		{name: "tasks limit", method: "GET", path: "/?limit=2", who: "reader", want: 200},
		{name: "tasks limit too large", method: "GET", path: "/?limit=5000", who: "reader", want: 400, badRequest: true},
		{name: "tasks without credentials", method: "GET", path: "/", want: 401},
		{name: "status", method: "GET", path: "/status/" + fine.ID, who: "reader", want: 200},
		{name: "status unrouted", method: "GET", path: "/status/" + unrouted, who: "reader", want: 200},
		{name: "status not a UUID", method: "GET", path: "/status/not-a-uuid", who: "reader", want: 422, badRequest: true},
		{name: "status unknown", method: "GET", path: "/status/" + unknown, who: "reader", want: 404},
		{name: "status without credentials", method: "GET", path: "/status/" + fine.ID, want: 401},
		{name: "task succeeded", method: "GET", path: "/get/" + fine.ID, who: "reader", want: 200},
		{name: "task unrouted", method: "GET", path: "/get/" + unrouted, who: "reader", want: 200},
		{name: "task not a UUID", method: "GET", path: "/get/not-a-uuid", who: "reader", want: 422, badRequest: true},
		{name: "task unknown", method: "GET", path: "/get/" + unknown, who: "reader", want: 404},
		{name: "task without credentials", method: "GET", path: "/get/" + fine.ID, want: 401},

		// dispatcher-k8s's script log.
		{name: "script log", method: "GET", path: "/scriptlog", who: "reader", want: 200},
		{name: "script log of a script", method: "GET", path: "/scriptlog?script=fine", who: "reader", want: 200},
		{name: "script log, a page of one", method: "GET", path: "/scriptlog?limit=1", who: "reader", want: 200,
			check: func(t *testing.T, h http.Header, _ []byte) {
				if h.Get("X-Next-Cursor") == "" || !strings.Contains(h.Get("Link"), `rel="next"`) {
					t.Errorf("a page of one of two runs: X-Next-Cursor %q, Link %q", h.Get("X-Next-Cursor"), h.Get("Link"))
				}
			}},
		{name: "script log bad cursor", method: "GET", path: "/scriptlog?cursor=nope", who: "reader", want: 400},
		{name: "script log without credentials", method: "GET", path: "/scriptlog", want: 401},
		{name: "script run", method: "GET", path: "/scriptlog/" + fine.ID, who: "reader", want: 200},
		{name: "script run of no script", method: "GET", path: "/scriptlog/" + unrouted, who: "reader", want: 404},
		{name: "script run not a UUID", method: "GET", path: "/scriptlog/not-a-uuid", who: "reader", want: 404, badRequest: true},
		{name: "script run without credentials", method: "GET", path: "/scriptlog/" + fine.ID, want: 401},

		// The service's own routes.
		{name: "routes", method: "GET", path: "/routes", who: "reader", want: 200},
		{name: "routes without credentials", method: "GET", path: "/routes", want: 401},
		{name: "healthz", method: "GET", path: "/healthz", want: 200},
		{name: "readyz", method: "GET", path: "/readyz", want: 200},
		{name: "metrics", method: "GET", path: "/metrics", want: 200},
		{name: "openapi.json", method: "GET", path: "/openapi.json", want: 200,
			check: func(t *testing.T, _ http.Header, body []byte) {
				if !bytes.Equal(body, openapi.JSON()) {
					t.Error("GET /openapi.json is not the description")
				}
			}},

		// The mux's own answers, in the API's error shape.
		{name: "no route", method: "GET", path: "/nowhere", who: "reader", want: 404, check: errorSays(`"/nowhere"`)},
		{name: "no route below a route", method: "GET", path: "/jobs/" + fine.ID + "/logs", want: 404},
		{name: "DELETE a job", method: "DELETE", path: "/jobs/" + fine.ID, who: "operator", want: 405,
			check: both(hasHeader("Allow", "GET, HEAD"), errorSays("DELETE"))},
		{name: "GET /receive", method: "GET", path: "/receive", want: 405, check: hasHeader("Allow", "OPTIONS, POST")},
		{name: "PUT /", method: "PUT", path: "/", want: 405, check: hasHeader("Allow", "GET, HEAD, OPTIONS, POST")},
		{name: "POST /healthz", method: "POST", path: "/healthz", want: 405, check: hasHeader("Allow", "GET, HEAD")},
		{name: "OPTIONS /jobs", method: "OPTIONS", path: "/jobs", want: 405, check: hasHeader("Allow", "GET, HEAD")},
	})
}

// The answers of a service without operator credentials (403), whose senders give an
// Authorization header, and whose PostgreSQL and RabbitMQ go away (503).
func TestOpenAPIValidatesAnswersWhenClosedOrDown(t *testing.T) {
	t.Parallel()
	doc, router := loadDescription(t)
	h := startHarness(t, func(c *Config) {
		c.AdminAuthType, c.AdminAuthUsername, c.AdminAuthPassword = "", "", ""
		c.ReceiverAuthType, c.ReceiverAuthUsername, c.ReceiverAuthPassword = "header", "", ""
		c.ReceiverAuthHeader = "Bearer sender-token"
	})
	o := &openapiHarness{h: h, doc: doc, router: router}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	_, rcpt := o.run(t, apiCall{name: "receive with a bearer token", method: "POST", path: "/receive", who: "sender",
		header: jsonCT, body: withEventID(t, sampleEvent(t), "openapi-closed"), want: 202})
	var receipt struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(rcpt, &receipt); err != nil || len(receipt.Jobs) == 0 {
		t.Fatalf("receipt %s: %v", rcpt, err)
	}
	id := receipt.Jobs[0].ID
	disabled := errorSays("ADMIN_AUTH_TYPE")
	o.runAll(t, []apiCall{
		{name: "receive with a wrong token", method: "POST", path: "/receive", header: map[string]string{
			"Content-Type": "application/json", "Authorization": "Bearer guess"}, body: sampleEvent(t), want: 401},
		{name: "cancel, disabled", method: "POST", path: "/jobs/" + id + "/cancel", who: "operator", want: 403, check: disabled},
		{name: "retry, disabled", method: "POST", path: "/jobs/" + id + "/retry", who: "operator", want: 403, check: disabled},
		{name: "bulk retry, disabled", method: "POST", path: "/jobs/retry", who: "operator", header: jsonCT, body: []byte(`{}`), want: 403, check: disabled},
		{name: "cancel, disabled, without credentials", method: "POST", path: "/jobs/" + id + "/cancel", want: 403, badRequest: true},
		{name: "jobs, open", method: "GET", path: "/jobs", want: 200},
	})

	h.pgProxy.Cut()
	o.runAll(t, []apiCall{
		{name: "jobs, PostgreSQL down", method: "GET", path: "/jobs", want: 503},
		{name: "job, PostgreSQL down", method: "GET", path: "/jobs/" + id, want: 503},
		{name: "status, PostgreSQL down", method: "GET", path: "/status/" + id, want: 503},
		{name: "get, PostgreSQL down", method: "GET", path: "/get/" + id, want: 503},
		{name: "tasks, PostgreSQL down", method: "GET", path: "/", want: 503},
		{name: "script log, PostgreSQL down", method: "GET", path: "/scriptlog", want: 503},
		{name: "script run, PostgreSQL down", method: "GET", path: "/scriptlog/" + id, want: 503},
		{name: "readyz, PostgreSQL down", method: "GET", path: "/readyz", want: 200},
	})
	h.mqProxy.Cut()
	o.runAll(t, []apiCall{
		{name: "receive, both down", method: "POST", path: "/receive", who: "sender", header: jsonCT,
			body: withEventID(t, sampleEvent(t), "openapi-both-down"), want: 503, check: hasHeader("Retry-After", "5")},
		{name: "readyz, both down", method: "GET", path: "/readyz", want: 503},
	})
	h.pgProxy.Restore()
	h.mqProxy.Restore()
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
