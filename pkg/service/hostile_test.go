package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// The hostile-input catalogue: bad inputs sent to a running dispatcher (receiver and
// workers) with a simulated Pacifica, real PostgreSQL and RabbitMQ, each with the outcome
// it must have. For every case: the HTTP answer, the final state of every job it made
// (never left queued or running), the job's error, nothing written outside the data
// directory (a sentinel directory around it is scanned, its files must be unchanged), and
// GET /healthz still 200. The fast cases run in `make test`; HOSTILE=all (as `make
// hostile` sets) runs the slow ones too (models in Python, retries, big logs).

// hostileCase is one bad input and what must become of it.
type hostileCase struct {
	name string
	slow bool
	// setup prepares the site (faults, cart overrides) and returns what undoes it.
	setup func(e *hostileEnv) func()
	// deliver returns the delivery.
	deliver func(e *hostileEnv) delivery
	want    hostileWant
}

type delivery struct {
	contentType string
	header      http.Header
	body        []byte
}

type hostileWant struct {
	// code is the HTTP answer of the delivery.
	code int
	// state is the final state of every job of the event ("" when the answer is not 202:
	// no job may exist).
	state string
	// errHas are texts the answer's error (4xx) or the job's error must contain.
	errHas []string
	// sample, when set, polls only the first and last sample jobs of a big batch.
	sample int
	// check runs extra assertions on the outcome.
	check func(t *testing.T, e *hostileEnv, r *hostileResult)
}

// hostileResult is what happened to one case.
type hostileResult struct {
	name    string
	code    int
	answer  map[string]any
	jobs    []jobJSON
	errText string // the 4xx answer's error, or the first job's error
	outside []string
	serves  bool
}

// quickModel is the model of the base source: it runs in an instant.
const quickModel = "def loose_coupling(*configs):\n    print('quick model ran with %d configurations' % len(configs))\n"

func hostileSlow() bool { return os.Getenv("HOSTILE") == "all" }

// hostileEnv is the dispatcher and site shared by the catalogue's cases, which run one
// after the other.
type hostileEnv struct {
	t       *testing.T
	s       *site
	h       *harness
	top     string            // the sentinel directory: holds root
	root    string            // holds data/ (DATA_DIR) and the victim files
	victims map[string]string // path → content that must stay as it is
	base    []byte            // a valid source event (quickModel and the sample inputs)
	baseSrc int64
	seq     int

	top0      *testing.T // the test that started the env (owns what the access cases start)
	failedJob string     // a failed job the access cases act on
	noAdmin   *harness   // a dispatcher without operator credentials, started when needed
}

func startHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	e := &hostileEnv{t: t, top0: t, top: t.TempDir(), victims: map[string]string{}}
	e.root = filepath.Join(e.top, "root")
	for rel, content := range map[string]string{"victim.txt": "victim\n", "secret.txt": "secret=do-not-upload\n",
		"sub/victim.txt": "victim in sub\n"} {
		p := filepath.Join(e.root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		e.victims[p] = content
	}
	e.s = startSite(t)
	scriptDir, scriptINI := writeHostileScripts(t, e.root)
	e.h = startHarness(t, func(c *Config) {
		e.s.workerConfig(t, c)
		c.ScriptDir, c.ScriptConfig = scriptDir, scriptINI
		c.DataDir = filepath.Join(e.root, "data")
		c.MaxEventBytes = 8 << 20
		c.MaxConnections = 200 // the connection flood needs three times this
		// Routing budgets a quarter of the defaults: the costly events and the costly batch
		// spend them as they would spend the defaults, in a quarter of the time, which the
		// race detector and a busy CI machine multiply (by 25 seen) past the receiver's 30 s.
		c.RouteMaxSteps, c.BatchRouteSteps = c.RouteMaxSteps/4, c.BatchRouteSteps/4
		c.MaxAttempts = 3
		c.PacificaConfig.CartTimeout = 2 * time.Second
		c.PacificaConfig.IngestTimeout = 3 * time.Second
		c.PacificaConfig.RequestTimeout = 5 * time.Second
		c.ProxymodTimeout = 60 * time.Second
		// Reading jobs needs credentials too (the access cases): e.h.get gives them.
		c.ReadAuthType, c.ReadAuthUsername, c.ReadAuthPassword = "basic", "reader", "read-"+testsupport.Token()
	})
	e.baseSrc = e.s.upload(t, map[string]string{"loose_coupling": quickModel}, nil)
	tx, ok := e.s.sim.Transaction(e.baseSrc)
	if !ok || len(tx.Event) == 0 {
		t.Fatal("the base source has no event")
	}
	e.base = tx.Event
	return e
}

