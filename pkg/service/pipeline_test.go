package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

// site is a simulated Pacifica with its clients.
type site struct {
	sim    *pacificasim.Sim
	urls   pacificasim.Addrs
	client *pacifica.Client
}

func startSite(t *testing.T) *site {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir(), StagingDelay: 20 * time.Millisecond,
		IngestStepDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sim.Serve(ctx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0", Metadata: "127.0.0.1:0"})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = sim.Close()
	})
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addrs, err := sim.Addrs(actx)
	if err != nil {
		t.Fatal(err)
	}
	u := addrs.URLs()
	client, err := pacifica.New(pacificaConfig(u))
	if err != nil {
		t.Fatal(err)
	}
	return &site{sim: sim, urls: u, client: client}
}

// workerConfig makes a harness configuration run the workers against the site, with the
// Python stand-in of proxymod.
func (s *site) workerConfig(t *testing.T, c *Config) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run the models:", err)
	}
	standIn, err := filepath.Abs(filepath.Join("..", "..", "testdata", "proxymod", "python"))
	if err != nil {
		t.Fatal(err)
	}
	c.Role = RoleAll
	c.PacificaConfig = pacificaConfig(s.urls)
	c.PacificaConfig.CartTimeout = 20 * time.Second
	c.PacificaConfig.IngestTimeout = 20 * time.Second
	c.DataDir = t.TempDir()
	c.WorkerConcurrency = 2
	c.JobLease = 3 * time.Second
	c.JobBackoffBase = 100 * time.Millisecond
	c.JobBackoffMax = 500 * time.Millisecond
	c.ProxymodPython = py
	c.ProxymodEnv = []string{"PYTHONPATH=" + standIn, "PROXYMOD_SLEEP_SCALE=0"}
}

// subscribe registers the dispatcher with the site's notifications on the proxymod route.
func (s *site) subscribe(t *testing.T, h *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.client.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{
		Name: "proxymod", JSONPath: proxymod.RouteText, TargetURL: h.base + "/receive", Auth: h.subscriptionAuth(),
	}); err != nil {
		t.Fatal(err)
	}
}

