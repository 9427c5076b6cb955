package service

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// Who may do what: the catalogue's dispatcher has sender, operator and read credentials
// (startHostileEnv); a second one, started for the cases that need it, has none for
// operators. Each case is one request and the status it must get.

// accessCase is one request to the HTTP API.
type accessCase struct {
	name, method, path string // {job} in path is a failed job of the catalogue
	// as is who asks: "" anonymous, "sender", "ops", "ops-wrong", "reader"
	as string
	// noAdmin sends the request to a dispatcher without operator credentials.
	noAdmin bool
	code    int
	errHas  string
}

func accessCases() []accessCase {
	reads := []string{"/jobs", "/jobs/{job}", "/status/{job}", "/get/{job}", "/", "/scriptlog", "/scriptlog/{job}", "/routes"}
	cases := []accessCase{
		{name: "access/operator retry, operators not configured", method: "POST", path: "/jobs/{job}/retry", noAdmin: true, code: 403, errHas: "ADMIN_AUTH_TYPE=basic"},
		{name: "access/operator cancel, operators not configured", method: "POST", path: "/jobs/{job}/cancel", noAdmin: true, code: 403, errHas: "ADMIN_AUTH_TYPE=basic"},
		{name: "access/operator retry, not configured, basic credentials sent", method: "POST", path: "/jobs/{job}/retry", as: "ops", noAdmin: true, code: 403, errHas: "disabled"},
		{name: "access/operator retry, anonymous", method: "POST", path: "/jobs/{job}/retry", code: 401, errHas: "operator credentials"},
		{name: "access/operator cancel, anonymous", method: "POST", path: "/jobs/{job}/cancel", code: 401, errHas: "operator credentials"},
		{name: "access/operator retry, wrong password", method: "POST", path: "/jobs/{job}/retry", as: "ops-wrong", code: 401, errHas: "operator credentials"},
		{name: "access/operator retry, sender's credentials", method: "POST", path: "/jobs/{job}/retry", as: "sender", code: 401, errHas: "operator credentials"},
		{name: "access/operator retry, reader's credentials", method: "POST", path: "/jobs/{job}/retry", as: "reader", code: 401, errHas: "operator credentials"},
		{name: "access/operator retry, operator", method: "POST", path: "/jobs/{job}/retry", as: "ops", code: 200},
		{name: "access/receive, anonymous", method: "POST", path: "/receive", code: 401, errHas: "credentials configured for senders"},
		{name: "access/receive, operator's credentials", method: "POST", path: "/receive", as: "ops", code: 401, errHas: "credentials configured for senders"},
		{name: "access/health open", method: "GET", path: "/healthz", code: 200},
		{name: "access/readiness open", method: "GET", path: "/readyz", code: 200},
		{name: "access/metrics open", method: "GET", path: "/metrics", code: 200},
	}
	for _, p := range reads {
		ok := http.StatusOK
		if p == "/scriptlog/{job}" {
			ok = http.StatusNotFound // the job is a proxymod job, not a script run: past authentication
		}
		cases = append(cases,
			accessCase{name: "access/read " + p + ", anonymous", method: "GET", path: p, code: 401, errHas: "read credentials"},
			accessCase{name: "access/read " + p + ", wrong password", method: "GET", path: p, as: "ops-wrong", code: 401, errHas: "read credentials"},
			accessCase{name: "access/read " + p + ", reader", method: "GET", path: p, as: "reader", code: ok},
			accessCase{name: "access/read " + p + ", operator", method: "GET", path: p, as: "ops", code: ok})
	}
	return cases
}

// authorize gives req the credentials of who.
func (h *harness) authorize(req *http.Request, who string) {
	switch who {
	case "sender":
		h.senderAuth(req)
	case "ops":
		req.SetBasicAuth(h.cfg.AdminAuthUsername, h.cfg.AdminAuthPassword)
	case "ops-wrong":
		req.SetBasicAuth(h.cfg.AdminAuthUsername, h.cfg.AdminAuthPassword+"x")
	case "reader":
		req.SetBasicAuth(h.cfg.ReadAuthUsername, h.cfg.ReadAuthPassword)
	}
}

// accessJob returns a failed job of the catalogue's dispatcher (and of the one without
// operators, which shares its job store): an event whose transaction metadata does not
// know, failed at its first step.
func (e *hostileEnv) accessJob(t *testing.T) string {
	t.Helper()
	if e.failedJob != "" {
		return e.failedJob
	}
	code, ans := e.post(delivery{contentType: jsonCT, body: e.event(setTx("_id", 999998))})
	if code != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", code, ans)
	}
	e.failedJob = jobIDs(t, ans)[0]
	if j := e.waitFinal(t, e.failedJob, 60*time.Second); j.State != "failed" {
		t.Fatalf("job %s, want failed", j.State)
	}
	return e.failedJob
}

// noAdminHarness is a receiver on the catalogue's job store without operator credentials.
func (e *hostileEnv) noAdminHarness(t *testing.T) *harness {
	t.Helper()
	if e.noAdmin == nil {
		e.noAdmin = startHarness(e.top0, func(c *Config) {
			c.DatabaseURL = e.h.cfg.DatabaseURL
			c.AdminAuthType, c.AdminAuthUsername, c.AdminAuthPassword = "", "", ""
		})
	}
	return e.noAdmin
}

