package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// harness is a running dispatcher (receiver role) on a private schema and private queues,
// reached through TCP proxies so that tests can cut PostgreSQL or RabbitMQ away.
type harness struct {
	t       *testing.T
	svc     *Service
	base    string
	cfg     Config
	pgProxy *testsupport.Proxy
	mqProxy *testsupport.Proxy
	stop    context.CancelFunc
	done    chan error
}

func sampleEvent(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withEventID returns the sample event with another event id, so that tests do not share jobs.
func withEventID(t testing.TB, body []byte, id string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["eventID"] = id
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	dbURL := testsupport.Schema(t)
	mqURL := testsupport.BrokerURL(t)
	h := &harness{t: t}
	h.pgProxy = testsupport.NewProxy(t, hostOf(t, dbURL))
	h.mqProxy = testsupport.NewProxy(t, hostOf(t, mqURL))

	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = replaceHost(t, dbURL, h.pgProxy.Addr())
	cfg.BrokerURL = replaceHost(t, mqURL, h.mqProxy.Addr())
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Role = RoleReceiver
	cfg.BrokerQueuePrefix = "test." + testsupport.Token()
	cfg.BrokerExchange = cfg.BrokerQueuePrefix // tests delete their exchange: never share one
	cfg.RelayInterval = 100 * time.Millisecond
	cfg.RecordTimeout = 2 * time.Second
	cfg.PublishTimeout = 3 * time.Second
	cfg.ShutdownTimeout = 15 * time.Second // a loaded CI machine may need it: in-flight requests finish first
	cfg.DrainTimeout = 0                   // the drain test sets its own
	cfg.SubscriptionCheckInterval = 0      // the watchdog's test sets its own
	cfg.CatchUpInterval = 0                // catch-up's test sets its own
	// Senders and operators authenticate, as in production: h.post and the subscriptions of
	// the tests give the senders' credentials, h.operator is given the operators'.
	cfg.ReceiverAuthType, cfg.ReceiverAuthUsername, cfg.ReceiverAuthPassword = "basic", "pacifica", "sender-"+testsupport.Token()
	cfg.AdminAuthType, cfg.AdminAuthUsername, cfg.AdminAuthPassword = "basic", "ops", "admin-"+testsupport.Token()
	if mutate != nil {
		mutate(&cfg)
	}
	h.cfg = cfg
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := New(ctx, cfg, Options{Logger: logger})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h.svc, h.stop, h.done = svc, cancel, make(chan error, 1)
	go func() { h.done <- svc.Run(ctx) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr, err := svc.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	h.base = "http://" + addr.String()
	t.Cleanup(func() {
		h.stop()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("service stopped with %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("service did not stop within 40s")
		}
		deleteQueues(t, mqURL, cfg)
	})
	h.waitReady()
	return h
}

// waitReady waits until the service is ready with both PostgreSQL (migrated) and RabbitMQ
// (a receiver is ready with either one).
func (h *harness) waitReady() {
	h.t.Helper()
	eventually(h.t, 20*time.Second, "service ready", func() bool {
		resp, err := http.Get(h.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var ready map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&ready)
		return resp.StatusCode == http.StatusOK && ready["postgres"] == "ok" && ready["rabbitmq"] == "ok"
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) post(path, contentType string, body []byte) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	h.senderAuth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("POST %s: answer %d is not a JSON object: %q", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// senderAuth gives req the credentials of event senders, unless it has some.
func (h *harness) senderAuth(req *http.Request) {
	if req.Header.Get("Authorization") != "" {
		return
	}
	switch a := h.cfg.ReceiverAuth(); a.Type {
	case "basic":
		req.SetBasicAuth(a.Username, a.Password)
	case "header":
		req.Header.Set("Authorization", a.Header)
	}
}

// subscriptionAuth is the auth of a notifications subscription that delivers to the
// harness: the credentials of event senders.
func (h *harness) subscriptionAuth() *pacifica.SubscriptionAuth {
	a := h.cfg.ReceiverAuth()
	switch a.Type {
	case "basic":
		sa := &pacifica.SubscriptionAuth{Type: "basic"}
		sa.Basic = &struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{a.Username, a.Password}
		return sa
	case "header":
		typ, creds, _ := strings.Cut(a.Header, " ")
		sa := &pacifica.SubscriptionAuth{Type: "header"}
		sa.Header = &struct {
			Type        string `json:"type"`
			Credentials string `json:"credentials"`
		}{typ, creds}
		return sa
	}
	return nil
}

// senderFlag is the dispatcher subscribe flag that gives notifications the credentials of
// event senders.
func (h *harness) senderFlag() []string {
	switch a := h.cfg.ReceiverAuth(); a.Type {
	case "basic":
		return []string{"--auth-basic", a.Username + ":" + a.Password}
	case "header":
		return []string{"--auth-header", a.Header}
	}
	return nil
}

// get reads path, with the read credentials when the harness has some.
func (h *harness) get(path string, v any) int {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if a := h.cfg.ReadAuth(); a.Type == "basic" {
		req.SetBasicAuth(a.Username, a.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, v); err != nil {
			h.t.Fatalf("GET %s: %d %q: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// consumeJobs reads the jobs queue directly and returns the job ids published, waiting
// until want ids arrived or the deadline passed.
func consumeJobs(t *testing.T, cfg Config, want int, within time.Duration) []uuid.UUID {
	t.Helper()
	b, err := broker.New(broker.Config{URL: testsupport.BrokerURL(t), Exchange: cfg.BrokerExchange,
		QueueType: cfg.BrokerQueueType, Queues: []broker.QueueSpec{{Name: cfg.jobsQueue(), DeadLetter: cfg.deadQueue(), DeliveryLimit: cfg.BrokerDeliveryLimit}, {Name: cfg.deadQueue()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	got := make(chan uuid.UUID, 1000)
	go func() {
		_ = b.Consume(ctx, broker.ConsumeConfig{Queue: cfg.jobsQueue(), Prefetch: 50},
			func(_ context.Context, d broker.Delivery) broker.Disposition {
				var m struct {
					JobID uuid.UUID `json:"job_id"`
				}
				if json.Unmarshal(d.Body, &m) == nil {
					got <- m.JobID
				}
				return broker.Ack
			})
	}()
	// Distinct ids: a job may be published twice (the background publisher and the relay
	// race); workers ignore the second message, so tests count jobs, not messages.
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for len(ids) < want {
		select {
		case id := <-got:
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		case <-ctx.Done():
			return ids
		}
	}
	return ids
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u := mustURL(t, raw)
	if u.Port() == "" {
		t.Fatalf("%s has no port", raw)
	}
	return u.Host
}

func replaceHost(t *testing.T, raw, host string) string {
	t.Helper()
	u := mustURL(t, raw)
	u.Host = host
	return u.String()
}

func deleteQueues(t *testing.T, mqURL string, cfg Config) {
	for _, q := range []string{cfg.jobsQueue(), cfg.intakeQueue(), cfg.deadQueue()} {
		if err := testsupport.DeleteQueue(mqURL, q); err != nil {
			t.Logf("delete queue %s: %v", q, err)
		}
	}
	if err := testsupport.DeleteExchange(mqURL, cfg.BrokerExchange); err != nil {
		t.Logf("delete exchange: %v", err)
	}
}

func jobIDs(t *testing.T, answer map[string]any) []string {
	t.Helper()
	jobs, ok := answer["jobs"].([]any)
	if !ok {
		t.Fatalf("answer has no jobs: %v", answer)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.(map[string]any)["id"].(string))
	}
	return ids
}

func TestSampleEventAcceptedQueuedAndDeduplicated(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	body := sampleEvent(t)

	code, first := h.post("/receive", "application/json", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST /receive: %d %v, want 202", code, first)
	}
	ids := jobIDs(t, first)
	if len(ids) != 1 {
		t.Fatalf("sample event made %d jobs, want 1 (the proxymod route): %v", len(ids), first)
	}
	job := first["jobs"].([]any)[0].(map[string]any)
	if job["route"] != "proxymod" || job["state"] != "queued" || job["duplicate"] != false || first["held_in"] != "postgres" {
		t.Errorf("first answer = %v, want a new queued proxymod job held in postgres", first)
	}

	// The same event again (a second subscription, an operator's re-send): the same job.
	code, second := h.post("/", "application/json", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST /: %d %v", code, second)
	}
	if got := jobIDs(t, second); len(got) != 1 || got[0] != ids[0] {
		t.Errorf("duplicate mapped to %v, want %v", got, ids)
	}
	if second["jobs"].([]any)[0].(map[string]any)["duplicate"] != true {
		t.Errorf("duplicate not reported as such: %v", second)
	}

	var j map[string]any
	if code := h.get("/jobs/"+ids[0], &j); code != http.StatusOK {
		t.Fatalf("GET /jobs/%s: %d", ids[0], code)
	}
	if j["state"] != "queued" || j["route"] != "proxymod" || j["event_id"] != "C234-1234-1234" || j["attempts"] != float64(0) {
		t.Errorf("job = %v", j)
	}
	for _, k := range []string{"id", "state", "route", "event_id", "attempts", "error", "transaction_id"} {
		if _, ok := j[k]; !ok {
			t.Errorf("job JSON lacks %q: %v", k, j)
		}
	}

	// Published for the one job only, although the event came twice.
	got := consumeJobs(t, h.cfg, 2, 3*time.Second)
	if len(got) != 1 || got[0].String() != ids[0] {
		t.Errorf("jobs queue got jobs %v, want exactly [%s]", got, ids[0])
	}
	eventually(t, 5*time.Second, "job marked published", func() bool {
		st, err := jobstore.Open(context.Background(), jobstore.Config{URL: h.cfg.DatabaseURL})
		if err != nil {
			return false
		}
		defer st.Close()
		n, err := st.Backlog(context.Background())
		return err == nil && n == 0
	})
}

func TestUnroutedEventRecorded(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	ev := `{"cloudEventsVersion":"0.1","eventType":"org.pacifica.metadata.orm","source":"/pacifica/metadata/orm",` +
		`"eventID":"orm-1","eventTime":"2020-05-13T15:16:18","extensions":{},"contentType":"application/json","data":[]}`
	code, ans := h.post("/receive", "application/json", []byte(ev))
	if code != http.StatusAccepted {
		t.Fatalf("unrouted event answered %d %v, want 202", code, ans)
	}
	ids := jobIDs(t, ans)
	if len(ids) != 1 {
		t.Fatalf("want one unrouted record, got %v", ans)
	}
	var j map[string]any
	h.get("/jobs/"+ids[0], &j)
	if j["state"] != "unrouted" || j["route"] != "" {
		t.Errorf("job = %v, want state unrouted without a route", j)
	}
	var status string
	if code := h.get("/status/"+ids[0], &status); code != http.StatusOK || status != "422 Unprocessable Entity" {
		t.Errorf("GET /status: %d %q, want 200 \"422 Unprocessable Entity\"", code, status)
	}
	var list struct {
		Jobs []map[string]any `json:"jobs"`
	}
	h.get("/jobs?state=unrouted", &list)
	if len(list.Jobs) != 1 || list.Jobs[0]["id"] != ids[0] {
		t.Errorf("GET /jobs?state=unrouted = %v", list.Jobs)
	}
	if got := consumeJobs(t, h.cfg, 1, 500*time.Millisecond); len(got) != 0 {
		t.Errorf("an unrouted event was published: %v", got)
	}
}

func TestBadDeliveriesRefusedWithClearErrors(t *testing.T) {
	t.Parallel()
	h := startHarness(t, func(c *Config) { c.MaxEventBytes = 64 << 10 })
	big := append([]byte(`{"cloudEventsVersion":"0.1","eventType":"x","source":"s","eventID":"big","data":"`),
		bytes.Repeat([]byte("a"), 65<<10)...)
	big = append(big, []byte(`"}`)...)
	cases := []struct {
		name, ct string
		body     []byte
		code     int
		mention  string
	}{
		{"not JSON", "application/json", []byte(`{"cloudEventsVersion": "0.1",`), http.StatusBadRequest, ""},
		{"not an object", "application/json", []byte(`[1,2,3]`), http.StatusBadRequest, ""},
		{"missing id", "application/json", []byte(`{"cloudEventsVersion":"0.1","eventType":"t","source":"s"}`), http.StatusBadRequest, "eventID"},
		{"wrong type", "application/json", []byte(`{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":7}`), http.StatusBadRequest, "eventID"},
		{"oversize", "application/json", big, http.StatusRequestEntityTooLarge, "limit"},
		{"form body", "application/x-www-form-urlencoded", []byte(`a=b`), http.StatusUnsupportedMediaType, ""},
		{"plain text", "text/plain", []byte(`hello`), http.StatusUnsupportedMediaType, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, ans := h.post("/receive", tc.ct, tc.body)
			if code != tc.code {
				t.Fatalf("answered %d %v, want %d", code, ans, tc.code)
			}
			msg, _ := ans["error"].(string)
			if msg == "" {
				t.Fatalf("no error message: %v", ans)
			}
			if tc.mention != "" && !strings.Contains(msg, tc.mention) {
				t.Errorf("error %q does not mention %q", msg, tc.mention)
			}
		})
	}
}

func TestInvalidIngestEventAcceptedButFailed(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	body := strings.Replace(string(withEventID(t, sampleEvent(t), "traversal-1")),
		`"subdir":"models/"`, `"subdir":"../../etc/"`, 1)
	if !strings.Contains(body, "../../etc/") {
		t.Fatal("test event not modified")
	}
	code, ans := h.post("/receive", "application/json", []byte(body))
	if code != http.StatusAccepted {
		t.Fatalf("a well-formed event must be answered 2xx (Pacifica disables subscriptions otherwise): %d %v", code, ans)
	}
	for _, j := range ans["jobs"].([]any) {
		jm := j.(map[string]any)
		if jm["state"] == "queued" {
			t.Errorf("a job of an event with a path traversal was queued: %v", jm)
		}
	}
}

func TestBrokerDownEventsHeldInPostgresThenPublished(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	h.mqProxy.Cut()
	var ids []string
	for i := range 5 {
		code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), fmt.Sprintf("mq-down-%d", i)))
		if code != http.StatusAccepted {
			t.Fatalf("event %d while RabbitMQ is down: %d %v, want 202", i, code, ans)
		}
		ids = append(ids, jobIDs(t, ans)...)
	}
	h.mqProxy.Restore()
	got := consumeJobs(t, h.cfg, len(ids), 30*time.Second)
	seen := map[string]int{}
	for _, id := range got {
		seen[id.String()]++
	}
	for _, id := range ids {
		if seen[id] == 0 {
			t.Errorf("job %s accepted while RabbitMQ was down was never published", id)
		}
	}
}

func TestPostgresDownEventsHeldInBrokerThenRecorded(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	h.pgProxy.Cut()
	var ids []string
	for i := range 3 {
		code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), fmt.Sprintf("pg-down-%d", i)))
		if code != http.StatusAccepted {
			t.Fatalf("event %d while PostgreSQL is down: %d %v, want 202", i, code, ans)
		}
		if ans["held_in"] != "broker" {
			t.Errorf("held_in = %v, want broker", ans["held_in"])
		}
		ids = append(ids, jobIDs(t, ans)...)
	}
	h.pgProxy.Restore()
	for _, id := range ids {
		eventually(t, 30*time.Second, "job "+id+" recorded", func() bool {
			var j map[string]any
			return h.get("/jobs/"+id, &j) == http.StatusOK && j["state"] == "queued"
		})
	}
	got := consumeJobs(t, h.cfg, len(ids), 30*time.Second)
	if len(got) < len(ids) {
		t.Errorf("published %d jobs, want %d", len(got), len(ids))
		for _, id := range ids {
			var j map[string]any
			h.get("/jobs/"+id, &j)
			t.Logf("job %s: %v", id, j)
		}
	}
}

func TestNeitherStoreNorBrokerAnswers503(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	h.pgProxy.Cut()
	h.mqProxy.Cut()
	code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), "both-down"))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d %v, want 503", code, ans)
	}
	var ready map[string]string
	if code := h.get("/readyz", &ready); code != http.StatusServiceUnavailable ||
		!strings.HasPrefix(ready["postgres"], "unavailable") || !strings.HasPrefix(ready["rabbitmq"], "unavailable") {
		t.Errorf("/readyz = %d %v, want 503 naming both", code, ready)
	}
	h.pgProxy.Restore()
	h.mqProxy.Restore()
}

// A receiver is ready while it can make an event durable: PostgreSQL or RabbitMQ. A worker
// needs both.
func TestReadyWhileEitherStoreAnswers(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	check := func(what string, want int, intake string) {
		t.Helper()
		var ready map[string]string
		if code := h.get("/readyz", &ready); code != want || !strings.Contains(ready["intake"], intake) {
			t.Errorf("%s: /readyz = %d %v, want %d with intake %q", what, code, ready, want, intake)
		}
	}
	check("both up", http.StatusOK, "PostgreSQL")
	h.pgProxy.Cut()
	check("PostgreSQL down", http.StatusOK, "RabbitMQ")
	if code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), "ready-pg-down")); code != http.StatusAccepted {
		t.Errorf("a ready receiver refused an event: %d %v", code, ans)
	}
	h.pgProxy.Restore()
	// The pool's connections were cut with the proxy: wait until PostgreSQL answers again.
	eventually(t, 15*time.Second, "PostgreSQL back", func() bool {
		var ready map[string]string
		h.get("/readyz", &ready)
		return ready["postgres"] == "ok"
	})
	h.mqProxy.Cut()
	check("RabbitMQ down", http.StatusOK, "PostgreSQL")
	h.mqProxy.Restore()

	s := startSite(t)
	w := startHarness(t, func(c *Config) { s.workerConfig(t, c); c.Role = RoleWorker })
	w.pgProxy.Cut()
	var ready map[string]string
	if code := w.get("/readyz", &ready); code != http.StatusServiceUnavailable {
		t.Errorf("a worker without PostgreSQL: /readyz = %d %v, want 503", code, ready)
	}
	w.pgProxy.Restore()
}