// upload uploads a proxymod source: the given model scripts of testdata/proxymod/models
// (or the sources given), the sample inputs, and the sample event's proxymod key/values
// with the overrides. It returns the source transaction id.
func (s *site) upload(t *testing.T, models map[string]string, overrides map[string]string) int64 {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range models {
		if src == "" {
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod", "models", name+".py"))
			if err != nil {
				t.Fatal(err)
			}
			src = string(b)
		}
		write("models/"+name+".py", []byte(src))
	}
	for _, n := range []string{"in_file_one.csv", "in_file_two.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "data", "inputs", n))
		if err != nil {
			t.Fatal(err)
		}
		write("inputs/"+n, b)
	}
	var env struct {
		Data []struct {
			Table string          `json:"destinationTable"`
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(sampleEvent(t), &env); err != nil {
		t.Fatal(err)
	}
	meta := pacifica.UploadMeta{Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"1234a"`), Instrument: json.RawMessage(`54`)}
	done := map[string]bool{}
	for _, d := range env.Data {
		if d.Table != "TransactionKeyValue" {
			continue
		}
		v := d.Value
		if o, ok := overrides[d.Key]; ok {
			v, _ = json.Marshal(o)
			done[d.Key] = true
		}
		meta.KeyValues = append(meta.KeyValues, pacifica.KeyValue{Key: d.Key, Value: v})
	}
	for k, o := range overrides {
		if !done[k] {
			v, _ := json.Marshal(o)
			meta.KeyValues = append(meta.KeyValues, pacifica.KeyValue{Key: k, Value: v})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := s.client.Ingest.Upload(ctx, dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// results returns the transactions that carry the lineage key/value of source.
func (s *site) results(source int64) []pacificasim.Transaction {
	var out []pacificasim.Transaction
	for _, tx := range s.sim.Transactions() {
		for _, kv := range tx.KeyValues {
			if kv.Key == proxymod.LineageKey && string(kv.Value) == jsonInt(source) {
				out = append(out, tx)
			}
		}
	}
	return out
}

func jsonInt(i int64) string { b, _ := json.Marshal(i); return string(b) }

func pacificaConfig(u pacificasim.Addrs) pacifica.Config {
	return pacifica.Config{UploadURL: u.Ingest + "/upload", UploadStatusURL: u.Ingest + "/get_state",
		DownloadURL: u.Cartd, NotificationsURL: u.Notifications, MetadataURL: u.Metadata, CABundle: "True"}
}

// jobOf waits until the event of source transaction has a job in a final state and
// returns it.
func (h *harness) jobOf(source int64, within time.Duration) jobJSON {
	h.t.Helper()
	var j jobJSON
	eventually(h.t, within, "job of transaction "+jsonInt(source)+" finished", func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(source), &page)
		if len(page.Jobs) != 1 {
			return false
		}
		h.get("/jobs/"+page.Jobs[0].ID, &j)
		return j.State == "succeeded" || j.State == "failed" || j.State == "cancelled"
	})
	return j
}

type jobJSON struct {
	ID            string          `json:"id"`
	State         string          `json:"state"`
	Route         string          `json:"route"`
	Attempts      int             `json:"attempts"`
	Error         string          `json:"error"`
	TransactionID *int64          `json:"transaction_id"`
	Logs          string          `json:"logs"`
	Details       json.RawMessage `json:"details"`
	History       []struct {
		N       int    `json:"n"`
		Outcome string `json:"outcome"`
		Error   string `json:"error"`
	} `json:"attempt_history"`
}

func fileNames(tx pacificasim.Transaction) map[string]bool {
	out := map[string]bool{}
	for _, f := range tx.Files {
		p := strings.Trim(f.Subdir, "/")
		if p != "" {
			p += "/"
		}
		out[p+f.Name] = true
	}
	return out
}

func keyValue(tx pacificasim.Transaction, key string) string {
	for _, kv := range tx.KeyValues {
		if kv.Key == key {
			return string(kv.Value)
		}
	}
	return ""
}

// The whole loop on real parts: an upload to the simulated Pacifica fires its event
// through notifications to the dispatcher, which downloads, runs the three coupling styles
// in Python, and uploads the results linked to the source; the result's own event is not
// processed again.
func TestProxymodPipelineEndToEnd(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": "", "tight_coupling": "", "tight_coupling_twoway": ""},
		map[string]string{"proxymod.config_3.PROJECT.runtime": "1"})

	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.TransactionID == nil || j.Attempts != 1 || j.Route != proxymod.RouteName {
		t.Fatalf("job %+v", j)
	}
	res := s.results(src)
	if len(res) != 1 || res[0].ID != *j.TransactionID {
		t.Fatalf("%d result transactions for source %d, want exactly the job's %d", len(res), src, *j.TransactionID)
	}
	tx := res[0]
	for _, f := range []string{"submitter", "project", "instrument"} {
		if string(tx.Fields[f]) != map[string]string{"submitter": "10", "project": `"1234a"`, "instrument": "54"}[f] {
			t.Errorf("result %s = %s, want the source's", f, tx.Fields[f])
		}
	}
	names := fileNames(tx)
	for _, want := range []string{"config_1.ini", "config_2.ini", "config_3.ini", "stdout.log", "stderr.log",
		"download-stdout.log", "download-stderr.log", "upload-stdout.log", "upload-stderr.log",
		"outputs/model_3_outputs/output1_model_3_2010_2100.csv",
		"outputs/model_3_outputs/output2_model_3_2025.csv",
		"outputs/model_3_feedback_outputs/output1_model_3_feedback_2020.csv"} {
		if !names[want] {
			t.Errorf("result transaction lacks %s (has %d files)", want, len(names))
		}
	}
	for n := range names {
		if strings.HasPrefix(n, "run/") || strings.HasSuffix(n, "driver.py") || strings.HasPrefix(n, "models/") {
			t.Errorf("result transaction holds %s, which is not the models' output", n)
		}
	}
	if keyValue(tx, proxymod.StatusKey) != "" {
		t.Errorf("a successful run is marked %s", keyValue(tx, proxymod.StatusKey))
	}
	// config_1.ini as the user gave it.
	for _, f := range tx.Files {
		if f.Name == "config_1.ini" {
			b, _ := os.ReadFile(f.Path)
			if !strings.Contains(string(b), "in_dir = inputs/\n") {
				t.Errorf("config_1.ini:\n%s", b)
			}
		}
		if f.Name == "stdout.log" {
			b, _ := os.ReadFile(f.Path)
			if !strings.Contains(string(b), "proxymod_logger_model_1 - INFO - Starting model_1") {
				t.Errorf("stdout.log lacks the models' log lines:\n%.500s", b)
			}
		}
	}
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `dispatcher_job_attempts_total{outcome="succeeded",route="` + proxymod.RouteName + `"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	// Nothing is left in the data directory, and the subscription is still enabled.
	eventually(t, 5*time.Second, "job directory removed", func() bool {
		entries, _ := os.ReadDir(h.cfg.DataDir)
		return len(entries) == 0
	})
	for _, sub := range s.sim.Subscriptions() {
		if !sub.Active() {
			t.Errorf("subscription %s disabled: %v", sub.Name, sub.Error)
		}
	}
	// The same event delivered again maps to the same job and runs nothing.
	ev, _ := s.sim.Transaction(src)
	code, answer := h.post("/receive", "application/json", ev.Event)
	if code != http.StatusAccepted || jobIDs(t, answer)[0] != j.ID {
		t.Errorf("re-delivery: %d %v", code, answer)
	}
	time.Sleep(500 * time.Millisecond)
	if got := h.jobOf(src, time.Second); got.Attempts != 1 || len(s.results(src)) != 1 {
		t.Errorf("re-delivery ran the job again: attempts %d, %d results", got.Attempts, len(s.results(src)))
	}
}

// A model that raises: the job fails with the error naming the file and the stderr tail,
// and the run's logs are uploaded, marked failed.
func TestProxymodModelRaises(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, map[string]string{"proxymod.config_2.PROJECT.failure": "1"})

	j := h.jobOf(src, 60*time.Second)
	if j.State != "failed" || j.Attempts != 1 {
		t.Fatalf("job %+v", j)
	}
	for _, want := range []string{"proxymod model for file 'models/loose_coupling.py' is invalid: RuntimeError: You raised an error on purpose.",
		"stderr (tail):"} {
		if !strings.Contains(j.Error, want) {
			t.Errorf("error lacks %q:\n%s", want, j.Error)
		}
	}
	// The traceback is cut to its last line in the error, and whole in the job log.
	if strings.Contains(j.Error, "Traceback") || !strings.Contains(j.Logs, "Traceback (most recent call last):") {
		t.Errorf("the traceback should be in the log, not the error:\nerror: %s\nlog: %s", j.Error, j.Logs)
	}
	res := s.results(src)
	if len(res) != 1 || j.TransactionID == nil || res[0].ID != *j.TransactionID {
		t.Fatalf("failed run's logs: %d transactions, job transaction %v", len(res), j.TransactionID)
	}
	if keyValue(res[0], proxymod.StatusKey) != `"failed"` || !strings.Contains(keyValue(res[0], proxymod.ErrorKey), "You raised an error on purpose") {
		t.Errorf("failed run's transaction key/values: %+v", res[0].KeyValues)
	}
	if names := fileNames(res[0]); !names["stderr.log"] || !names["stdout.log"] || !names["outputs/model_1_outputs/output1_model_1_2010_2100.csv"] {
		t.Errorf("failed run's files: %v", names)
	}
}

// Configuration errors fail the job at once with the old dispatcher's messages, download
// nothing, and still upload a log that says why.
func TestProxymodConfigurationErrors(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	cases := []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"proxymod.configs_count": "4"}, "proxymod configuration 'config_4' not found"},
		{map[string]string{"proxymod.config_2.PROJECT.color": "blue"}, `proxymod configuration 'config_2' is invalid: unknown key "color" in PROJECT`},
		{map[string]string{"proxymod.config_3.OUTPUTS.out_dir": "../../escape"}, "proxymod configuration 'config_3' is invalid: OUTPUTS.out_dir"},
	}
	var sources []int64
	for _, c := range cases {
		sources = append(sources, s.upload(t, map[string]string{"loose_coupling": ""}, c.overrides))
	}
	for i, c := range cases {
		j := h.jobOf(sources[i], 60*time.Second)
		if j.State != "failed" || !strings.Contains(j.Error, c.want) || j.Attempts != 1 {
			t.Errorf("case %d: job %s %q (attempts %d), want failed with %q", i, j.State, j.Error, j.Attempts, c.want)
			continue
		}
		res := s.results(sources[i])
		if len(res) != 1 {
			t.Errorf("case %d: %d log transactions", i, len(res))
			continue
		}
		names := fileNames(res[0])
		if !names["stderr.log"] || names["models/loose_coupling.py"] || len(names) > 3 {
			t.Errorf("case %d: uploaded %v, want only the logs", i, names)
		}
	}
	if _, err := os.Stat(filepath.Join(h.cfg.DataDir, "..", "escape")); err == nil {
		t.Error("a configuration wrote outside the data directory")
	}
}