func (e *hostileEnv) runAccess(t *testing.T, c accessCase) *hostileResult {
	t.Helper()
	r := &hostileResult{name: c.name}
	h := e.h
	if c.noAdmin {
		h = e.noAdminHarness(t)
	}
	path := strings.ReplaceAll(c.path, "{job}", e.accessJob(t))
	var body io.Reader
	if c.method == http.MethodPost && path == "/receive" {
		body = bytes.NewReader(e.event())
	}
	req, err := http.NewRequest(c.method, h.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", jsonCT)
	h.authorize(req, c.as)
	before := e.jobCount()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.code = resp.StatusCode
	if r.code != c.code {
		t.Errorf("%s %s as %q: %d %.300s, want %d", c.method, path, c.as, r.code, raw, c.code)
	}
	if r.code == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if r.code >= 400 {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("the %d answer is not a JSON object: %.200q", r.code, raw)
		}
		r.errText, _ = m["error"].(string)
		if (r.code == http.StatusUnauthorized || r.code == http.StatusForbidden) && strings.Contains(string(raw), e.failedJob) {
			t.Errorf("a refused request saw the job: %.300s", raw)
		}
		if n := e.jobCount(); n != before {
			t.Errorf("a refused request changed the jobs: %d before, %d after", before, n)
		}
	}
	if c.errHas != "" && !strings.Contains(r.errText, c.errHas) {
		t.Errorf("error %q lacks %q", r.errText, c.errHas)
	}
	r.outside = e.outsideWrites()
	r.serves = e.serves()
	return r
}

// resent delivers an event whose job fails through cartd answering 500 (an attempt
// failed, retried, given up), then checks that two more deliveries of it are answered the
// same, with nothing of the job's error (cartd's URL, its answer).
func resent() hostileCase {
	var sent []byte
	return hostileCase{name: "receiver/re-sent event after failed attempts",
		setup: fault(pacificasim.ServiceCartd, pacificasim.Fault{Status: 500}),
		deliver: func(e *hostileEnv) delivery {
			sent = e.event()
			return delivery{contentType: jsonCT, body: sent}
		},
		want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{"cartd: create cart", "500"},
			check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				var answers [][]byte
				for range 2 {
					code, ans := e.post(delivery{contentType: jsonCT, body: sent})
					b, _ := json.Marshal(ans)
					if code != http.StatusAccepted {
						t.Errorf("re-sent: %d %s", code, b)
					}
					answers = append(answers, b)
					for _, leak := range []string{"cartd", e.s.urls.Cartd, "500", `"error"`, `"state"`} {
						if bytes.Contains(b, []byte(leak)) {
							t.Errorf("the answer to a re-sent event holds %q: %s", leak, b)
						}
					}
					if !bytes.Contains(b, []byte(`"duplicate":true`)) || !bytes.Contains(b, []byte(r.jobs[0].ID)) {
						t.Errorf("the answer does not say the event was a duplicate of job %s: %s", r.jobs[0].ID, b)
					}
				}
				if !bytes.Equal(answers[0], answers[1]) {
					t.Errorf("two deliveries of one event answered differently:\n%s\n%s", answers[0], answers[1])
				}
			}}}
}

// peerText fails a job through a peer's answer holding a NUL, invalid UTF-8, control
// characters or a Python traceback: the job must end failed in its first attempt (a
// PostgreSQL refusal of the text is no reason to run it again), with a clean error that
// still names the problem, and upload no more than one attempt does.
func peerText(name, service string, f pacificasim.Fault, attempts, maxUploads int, errHas ...string) hostileCase {
	return hostileCase{name: "peer text/" + name, setup: fault(service, f), deliver: edited(),
		want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: errHas,
			check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				j := r.jobs[0]
				if !utf8.ValidString(j.Error) || strings.ContainsAny(j.Error, "\x00\x1b\r") {
					t.Errorf("the job's error is not clean: %q", j.Error)
				}
				if strings.Contains(j.Error, "Traceback") || strings.Contains(j.Error, "  File ") {
					t.Errorf("the job's error holds a whole traceback: %q", j.Error)
				}
				if j.Attempts != attempts {
					t.Errorf("%d attempts, want %d", j.Attempts, attempts)
				}
				if n := len(e.s.resultsOfJob(j.ID)); n > maxUploads {
					t.Errorf("%d uploads carry the job, want at most %d", n, maxUploads)
				}
			}}}
}

func peerTextCases() []hostileCase {
	const dirty = `bad \u0000 name \u001b[31m` + "\xff\xfe"
	return []hostileCase{
		resent(),
		peerText("cartd 400 message", pacificasim.ServiceCartd,
			pacificasim.Fault{Status: 400, Body: `{"status": "400 Bad Request", "message": "` + dirty + `"}`}, 1, 1,
			"cartd: create cart", `bad \x00 name \x1b[31m`),
		peerText("cartd 500 body not JSON", pacificasim.ServiceCartd,
			pacificasim.Fault{Status: 500, Body: "<html>\x00\xff\x1b</html>"}, 3, 1, "cartd: create cart", `<html>\x00\xff\x1b</html>`),
		peerText("ingest upload answer", pacificasim.ServiceIngest,
			pacificasim.Fault{Status: 200, Body: "\x00\xff not JSON", Path: "/upload"}, 1, 0, "ingest: upload", `\x00\xff not JSON`),
		peerText("ingest state FAILED with a traceback", pacificasim.ServiceIngest,
			pacificasim.Fault{Status: 200, Path: "/get_state", Count: 1, Body: `{"job_id": 1, "state": "FAILED", "task": "ingest files", ` +
				`"task_percent": "0.0", "exception": "Traceback (most recent call last):\n  File \"ingest/tasks.py\", line 9, in ingest\n` +
				`    raise ValueError()\nValueError: ` + dirty + `"}`}, 1, 2, `FAILED in "ingest files": ValueError: bad \x00 name`),
		peerText("metadata 400 message", pacificasim.ServiceMetadata,
			pacificasim.Fault{Status: 400, Body: `{"status": "400 Bad Request", "message": "` + dirty + `"}`}, 1, 0, "metadata", `bad \x00 name`),
	}
}