// PostgreSQL behind a network partition does not refuse, it hangs. A receiver must still
// answer /readyz 200 (RabbitMQ holds events) within the one-second timeout of a Kubernetes
// readiness probe: a probe that times out takes every receiver out of the Service at once,
// and Pacifica's next delivery fails and disables the subscription. Checked the way a probe
// checks, a few times over (one answer in time suffices on a loaded machine; a check that
// waits for PostgreSQL's own timeouts never answers in time).
func TestReadyWithinAProbeTimeoutWhilePostgresHangs(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	h.pgProxy.Partition()
	defer h.pgProxy.Restore()
	probe := &http.Client{Timeout: time.Second}
	last := ""
	defer func() {
		if t.Failed() {
			t.Logf("last probe: %s", last)
		}
	}()
	eventually(t, 30*time.Second, "/readyz 200 within a probe's one-second timeout, PostgreSQL partitioned", func() bool {
		resp, err := probe.Get(h.base + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		defer resp.Body.Close()
		var ready map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&ready)
		last = fmt.Sprint(resp.StatusCode, " ", ready)
		return resp.StatusCode == http.StatusOK && strings.HasPrefix(ready["postgres"], "unavailable") &&
			strings.Contains(ready["intake"], "RabbitMQ")
	})
}

// On SIGTERM a receiver drains: /readyz answers 503 at once while events are still taken,
// then the listener closes.
func TestDrainThenStop(t *testing.T) {
	t.Parallel()
	h := startHarness(t, func(c *Config) { c.DrainTimeout = 3 * time.Second })
	h.stop()
	eventually(t, 2*time.Second, "/readyz 503 while draining", func() bool {
		var ready map[string]string
		return h.get("/readyz", &ready) == http.StatusServiceUnavailable && ready["draining"] != ""
	})
	if code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), "during-drain")); code != http.StatusAccepted {
		t.Errorf("an event during the drain: %d %v, want 202", code, ans)
	}
	select {
	case err := <-h.done:
		h.done <- err // for the harness's cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not stop after its drain")
	}
	if _, err := http.Get(h.base + "/healthz"); err == nil {
		t.Error("still serving after the drain and shutdown")
	}
}