// cartd answering 503: the attempt is retried with backoff, visible on the job, and the
// job succeeds once cartd is back.
func TestProxymodCartdUnavailableThenBack(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	s.sim.SetFault("cartd", pacificasim.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)

	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.Attempts < 2 {
		t.Fatalf("job %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	if j.History[0].Outcome != "retry" || !strings.Contains(j.History[0].Error, "503") {
		t.Errorf("first attempt %+v, want a retry naming the 503", j.History[0])
	}
	if len(s.results(src)) != 1 {
		t.Errorf("%d result transactions", len(s.results(src)))
	}
}

// A model that runs past the job's time limit is killed with its process group; the job
// fails saying so, and the logs it wrote are uploaded.
func TestProxymodTimeLimit(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.ProxymodTimeout = 2 * time.Second
	})
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": "import time\ndef loose_coupling(*configs):\n    print('working', flush=True)\n    time.sleep(600)\n"}, nil)
	start := time.Now()
	j := h.jobOf(src, 60*time.Second)
	if j.State != "failed" || !strings.Contains(j.Error, "time limit") || j.Attempts != 1 {
		t.Fatalf("job %s (attempts %d): %s", j.State, j.Attempts, j.Error)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("the job took %s: the model was not killed at its time limit", d)
	}
	res := s.results(src)
	if len(res) != 1 || keyValue(res[0], proxymod.StatusKey) != `"failed"` {
		t.Fatalf("logs of the timed-out run: %d transactions", len(res))
	}
}