// event returns the base event with a fresh event id, edited by the edit functions.
func (e *hostileEnv) event(edits ...func(m map[string]any)) []byte {
	e.t.Helper()
	return e.edit(e.base, edits...)
}

// source uploads a new source (its own transaction, for cases whose results are looked at)
// and returns its id and event, edited.
func (e *hostileEnv) source(models, overrides map[string]string, edits ...func(m map[string]any)) (int64, []byte) {
	e.t.Helper()
	src := e.s.upload(e.t, models, overrides)
	tx, _ := e.s.sim.Transaction(src)
	return src, e.edit(tx.Event, edits...)
}

// confirmed returns an event that Pacifica metadata confirms and that carries the key/values
// of the base event edited by edits: a new source is uploaded with the base source's model
// and those key/values, and its own event is returned with a fresh event id. Cases whose
// hostile values are key/values go through it to reach the checks behind the check against
// metadata (the plan, the configurations), as a scientist's real upload would.
func (e *hostileEnv) confirmed(edits ...func(m map[string]any)) []byte {
	e.t.Helper()
	m := decodeNumbers(e.t, e.base)
	for _, f := range edits {
		f(m)
	}
	kvs := map[string]string{}
	for _, kv := range entries(m, "TransactionKeyValue") {
		if k := kv["key"].(string); kvs[k] == "" {
			kvs[k] = fmt.Sprint(kv["value"])
		}
	}
	_, ev := e.source(map[string]string{"loose_coupling": quickModel}, kvs)
	return ev
}