func TestListPaginationAndCompatibilityAPI(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	const n = 23
	var want []string // newest first
	for i := range n {
		code, ans := h.post("/receive", "application/json", withEventID(t, sampleEvent(t), fmt.Sprintf("page-%02d", i)))
		if code != http.StatusAccepted {
			t.Fatal(code, ans)
		}
		want = append([]string{jobIDs(t, ans)[0]}, want...)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("pagination does not end")
		}
		var page struct {
			Jobs       []map[string]any `json:"jobs"`
			NextCursor string           `json:"next_cursor"`
		}
		if code := h.get("/jobs?route=proxymod&limit=4&cursor="+cursor, &page); code != http.StatusOK {
			t.Fatalf("GET /jobs: %d", code)
		}
		for _, j := range page.Jobs {
			got = append(got, j["id"].(string))
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages gave\n%v\nwant newest first\n%v", got, want)
	}
	if code := h.get("/jobs?cursor=not-a-cursor", nil); code != http.StatusBadRequest {
		t.Errorf("bad cursor answered %d, want 400", code)
	}

	// The Python dispatcher's API.
	var status string
	if code := h.get("/status/"+want[0], &status); code != http.StatusOK || status != "202 Accepted" {
		t.Errorf("GET /status: %d %q", code, status)
	}
	if code := h.get("/status/not-a-uuid", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("GET /status/not-a-uuid: %d, want 422", code)
	}
	if code := h.get("/status/"+uuid.NewString(), nil); code != http.StatusNotFound {
		t.Errorf("GET /status/<unknown>: %d, want 404", code)
	}
	var task map[string]any
	if code := h.get("/get/"+want[0], &task); code != http.StatusOK {
		t.Fatalf("GET /get: %d", code)
	}
	for _, k := range []string{"eventType", "eventTypeVersion", "source", "eventID", "eventTime", "schemaURL",
		"contentType", "eventData", "data", "taskID", "taskStatus", "taskApplicationName", "taskName",
		"exceptionType", "exceptionValue", "exceptionTraceback", "created", "updated", "deleted"} {
		if _, ok := task[k]; !ok {
			t.Errorf("GET /get lacks %q", k)
		}
	}
	if task["taskID"] != want[0] || task["taskStatus"] != "202 Accepted" || task["eventID"] != "page-22" ||
		task["eventType"] != "org.pacifica.metadata.ingest" {
		t.Errorf("GET /get = %v", task)
	}
	var data []any
	if err := json.Unmarshal([]byte(task["data"].(string)), &data); err != nil || len(data) != 24 {
		t.Errorf("GET /get data is not the event's data list (%d entries): %v", len(data), err)
	}
	var rows []map[string]any
	if code := h.get("/", &rows); code != http.StatusOK || len(rows) != n || rows[0]["taskID"] != want[0] {
		t.Errorf("GET /: %d, %d rows, first %v; want %d rows newest first", code, len(rows), rows, n)
	}
}

func TestMetricsAndRoutes(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil)
	h.post("/receive", "application/json", withEventID(t, sampleEvent(t), "metrics-1"))
	h.post("/receive", "text/plain", []byte("x"))
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(raw)
	bi := buildinfo.Get()
	for _, want := range []string{
		`dispatcher_events_received_total{outcome="accepted",type="org.pacifica.metadata.ingest"} 1`,
		`dispatcher_events_received_total{outcome="unsupported_media_type",type="unknown"} 1`,
		`dispatcher_http_requests_total{code="202",route="POST /receive"} 1`,
		`dispatcher_broker_`,
		`dispatcher_outbox_backlog`,
		`dispatcher_jobs{route="proxymod",state="queued"}`,
		`go_goroutines`,
		fmt.Sprintf(`dispatcher_build_info{goversion=%q,revision=%q,version=%q} 1`, bi.GoVersion, bi.Revision, bi.Version),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var routes []map[string]any
	if code := h.get("/routes", &routes); code != http.StatusOK || len(routes) != 1 || routes[0]["name"] != "proxymod" {
		t.Errorf("/routes = %d %v", code, routes)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