// Operators cancel a running job (which kills the model) and retry it, through the API
// with their credentials.
func TestProxymodCancelAndRetry(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.AdminAuthType, c.AdminAuthUsername, c.AdminAuthPassword = "basic", "ops", "secret"
	})
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": "import time\ndef loose_coupling(*configs):\n    time.sleep(600)\n"}, nil)
	var id string
	eventually(t, 30*time.Second, "job running", func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		if len(page.Jobs) == 1 && page.Jobs[0].State == "running" {
			id = page.Jobs[0].ID
			return true
		}
		return false
	})
	// Give the model time to start before cancelling it.
	time.Sleep(500 * time.Millisecond)
	if code := h.operator("/jobs/"+id+"/cancel", "", ""); code != http.StatusUnauthorized {
		t.Errorf("cancel without credentials: %d, want 401", code)
	}
	if code := h.operator("/jobs/"+id+"/cancel", "ops", "secret"); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	j := h.jobOf(src, 20*time.Second)
	if j.State != "cancelled" {
		t.Fatalf("job %s: %s", j.State, j.Error)
	}
	if len(s.results(src)) != 0 {
		t.Error("a cancelled job uploaded something")
	}
	if code := h.operator("/jobs/"+id+"/cancel", "ops", "secret"); code != http.StatusConflict {
		t.Errorf("cancel of a cancelled job: %d, want 409", code)
	}
	if code := h.operator("/jobs/"+id+"/retry", "ops", "secret"); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	eventually(t, 30*time.Second, "retried job running again", func() bool {
		var got jobJSON
		h.get("/jobs/"+id, &got)
		return got.State == "running" && got.Attempts == 2
	})
	if code := h.operator("/jobs/"+id+"/cancel", "ops", "secret"); code != http.StatusOK {
		t.Fatalf("second cancel: %d", code)
	}
	if j := h.jobOf(src, 20*time.Second); j.State != "cancelled" || j.Attempts != 2 {
		t.Errorf("job %s after %d attempts", j.State, j.Attempts)
	}
}

func (h *harness) operator(path, user, password string) int {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// SIGTERM (the service's context ending) lets a running job go on for SHUTDOWN_TIMEOUT,
// then kills its model and hands the job back to the queue for another worker: queued
// again, the attempt recorded as a retry, nothing uploaded.
func TestProxymodShutdownHandsRunningJobBack(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.ShutdownTimeout = time.Second
	})
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": "import time\ndef loose_coupling(*configs):\n    time.sleep(600)\n"}, nil)
	var id string
	eventually(t, 30*time.Second, "model running", func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		if len(page.Jobs) == 1 && page.Jobs[0].State == "running" {
			id = page.Jobs[0].ID
		}
		return id != "" && len(processesUnder(h.cfg.DataDir)) > 0
	})
	h.stop()
	err := <-h.done
	h.done <- err // for the harness's cleanup
	if err != nil {
		t.Fatalf("service stopped with %v", err)
	}
	if p := processesUnder(h.cfg.DataDir); len(p) > 0 {
		t.Errorf("the model outlived the shutdown: %v", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: h.cfg.DatabaseURL})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jid := uuid.MustParse(id)
	j, err := store.Get(ctx, jid)
	if err != nil {
		t.Fatal(err)
	}
	att, err := store.Attempts(ctx, jid)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobstore.Queued || j.Attempts != 1 || len(att) != 1 || att[0].Outcome != "retry" ||
		!strings.Contains(att[0].Error, "the worker shut down") {
		t.Errorf("job %s (attempts %d), attempts %+v; want queued again after a handed-back attempt", j.State, j.Attempts, att)
	}
	if n := len(s.results(src)); n != 0 {
		t.Errorf("a handed-back job uploaded %d transactions", n)
	}
}
