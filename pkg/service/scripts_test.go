package service

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/scripts"
)

// scriptSetup is a simulated Pacifica and a dispatcher whose SCRIPT_DIR holds the given
// shell scripts (name -> body; a name ending in "/" with "/file" after it is a directory
// script), configured by the INI text.
type scriptSetup struct {
	site *site
	h    *harness
	dir  string
}

func startScripts(t *testing.T, files map[string]string, ini string, subscribe bool) *scriptSetup {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	iniPath := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(iniPath, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	return startScriptsIn(t, dir, iniPath, subscribe)
}

// startScriptsIn is startScripts on an existing script directory and INI file.
func startScriptsIn(t *testing.T, dir, iniPath string, subscribe bool) *scriptSetup {
	t.Helper()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.ScriptDir, c.ScriptConfig = dir, iniPath
		c.ScriptEnv = []string{"SITE_NAME=test-site"}
	})
	st := &scriptSetup{site: s, h: h, dir: dir}
	if subscribe {
		st.subscribe(t)
	}
	return st
}

// subscribe registers every route of the dispatcher with the simulated notifications, as
// `dispatcher subscribe` does (TestScriptJobEndToEnd runs the command itself).
func (st *scriptSetup) subscribe(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range st.h.svc.routes.Routes() {
		if _, err := st.site.client.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{
			Name: r.Name, JSONPath: r.Filter.String(), TargetURL: st.h.base + "/receive", Auth: st.h.subscriptionAuth(),
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// uploadSource uploads files (path -> content) with the key/values as a new source
// transaction and returns its id.
func (s *site) uploadSource(t *testing.T, files map[string]string, kvs ...string) int64 {
	t.Helper()
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meta := pacifica.UploadMeta{Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"1234a"`), Instrument: json.RawMessage(`54`)}
	for i := 0; i+1 < len(kvs); i += 2 {
		v, _ := json.Marshal(kvs[i+1])
		meta.KeyValues = append(meta.KeyValues, pacifica.KeyValue{Key: kvs[i], Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := s.client.Ingest.Upload(ctx, dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// jobsOf waits until the event of source has n jobs, all finished, and returns them by
// route.
func (h *harness) jobsOf(source int64, n int, within time.Duration) map[string]jobJSON {
	h.t.Helper()
	out := map[string]jobJSON{}
	eventually(h.t, within, fmt.Sprintf("%d finished jobs of transaction %d", n, source), func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(source), &page)
		if len(page.Jobs) != n {
			return false
		}
		for _, pj := range page.Jobs {
			var j jobJSON
			h.get("/jobs/"+pj.ID, &j)
			if j.State != "succeeded" && j.State != "failed" && j.State != "cancelled" {
				return false
			}
			out[j.Route] = j
		}
		return true
	})
	return out
}

type scriptRunJSON struct {
	UUID       string          `json:"uuid"`
	Event      json.RawMessage `json:"event"`
	Stdout     string          `json:"stdout"`
	Stderr     string          `json:"stderr"`
	ReturnCode *int            `json:"return_code"`
	ScriptID   string          `json:"script_id"`
	Created    string          `json:"created"`
	Updated    string          `json:"updated"`
	Deleted    *string         `json:"deleted"`
	State      string          `json:"state"`
	Error      string          `json:"error"`
}

// resultsOfJob returns the transactions uploaded by a job (key/value dispatcher.job_id).
func (s *site) resultsOfJob(jobID string) []pacificasim.Transaction {
	var out []pacificasim.Transaction
	for _, tx := range s.sim.Transactions() {
		if keyValue(tx, scripts.JobIDKey) == jsonString(jobID) {
			out = append(out, tx)
		}
	}
	return out
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

const statsScript = `#!/bin/sh
# Lists the downloaded files with their checksums, and records its environment.
set -e
cd download
find . -type f | sort | while read -r f; do
  echo "$f $(sha1sum "$f" | cut -d' ' -f1)"
done > ../output/files.txt
cd ..
env | sort > output/env.txt
echo "stats for event $DISPATCHER_EVENT_ID of transaction $DISPATCHER_TRANSACTION_ID"
echo "a warning" >&2
printf 'do_processing,False\nstage,stats\n' > output/kvp.csv
`

// The happy path, from subscription to result: `dispatcher subscribe` registers the
// script's route with the simulated notifications; an upload with do_processing = True is
// delivered, the worker downloads every file, runs the shell script in the job directory
// with its documented environment, and uploads the output directory with the key/values
// of its kvp.csv, linked to the source; the script log shows the run.
func TestScriptJobEndToEnd(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{"stats": statsScript}, "", false)
	s, h := st.site, st.h

	bin := buildDispatcher(t)
	sub := exec.Command(bin, append([]string{"subscribe", "--url", h.base + "/receive"}, h.senderFlag()...)...)
	sub.Env = []string{"PATH=" + os.Getenv("PATH"), "NOTIFICATIONS_URL=" + s.urls.Notifications,
		"SCRIPT_DIR=" + st.dir, "DISPATCHER_K8S_CONFIG=" + filepath.Join(st.dir, "missing.ini")}
	out, err := sub.CombinedOutput()
	if err != nil {
		t.Fatalf("dispatcher subscribe: %v\n%s", err, out)
	}
	subs := map[string]string{}
	for _, x := range s.sim.Subscriptions() {
		subs[x.Name] = x.JSONPath
	}
	if subs["script.stats"] != scripts.DefaultRouterJSONPath || subs["proxymod"] == "" || len(subs) != 2 {
		t.Fatalf("subscriptions after `dispatcher subscribe`: %v\n%s", subs, out)
	}

	files := map[string]string{"a.txt": "alpha\n", "sub/dir/b.csv": "x,y\n1,2\n"}
	src := s.uploadSource(t, files, "do_processing", "True", "site", "lab-1")
	jobs := h.jobsOf(src, 1, 60*time.Second)
	j, ok := jobs["script.stats"]
	if !ok || j.State != "succeeded" || j.TransactionID == nil || j.Attempts != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
	res := s.resultsOfJob(j.ID)
	if len(res) != 1 || res[0].ID != *j.TransactionID {
		t.Fatalf("%d transactions uploaded by job %s, want exactly its %d", len(res), j.ID, *j.TransactionID)
	}
	tx := res[0]
	for f, want := range map[string]string{"submitter": "10", "project": `"1234a"`, "instrument": "54"} {
		if string(tx.Fields[f]) != want {
			t.Errorf("result %s = %s, want the source's %s", f, tx.Fields[f], want)
		}
	}
	for k, want := range map[string]string{"do_processing": `"False"`, "stage": `"stats"`,
		"Transactions._id": jsonInt(src), scripts.JobIDKey: jsonString(j.ID), scripts.OutputKey: `"output"`} {
		if got := keyValue(tx, k); got != want {
			t.Errorf("result key/value %s = %s, want %s", k, got, want)
		}
	}
	names := fileNames(tx)
	if len(names) != 3 || !names["files.txt"] || !names["env.txt"] || !names["kvp.csv"] {
		t.Errorf("result files %v, want the output directory's files.txt, env.txt, kvp.csv", names)
	}
	contents := map[string]string{}
	for _, f := range tx.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		contents[f.Name] = string(b)
	}
	// Every file of the event was downloaded, at its path, with its bytes.
	var wantList []string
	for rel, body := range files {
		wantList = append(wantList, fmt.Sprintf("./%s %s", rel, sha1hex(body)))
	}
	sort.Strings(wantList)
	if got := strings.TrimSpace(contents["files.txt"]); got != strings.Join(wantList, "\n") {
		t.Errorf("the script saw download/:\n%s\nwant:\n%s", got, strings.Join(wantList, "\n"))
	}
	// The environment is the documented one and nothing of the dispatcher's.
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(contents["env.txt"]), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "TMPDIR": true, "LANG": true, "LC_ALL": true,
		"PYTHONUNBUFFERED": true, "PACIFICA_DISPATCHER_RUN": true, "PWD": true, "SHLVL": true, "OLDPWD": true, "_": true, "SITE_NAME": true}
	for k := range env {
		if !allowed[k] && !strings.HasPrefix(k, "DISPATCHER_") {
			t.Errorf("the script's environment has %s, which the documentation does not give it", k)
		}
	}
	jobDir := env["DISPATCHER_JOB_DIR"]
	for k, want := range map[string]string{"DISPATCHER_JOB_ID": j.ID, "DISPATCHER_EVENT_ID": "metadata.ingest." + jsonInt(src),
		"DISPATCHER_SCRIPT": "stats", "DISPATCHER_TRANSACTION_ID": jsonInt(src), "DISPATCHER_ATTEMPT": "1",
		"DISPATCHER_DOWNLOAD_DIR": filepath.Join(jobDir, "download"), "DISPATCHER_OUTPUT_DIR": filepath.Join(jobDir, "output"),
		"DISPATCHER_EVENT_FILE": filepath.Join(jobDir, "event.json"), "HOME": jobDir, "SITE_NAME": "test-site"} {
		if env[k] != want {
			t.Errorf("script environment %s = %q, want %q", k, env[k], want)
		}
	}
	if !strings.HasPrefix(jobDir, h.cfg.DataDir+string(filepath.Separator)+j.ID) {
		t.Errorf("job directory %s is not the job's own under DATA_DIR %s", jobDir, h.cfg.DataDir)
	}

	// The script log, as dispatcher-k8s showed it.
	var runs []scriptRunJSON
	if code := h.get("/scriptlog", &runs); code != http.StatusOK || len(runs) != 1 {
		t.Fatalf("GET /scriptlog: %d %+v", code, runs)
	}
	var run scriptRunJSON
	if code := h.get("/scriptlog/"+j.ID, &run); code != http.StatusOK {
		t.Fatalf("GET /scriptlog/%s: %d", j.ID, code)
	}
	if run.UUID != j.ID || run.ReturnCode == nil || *run.ReturnCode != 0 || run.ScriptID != "stats" ||
		!strings.Contains(run.Stdout, "stats for event metadata.ingest."+jsonInt(src)) || run.Stderr != "a warning\n" ||
		run.Created == "" || run.Deleted != nil || run.State != "succeeded" {
		t.Errorf("script run %+v", run)
	}
	var ev struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(run.Event, &ev); err != nil || ev.EventID != "metadata.ingest."+jsonInt(src) {
		t.Errorf("script run's event: %s", run.Event)
	}
	if code := h.get("/scriptlog/00000000-0000-0000-0000-000000000000", &run); code != http.StatusNotFound {
		t.Errorf("GET /scriptlog/<unknown>: %d, want 404", code)
	}

	// The result's own event, delivered anyway (a broader subscription, an operator's
	// re-send), runs nothing: it carries the lineage key/value.
	rev, ok := s.sim.Transaction(*j.TransactionID)
	if !ok {
		t.Fatalf("the simulator has no transaction %d", *j.TransactionID)
	}
	if code, answer := h.post("/receive", "application/json", rev.Event); code != http.StatusAccepted ||
		fmt.Sprint(answer["jobs"]) == "" || !strings.Contains(fmt.Sprint(answer["jobs"]), "unrouted") {
		t.Errorf("the result's event: %d %v, want accepted and unrouted", code, answer)
	}
	eventually(t, 5*time.Second, "job directory removed", func() bool {
		entries, _ := os.ReadDir(h.cfg.DataDir)
		return len(entries) == 0
	})
	for _, x := range s.sim.Subscriptions() {
		if !x.Active() {
			t.Errorf("subscription %s disabled: %v", x.Name, x.Error)
		}
	}
	// Subscribing again updates in place: still one subscription per route.
	again := exec.Command(bin, append([]string{"subscribe", "--url", h.base + "/receive"}, h.senderFlag()...)...)
	again.Env = sub.Env
	if out, err := again.CombinedOutput(); err != nil || !strings.Contains(string(out), "script.stats: updated") {
		t.Errorf("second dispatcher subscribe: %v\n%s", err, out)
	}
	if n := len(s.sim.Subscriptions()); n != 2 {
		t.Errorf("%d subscriptions after subscribing twice, want 2", n)
	}
}

func sha1hex(s string) string {
	h := sha1.Sum([]byte(s)) //nolint:gosec // Pacifica's hash
	return hex.EncodeToString(h[:])
}

// A script that fails: exit code 255 and its stderr in the script log and the job's
// error, as dispatcher-k8s's test checked, and nothing uploaded.
func TestScriptJobFailing(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{"broken": "#!/bin/sh\necho partial > output/result.txt\necho 'cannot fit the model: singular matrix' >&2\nexit 255\n"}, "", true)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	j := st.h.jobsOf(src, 1, 60*time.Second)["script.broken"]
	if j.State != "failed" || j.Attempts != 1 || !strings.Contains(j.Error, "exit status 255") ||
		!strings.Contains(j.Error, "cannot fit the model: singular matrix") {
		t.Fatalf("job %+v, want failed once with the exit status and stderr", j)
	}
	if res := st.site.resultsOfJob(j.ID); len(res) != 0 || j.TransactionID != nil {
		t.Errorf("a failed script uploaded %d transactions", len(res))
	}
	var run scriptRunJSON
	st.h.get("/scriptlog/"+j.ID, &run)
	if run.ReturnCode == nil || *run.ReturnCode != 255 || !strings.Contains(run.Stderr, "singular matrix") || run.State != "failed" {
		t.Errorf("script run %+v", run)
	}
}

// Two scripts with different filters: each event runs every script whose filter matches,
// one job each.
func TestScriptJobsTwoFilters(t *testing.T) {
	t.Parallel()
	script := "#!/bin/sh\necho \"$DISPATCHER_SCRIPT\" > output/who.txt\necho do_processing,False > output/kvp.csv\n"
	st := startScripts(t, map[string]string{"a-default": script, "b-filtered": script}, `
[b-filtered]
router_jsonpath = $[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "pipeline" and @["value"] = "b" )] )]
`, true)
	s, h := st.site, st.h
	files := map[string]string{"in.txt": "x\n"}
	onlyA := s.uploadSource(t, files, "do_processing", "True")
	both := s.uploadSource(t, files, "do_processing", "True", "pipeline", "b")
	onlyB := s.uploadSource(t, files, "pipeline", "b")
	none := s.uploadSource(t, files, "do_processing", "False")
	for _, c := range []struct {
		src  int64
		want []string
	}{{onlyA, []string{"script.a-default"}}, {both, []string{"script.a-default", "script.b-filtered"}}, {onlyB, []string{"script.b-filtered"}}} {
		jobs := h.jobsOf(c.src, len(c.want), 60*time.Second)
		for _, r := range c.want {
			j, ok := jobs[r]
			if !ok || j.State != "succeeded" {
				t.Errorf("transaction %d: route %s: %+v", c.src, r, j)
				continue
			}
			res := s.resultsOfJob(j.ID)
			if len(res) != 1 || len(res[0].Files) != 2 {
				t.Errorf("transaction %d: route %s uploaded %d transactions", c.src, r, len(res))
			}
		}
	}
	// An event no script wants (no subscription matches it; delivered anyway) is recorded
	// unrouted.
	ev, _ := s.sim.Transaction(none)
	if code, answer := h.post("/receive", "application/json", ev.Event); code != http.StatusAccepted ||
		!strings.Contains(fmt.Sprint(answer["jobs"]), "unrouted") {
		t.Errorf("an event no script wants: %d %v", code, answer)
	}
	var runs []scriptRunJSON
	h.get("/scriptlog?script=b-filtered", &runs)
	if len(runs) != 2 {
		t.Errorf("GET /scriptlog?script=b-filtered: %d runs, want 2", len(runs))
	}
}

// A script past its time limit is killed with its process group; the job fails with the
// reason and uploads nothing.
func TestScriptJobTimeout(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{"slow": "#!/bin/sh\nif [ \"$1\" = child ]; then sleep 120; exit; fi\necho started\n\"$0\" child &\nsleep 121\n"}, "[slow]\nscript_timeout = 2\n", true)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	j := st.h.jobsOf(src, 1, 60*time.Second)["script.slow"]
	if j.State != "failed" || !strings.Contains(j.Error, "time limit of 2s exceeded") || j.Attempts != 1 {
		t.Fatalf("job %+v, want failed on its 2s time limit", j)
	}
	if res := st.site.resultsOfJob(j.ID); len(res) != 0 {
		t.Errorf("a timed-out script uploaded %d transactions", len(res))
	}
	eventually(t, 10*time.Second, "the script's processes gone", func() bool {
		return len(processesUnder(st.dir)) == 0
	})
	var run scriptRunJSON
	st.h.get("/scriptlog/"+j.ID, &run)
	if run.Stdout != "started\n" || run.ReturnCode == nil || *run.ReturnCode != -1 {
		t.Errorf("script run %+v", run)
	}
}

// The INI file's overrides: two output directories (one nested, with its own key/value
// file name), a directory script with its script_file, a download time-out; each output
// directory is its own transaction.
func TestScriptJobINIOverrides(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{
		"fit/main.sh": "#!/bin/sh\nset -e\necho fitted > results/fit.txt\nmkdir -p out/plots/meta\necho png > out/plots/p.png\nprintf 'kind,plots\\n' > out/plots/meta/kv.csv\nprintf 'kind,results\\n\"note\",\"a, b\"\\n' > results/kvp.csv\n",
	}, `
[DEFAULT]
seconds = 30

[fit]
script_file = main.sh
download_timeout = %(seconds)s

[fit:output_dirs]
results =
plots =

[fit:plots]
directory = out/plots
key_value_file = meta/kv.csv
`, true)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	j := st.h.jobsOf(src, 1, 60*time.Second)["script.fit"]
	if j.State != "succeeded" {
		t.Fatalf("job %+v", j)
	}
	res := st.site.resultsOfJob(j.ID)
	byOutput := map[string]pacificasim.Transaction{}
	for _, tx := range res {
		byOutput[keyValue(tx, scripts.OutputKey)] = tx
	}
	if len(res) != 2 || len(byOutput) != 2 {
		t.Fatalf("%d transactions, want one per output directory", len(res))
	}
	p, r := byOutput[`"plots"`], byOutput[`"results"`]
	if keyValue(p, "kind") != `"plots"` || !fileNames(p)["p.png"] || !fileNames(p)["meta/kv.csv"] {
		t.Errorf("plots upload: %+v", p)
	}
	if keyValue(r, "kind") != `"results"` || keyValue(r, "note") != `"a, b"` || !fileNames(r)["fit.txt"] {
		t.Errorf("results upload: %+v", r)
	}
	if *j.TransactionID != r.ID && *j.TransactionID != p.ID {
		t.Errorf("job's transaction %d is neither upload", *j.TransactionID)
	}
}

// What a script leaves that would upload something other than its output, or break the
// key/values: the job fails with a clear error and uploads nothing at all, not even the
// good output directories.
func TestScriptJobBadOutputs(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{
		"link-dir":     "#!/bin/sh\nrm -rf output\nln -s / output\n",
		"link-kvp":     "#!/bin/sh\necho ok > good/a.txt\nln -s /etc/passwd output/kvp.csv\n",
		"reserved-key": "#!/bin/sh\necho ok > good/a.txt\necho 'Transactions._id,1' > output/kvp.csv\n",
		"bad-csv":      "#!/bin/sh\necho ok > good/a.txt\nprintf 'a,b,c\\n' > output/kvp.csv\n",
	}, `
[link-kvp:output_dirs]
good =
output =
[reserved-key:output_dirs]
good =
output =
[bad-csv:output_dirs]
good =
output =
`, true)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	jobs := st.h.jobsOf(src, 4, 60*time.Second)
	for route, want := range map[string]string{
		"script.link-dir":     "output is not a directory",
		"script.link-kvp":     "output/kvp.csv is not a regular file",
		"script.reserved-key": `key "Transactions._id" is set by the dispatcher`,
		"script.bad-csv":      "line 1: want key,value (3 fields)",
	} {
		j := jobs[route]
		if j.State != "failed" || !strings.Contains(j.Error, want) {
			t.Errorf("%s: %s %q, want failed with %q", route, j.State, j.Error, want)
		}
		if res := st.site.resultsOfJob(j.ID); len(res) != 0 {
			t.Errorf("%s uploaded %d transactions", route, len(res))
		}
	}
}

// A script whose filter does not parse stops the start, naming the script.
func TestScriptConfigurationErrorStopsStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad-filter"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dir, ".config.ini")
	if err := os.WriteFile(ini, []byte("[bad-filter]\nrouter_jsonpath = $[?(@.x = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ScriptDir, cfg.ScriptConfig = dir, ini
	cfg.ReceiverAuthType = "none" // what is checked here is the script
	_, err = New(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), `script "bad-filter": router_jsonpath does not parse`) {
		t.Fatalf("New: %v, want the script named", err)
	}
	// The routes an operator sees: the proxymod route, then the scripts in name order.
	if err := os.WriteFile(ini, []byte("[bad-filter]\nrouter_jsonpath = $[?(@.x)]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "another"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	table, scr, err := LoadRoutes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range table.Routes() {
		names = append(names, r.Name+"="+r.Kind)
	}
	if strings.Join(names, " ") != "proxymod=proxymod script.another=script script.bad-filter=script" || len(scr) != 2 {
		t.Errorf("routes %v", names)
	}
}

// A job with two output directories whose attempt fails after ingest accepted the first
// upload: the retry uploads only what was not uploaded yet, so each output directory is
// exactly one transaction.
func TestScriptJobRetryDoesNotUploadTwice(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{
		"two": "#!/bin/sh\necho 1 > first/a.txt\necho 2 > second/b.txt\n",
	}, "[two:output_dirs]\nfirst =\nsecond =\n", false)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	// ingest's state endpoint fails once: the first upload is accepted, then the attempt
	// fails on a transient error while waiting for it.
	st.site.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusServiceUnavailable, Path: "/get_state", Count: 1})
	ev, _ := st.site.sim.Transaction(src)
	if code, answer := st.h.post("/receive", "application/json", ev.Event); code != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", code, answer)
	}
	j := st.h.jobsOf(src, 1, 60*time.Second)["script.two"]
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %+v, want succeeded on its second attempt", j)
	}
	count := map[string]int{}
	for _, tx := range st.site.resultsOfJob(j.ID) {
		count[keyValue(tx, scripts.OutputKey)]++
	}
	if count[`"first"`] != 1 || count[`"second"`] != 1 || len(count) != 2 {
		t.Errorf("transactions per output directory %v, want exactly one each", count)
	}
}

// The example script and configuration of deploy/ (what docker-compose mounts) run as
// documented.
func TestDeployExampleScript(t *testing.T) {
	t.Parallel()
	st := startScriptsIn(t, filepath.Join("..", "..", "deploy", "scripts.d"),
		filepath.Join("..", "..", "deploy", "dispatcher-k8s", "config.ini"), true)
	src := st.site.uploadSource(t, map[string]string{"data/one.txt": "1\n", "two.txt": "22\n"}, "do_processing", "True")
	j := st.h.jobsOf(src, 1, 60*time.Second)["script.example"]
	if j.State != "succeeded" {
		t.Fatalf("job %+v", j)
	}
	res := st.site.resultsOfJob(j.ID)
	if len(res) != 1 || keyValue(res[0], "do_processing") != `"False"` || keyValue(res[0], "example.files") != `"2"` ||
		!fileNames(res[0])["files.txt"] || !fileNames(res[0])["sizes.txt"] {
		t.Errorf("the example's upload: %+v", res)
	}
}

// An operator cancels a running script (its process group is killed, nothing is uploaded)
// and retries it: the second attempt runs and uploads once. The script log shows the run.
func TestScriptJobCancelAndRetry(t *testing.T) {
	t.Parallel()
	st := startScripts(t, map[string]string{
		"patient": "#!/bin/sh\nif [ \"$1\" = child ]; then exec sleep 600; fi\nif [ \"$DISPATCHER_ATTEMPT\" = 1 ]; then \"$0\" child & sleep 600; fi\necho done > output/done.txt\n",
	}, "", true)
	src := st.site.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "do_processing", "True")
	eventually(t, 30*time.Second, "the script running", func() bool { return len(withoutSandbox(processesUnder(st.dir))) == 1 })
	var page struct {
		Jobs []jobJSON `json:"jobs"`
	}
	st.h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
	if len(page.Jobs) != 1 || page.Jobs[0].State != "running" {
		t.Fatalf("jobs %+v", page.Jobs)
	}
	id := page.Jobs[0].ID
	if code := st.h.operator("/jobs/"+id+"/cancel", st.h.cfg.AdminAuthUsername, st.h.cfg.AdminAuthPassword); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	j := st.h.jobsOf(src, 1, 30*time.Second)["script.patient"]
	if j.State != "cancelled" {
		t.Fatalf("job %+v, want cancelled", j)
	}
	eventually(t, 10*time.Second, "the script's processes gone", func() bool { return len(processesUnder(st.dir)) == 0 })
	if res := st.site.resultsOfJob(id); len(res) != 0 {
		t.Errorf("a cancelled script uploaded %d transactions", len(res))
	}
	if code := st.h.operator("/jobs/"+id+"/retry", st.h.cfg.AdminAuthUsername, st.h.cfg.AdminAuthPassword); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	eventually(t, 30*time.Second, "the retried job finished", func() bool {
		st.h.get("/jobs/"+id, &j)
		return j.State == "succeeded"
	})
	if res := st.site.resultsOfJob(id); len(res) != 1 || j.Attempts != 2 {
		t.Errorf("after the retry: %d transactions, %d attempts; want 1 and 2", len(res), j.Attempts)
	}
	var run scriptRunJSON
	st.h.get("/scriptlog/"+id, &run)
	if run.ReturnCode == nil || *run.ReturnCode != 0 || run.State != "succeeded" {
		t.Errorf("script run %+v", run)
	}
}