func (e *hostileEnv) edit(ev []byte, edits ...func(m map[string]any)) []byte {
	e.t.Helper()
	m := decodeNumbers(e.t, ev)
	e.seq++
	m["eventID"] = fmt.Sprintf("hostile-%03d", e.seq)
	for _, f := range edits {
		f(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func decodeNumbers(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// entries returns the event's data entries of a table.
func entries(m map[string]any, table string) []map[string]any {
	var out []map[string]any
	for _, d := range m["data"].([]any) {
		if e, ok := d.(map[string]any); ok && e["destinationTable"] == table {
			out = append(out, e)
		}
	}
	return out
}

// fileEntry returns the Files entry of subdir/name (subdir as the event spells it).
func fileEntry(m map[string]any, name string) map[string]any {
	for _, f := range entries(m, "Files") {
		if f["name"] == name {
			return f
		}
	}
	panic("no file " + name)
}

// setKV sets a TransactionKeyValue (adding it when missing).
func setKV(key string, value any) func(m map[string]any) {
	return func(m map[string]any) {
		for _, kv := range entries(m, "TransactionKeyValue") {
			if kv["key"] == key {
				kv["value"] = value
				return
			}
		}
		m["data"] = append(m["data"].([]any), map[string]any{"destinationTable": "TransactionKeyValue", "key": key, "value": value})
	}
}

func addEntries(list ...map[string]any) func(m map[string]any) {
	return func(m map[string]any) {
		for _, x := range list {
			m["data"] = append(m["data"].([]any), x)
		}
	}
}

func (e *hostileEnv) post(d delivery) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.h.base+"/receive", bytes.NewReader(d.body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	if d.contentType != "" {
		req.Header.Set("Content-Type", d.contentType)
	}
	e.h.senderAuth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST /receive: %v (did the service crash?)", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Errorf("answer %d is not a JSON object: %.200q", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (e *hostileEnv) jobCount() int {
	var page struct {
		Jobs []jobJSON `json:"jobs"`
	}
	e.h.get("/jobs?limit=1000", &page)
	return len(page.Jobs)
}

func (e *hostileEnv) serves() bool {
	resp, err := http.Get(e.h.base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitFinal polls GET /jobs/{id} until the job is in a final state.
func (e *hostileEnv) waitFinal(t *testing.T, id string, within time.Duration) jobJSON {
	t.Helper()
	var j jobJSON
	deadline := time.Now().Add(within)
	for {
		j = jobJSON{}
		code := e.h.get("/jobs/"+id, &j)
		if code == http.StatusOK && isFinal(j.State) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %q (GET %d) after %s: %s", id, j.State, code, within, j.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isFinal(state string) bool {
	switch state {
	case "succeeded", "failed", "cancelled", "unrouted":
		return true
	}
	return false
}

// outsideWrites lists what is in the sentinel directory besides the data directory and
// the unchanged victims, and whatever an escape could have created at the usual targets.
func (e *hostileEnv) outsideWrites() []string {
	var out []string
	data := filepath.Join(e.root, "data")
	_ = filepath.WalkDir(e.top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			out = append(out, p+": "+err.Error())
			return nil
		}
		if p == data {
			return filepath.SkipDir
		}
		if p == e.top || p == e.root || p == filepath.Join(e.root, "sub") {
			if !d.IsDir() {
				out = append(out, p+" is no longer a directory")
			}
			return nil
		}
		want, ok := e.victims[p]
		if !ok {
			out = append(out, p)
			return nil
		}
		if d.Type() != 0 {
			out = append(out, p+" is no longer a regular file")
			return nil
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			out = append(out, p+" was changed")
		}
		return nil
	})
	for _, p := range []string{"/hostile-escape", filepath.Join(os.TempDir(), "hostile-escape"), "/etc/hostile-escape"} {
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// dataDirEmpty waits until every job directory is removed.
func (e *hostileEnv) dataDirEmpty(within time.Duration) []string {
	deadline := time.Now().Add(within)
	for {
		entries, _ := os.ReadDir(filepath.Join(e.root, "data"))
		if len(entries) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var names []string
			_ = filepath.WalkDir(filepath.Join(e.root, "data"), func(p string, d fs.DirEntry, err error) error {
				names = append(names, "left in the data directory: "+p)
				return nil
			})
			return names
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs one case and asserts its outcome.
func (e *hostileEnv) run(t *testing.T, c hostileCase) *hostileResult {
	t.Helper()
	r := &hostileResult{name: c.name}
	if c.setup != nil {
		if undo := c.setup(e); undo != nil {
			defer undo()
		}
	}
	d := c.deliver(e)
	before := e.jobCount()
	r.code, r.answer = e.post(d)
	if r.code != c.want.code {
		t.Errorf("answered %d %v, want %d", r.code, r.answer, c.want.code)
	}
	within := 60 * time.Second
	if c.slow {
		within = 180 * time.Second
	}
	if r.code == http.StatusAccepted {
		var ids []string
		if evs, ok := r.answer["events"].([]any); ok {
			for _, ev := range evs {
				ids = append(ids, jobIDs(t, ev.(map[string]any))...)
			}
		} else {
			ids = jobIDs(t, r.answer)
		}
		if len(ids) == 0 {
			t.Error("202 without a job: the event is not visible in GET /jobs")
		}
		if n := c.want.sample; n > 0 && len(ids) > 2*n {
			ids = append(ids[:n:n], ids[len(ids)-n:]...)
		}
		for _, id := range ids {
			j := e.waitFinal(t, id, within)
			r.jobs = append(r.jobs, j)
			if c.want.state != "" && j.State != c.want.state {
				t.Errorf("job %s ended %s, want %s: %s", id, j.State, c.want.state, j.Error)
			}
		}
		if len(r.jobs) > 0 {
			r.errText = r.jobs[0].Error
		}
	} else {
		r.errText, _ = r.answer["error"].(string)
		if r.errText == "" {
			t.Errorf("a %d answer without an error message: %v", r.code, r.answer)
		}
		if n := e.jobCount(); n != before {
			t.Errorf("a refused delivery made jobs: %d before, %d after", before, n)
		}
	}
	if c.want.state == "" && r.code == http.StatusAccepted && c.want.code != http.StatusAccepted {
		t.Errorf("jobs %+v for a delivery that should have been refused", r.jobs)
	}
	for _, s := range c.want.errHas {
		if !strings.Contains(r.errText, s) {
			t.Errorf("error lacks %q:\n%s", s, r.errText)
		}
	}
	r.outside = append(e.dataDirEmpty(10*time.Second), e.outsideWrites()...)
	for _, o := range r.outside {
		t.Errorf("written outside the job's directory: %s", o)
	}
	r.serves = e.serves()
	if !r.serves {
		t.Error("GET /healthz does not answer 200 any more")
	}
	if c.want.check != nil {
		c.want.check(t, e, r)
	}
	return r
}

// TestHostile runs the catalogue of hostile inputs (see the top of this file).
func TestHostile(t *testing.T) {
	t.Parallel()
	e := startHostileEnv(t)
	var cases []hostileCase
	cases = append(cases, receiverCases()...)
	cases = append(cases, pathCases()...)
	cases = append(cases, tarCases()...)
	cases = append(cases, iniCases()...)
	cases = append(cases, pacificaCases()...)
	cases = append(cases, forgedCases()...)
	cases = append(cases, modelCases()...)
	cases = append(cases, scriptCases()...)
	cases = append(cases, peerTextCases()...)
	var results []*hostileResult
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if c.slow && !hostileSlow() {
				t.Skip("slow case: HOSTILE=all (make hostile) runs it")
			}
			e.t = t
			results = append(results, e.run(t, c))
		})
	}
	for _, c := range apiCases() {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			results = append(results, e.runAPI(t, c))
		})
	}
	for _, c := range accessCases() {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			results = append(results, e.runAccess(t, c))
		})
	}
	e.t = t
	for _, sub := range e.s.sim.Subscriptions() {
		if !sub.Active() {
			t.Errorf("subscription %s disabled", sub.Name)
		}
	}
	if testing.Verbose() {
		printHostileTable(results)
	}
}

func printHostileTable(results []*hostileResult) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "case\tHTTP\tjob state\terror (first line)\toutside writes\tserves")
	for _, r := range results {
		states := []string{}
		for _, j := range r.jobs {
			s := j.State
			if j.Attempts > 1 {
				s += fmt.Sprintf(" (%d attempts)", j.Attempts)
			}
			states = append(states, s)
		}
		state := strings.Join(states, ",")
		if len(states) > 3 {
			state = summarizeStates(states)
		}
		if state == "" {
			state = "-"
		}
		first, _, _ := strings.Cut(r.errText, "\n")
		if len(first) > 110 {
			first = first[:110] + "…"
		}
		if first == "" {
			first = "-"
		}
		outside := "none"
		if len(r.outside) > 0 {
			outside = fmt.Sprintf("%d FOUND", len(r.outside))
		}
		serves := "yes"
		if !r.serves {
			serves = "NO"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", r.name, r.code, state, first, outside, serves)
	}
	w.Flush()
	fmt.Printf("\nhostile-input catalogue: %d cases\n%s\n", len(results), b.String())
}

// resultFiles returns the files (path → archived path on disk) of the job's uploaded
// transaction.
func (e *hostileEnv) resultFiles(t *testing.T, j jobJSON) map[string]string {
	t.Helper()
	if j.TransactionID == nil {
		t.Fatalf("job %s uploaded nothing", j.ID)
	}
	tx, ok := e.s.sim.Transaction(*j.TransactionID)
	if !ok {
		t.Fatalf("transaction %d not in the simulator", *j.TransactionID)
	}
	out := map[string]string{}
	for _, f := range tx.Files {
		p := strings.Trim(f.Subdir, "/")
		if p != "" {
			p += "/"
		}
		out[p+f.Name] = f.Path
	}
	return out
}

// summarizeStates counts the states of a case with many jobs (a batch): "2000 jobs:
// 2000 unrouted".
func summarizeStates(states []string) string {
	n := map[string]int{}
	var order []string
	for _, s := range states {
		if n[s] == 0 {
			order = append(order, s)
		}
		n[s]++
	}
	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
	}
	return fmt.Sprintf("%d jobs: %s", len(states), strings.Join(parts, ", "))
}
