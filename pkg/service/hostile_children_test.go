package service

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// The evil-child part of the hostile catalogue: uploaded models and operator scripts that
// attack the machine they run on. Each case runs as a proxymod model (models/evil.py) and
// as a script, against a real `dispatcher serve --role=worker` process whose environment
// holds credentials, with a victim job directory in its DATA_DIR. With the sandbox, every
// case must end with no credential in anything uploaded, nothing written outside the
// attempt's directory, no process of the attempt left, and the service serving. The same
// cases with SANDBOX=off (HOSTILE=all, as make hostile sets) show what the sandbox buys;
// the ones that would harm the machine (fork bomb, memory, CPU, disk) run only sandboxed.

// evilCase is one attack. Its snippet is bash; DATA, BIN, INI, SIM, TOKEN and HOSTTMP
// are replaced by the data directory, the dispatcher's binary, the script configuration,
// the simulator's port, a token of the run and the host's temporary directory.
type evilCase struct {
	name    string
	snippet string
	// harmful cases run only in the sandbox.
	harmful bool
	// sandboxed is the job's final state and, for a failure, a text its error holds, with
	// the sandbox.
	state, errHas string
	// check runs extra assertions (sandbox on) on what the job uploaded.
	check func(t *testing.T, uploaded string)
}

var evilCases = []evilCase{
	{name: "read the environ of the parent, PID 1 and every process",
		snippet: "cat /proc/$PPID/environ /proc/1/environ; for p in /proc/[0-9]*/environ; do cat $p; done | tr '\\0' '\\n'; true",
		state:   "succeeded"},
	{name: "list and read DATA_DIR and other jobs",
		snippet: "ls -laR DATA; cat DATA/00-victim/1/upload/*; true", state: "succeeded"},
	{name: "read the dispatcher's binary and configuration",
		snippet: "ls -la BIN; head -c 64 BIN | od -c | head -3; cat INI; ls -la /proc/$PPID/exe; true", state: "succeeded"},
	{name: "connect to PostgreSQL, RabbitMQ and Pacifica on 127.0.0.1",
		snippet: "for p in 5432 5672 SIM; do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && echo REACHED-$p; done; " +
			"ls /run/postgresql && echo REACHED-socket; true",
		state: "succeeded",
		check: func(t *testing.T, up string) {
			if strings.Contains(up, "REACHED") {
				t.Errorf("the child reached a host service:\n%s", grepLines(up, "REACHED"))
			}
		}},
	{name: "write to /tmp, HOME, DATA_DIR and another job",
		snippet: "echo x > HOSTTMP/evil-escape-TOKEN; echo x > $HOME/../../evil-escape-TOKEN; echo x > DATA/evil-escape-TOKEN; " +
			"echo x > DATA/00-victim/1/upload/evil-escape-TOKEN; echo x > /evil-escape-TOKEN; true",
		state: "succeeded"},
	{name: "setsid env -i daemons and double forks",
		snippet: "setsid env -i sleep 6TOKEN1 >/dev/null 2>&1 </dev/null & ( ( sleep 6TOKEN2 & ) & ); echo started",
		state:   "succeeded"},
	{name: "fork bomb (forks until refused)", harmful: true,
		snippet: "python3 -c 'import os, time\nn = 0\nfor i in range(2000):\n    try:\n        pid = os.fork()\n" +
			"    except OSError:\n        break\n    if pid == 0:\n        time.sleep(6TOKEN3)\n        os._exit(0)\n    n += 1\nprint(\"FORKED\", n)'",
		state: "succeeded",
		check: func(t *testing.T, up string) {
			line := grepLines(up, "FORKED")
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(line), "FORKED %d", &n); err != nil || n >= evilProcesses {
				t.Errorf("forks: %q, want fewer than %d", line, evilProcesses)
			}
		}},
	{name: "a file larger than the limit", snippet: "exec head -c 9000000 /dev/zero > big",
		state: "failed", errHas: "file size limit"},
	{name: "fill the disk past the quota", harmful: true,
		snippet: "for i in $(seq 1 30); do head -c 4000000 /dev/zero > f$i; done; sleep 30",
		state:   "failed", errHas: "disk quota limit exceeded"},
	{name: "memory past the limit", harmful: true, snippet: "exec python3 -c 'x = bytearray(1 << 30)'",
		state: "failed", errHas: "memory limit"},
	{name: "CPU past the limit", harmful: true, snippet: "exec bash -c 'while :; do :; done'",
		state: "failed", errHas: "CPU time limit exceeded"},
}

// The limits of the evil workers.
const evilProcesses = 64

// evilSite is a receiver, a simulated Pacifica and one worker process.
type evilSite struct {
	s       *site
	h       *harness
	data    string
	bin     string
	ini     string
	token   string
	secrets map[string]string // name → value that must never be uploaded
	log     *testsupport.SyncBuffer
}

func startEvilSite(t *testing.T, mode string) *evilSite {
	t.Helper()
	e := &evilSite{s: startSite(t), bin: buildDispatcher(t), token: fmt.Sprintf("%05d", rand.IntN(100000)), log: &testsupport.SyncBuffer{}}
	top := t.TempDir()
	e.data = filepath.Join(top, "data")
	victim := filepath.Join(e.data, "00-victim", "1", "upload")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	e.secrets = map[string]string{
		"victim job's data":                      "victim-data-" + testsupport.Token(),
		"ADMIN_AUTH_PASSWORD":                    "admin-password-" + testsupport.Token(),
		"a variable":                             "worker-variable-" + testsupport.Token(),
		"AUTHENTICATION_PASSWORD_FILE's content": "pacifica-password-" + testsupport.Token(),
		"the INI file":                           "ini-marker-" + testsupport.Token(),
	}
	if err := os.WriteFile(filepath.Join(victim, "secret.txt"), []byte(e.secrets["victim job's data"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(top, "pacifica-password")
	if err := os.WriteFile(pwFile, []byte(e.secrets["AUTHENTICATION_PASSWORD_FILE's content"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scriptDir := filepath.Join(top, "scripts")
	if err := os.MkdirAll(scriptDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.ini = filepath.Join(top, "config.ini")
	var ini strings.Builder
	fmt.Fprintf(&ini, "# %s\n", e.secrets["the INI file"])
	for i, c := range evilCases {
		name := fmt.Sprintf("evil-%02d", i)
		body := "#!/bin/bash\nexec > output/leak.txt\n" + e.expand(c.snippet) + "\n"
		if err := os.WriteFile(filepath.Join(scriptDir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&ini, "[%s]\nrouter_jsonpath = $[?($[\"data\"][*][?(@[\"destinationTable\"] = \"TransactionKeyValue\" and @[\"key\"] = \"evil.script\" and @[\"value\"] = \"%s\")])]\n", name, name)
	}
	if err := os.WriteFile(e.ini, []byte(ini.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.h = startHarness(t, func(c *Config) {
		e.s.workerConfig(t, c)
		c.Role = RoleReceiver
		c.ScriptDir, c.ScriptConfig = scriptDir, e.ini
	})
	c := e.h.cfg
	e.secrets["DATABASE_URL"], e.secrets["BROKER_URL"] = c.DatabaseURL, c.BrokerURL
	startWorkerProcess(t, e.bin, c, e.data, e.log,
		"JOB_LEASE=10s", "JOB_MAX_ATTEMPTS=1", "PROXYMOD_TIMEOUT=60s", "SCRIPT_TIMEOUT=60s",
		"SCRIPT_DIR="+scriptDir, "DISPATCHER_K8S_CONFIG="+e.ini,
		"ADMIN_AUTH_TYPE=basic", "ADMIN_AUTH_USERNAME=ops", "ADMIN_AUTH_PASSWORD="+e.secrets["ADMIN_AUTH_PASSWORD"],
		"AUTHENTICATION_PASSWORD_FILE="+pwFile, "EVIL_TEST_SECRET="+e.secrets["a variable"],
		"SANDBOX="+mode, "SANDBOX_CPU_TIME=2s", "SANDBOX_MEMORY=512MiB",
		"SANDBOX_PROCESSES="+strconv.Itoa(evilProcesses), "SANDBOX_FILE_SIZE=8MiB", "SANDBOX_DISK=48MiB")
	return e
}

func (e *evilSite) expand(snippet string) string {
	return strings.NewReplacer("DATA", e.data, "BIN", e.bin, "INI", e.ini, "SIM", simPort(e.s),
		"HOSTTMP", os.TempDir(), "TOKEN1", e.token+"1", "TOKEN2", e.token+"2", "TOKEN3", e.token+"3", "TOKEN", e.token).Replace(snippet)
}

func simPort(s *site) string {
	_, port, _ := strings.Cut(s.urls.Cartd, ":")
	return port
}

// evilModel is a model that replaces its interpreter with bash running the snippet.
func (e *evilSite) evilModel(c evilCase) string {
	return "import os\n\ndef evil(*configs):\n    os.execv('/bin/bash', ['bash', '-c', " + pyQuote(e.expand(c.snippet)) + "])\n"
}

func pyQuote(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'", "\n", "\\n").Replace(s) + "'"
}

// evilOutcome is what one case did in one kind of job.
type evilOutcome struct {
	state, err string
	leaked     []string // the secrets found in the uploads
	outside    []string // files written outside the attempt's directory
	left       []string // processes of the attempt still running
	uploaded   string   // everything the job uploaded, as text
}

func (o evilOutcome) cell() string {
	first, _, _ := strings.Cut(o.err, "\n")
	// The interpreter's path says nothing here: keep what follows it.
	if _, rest, ok := strings.Cut(first, "failed: "); ok {
		first = rest
	}
	if len(first) > 70 {
		first = first[:70] + "…"
	}
	s := o.state
	if first != "" && o.state == "failed" {
		s += ": " + first
	}
	var bad []string
	if len(o.leaked) > 0 {
		bad = append(bad, "LEAKED "+strings.Join(o.leaked, ", "))
	}
	if r := grepLines(o.uploaded, "REACHED-"); r != "" {
		bad = append(bad, strings.Join(strings.Fields(r), ", "))
	}
	if len(o.outside) > 0 {
		bad = append(bad, fmt.Sprintf("WROTE %d outside", len(o.outside)))
	}
	if len(o.left) > 0 {
		bad = append(bad, fmt.Sprintf("LEFT %d processes", len(o.left)))
	}
	if len(bad) == 0 {
		return s + "; contained"
	}
	return s + "; " + strings.Join(bad, "; ")
}

// run delivers the case's event for the kind ("model" or "script") and returns the outcome.
func (e *evilSite) run(t *testing.T, i int, c evilCase, kind string) evilOutcome {
	t.Helper()
	var src int64
	if kind == "model" {
		src = e.s.upload(t, map[string]string{"evil": e.evilModel(c)}, nil)
	} else {
		src = e.s.uploadSource(t, map[string]string{"a.txt": "alpha\n"}, "evil.script", fmt.Sprintf("evil-%02d", i))
	}
	tx, ok := e.s.sim.Transaction(src)
	if !ok {
		t.Fatal("no source transaction")
	}
	if code, answer := e.h.post("/receive", jsonCT, tx.Event); code != http.StatusAccepted {
		t.Fatalf("delivery answered %d %v", code, answer)
	}
	j := e.h.jobOf(src, 120*time.Second)
	o := evilOutcome{state: j.State, err: j.Error}
	uploaded := e.uploaded(t, e.s.resultsOfJob(j.ID))
	for name, v := range e.secrets {
		if strings.Contains(uploaded, v) {
			o.leaked = append(o.leaked, name)
		}
	}
	sort.Strings(o.leaked)
	for _, p := range []string{filepath.Join(os.TempDir(), "evil-escape-"+e.token), filepath.Join(e.data, "evil-escape-"+e.token),
		filepath.Join(e.data, "00-victim", "1", "upload", "evil-escape-"+e.token), "/evil-escape-" + e.token,
		filepath.Join(filepath.Dir(e.data), "evil-escape-"+e.token)} {
		if _, err := os.Lstat(p); err == nil {
			o.outside = append(o.outside, p)
			_ = os.Remove(p)
		}
	}
	// The attempt's processes: its daemons, its forks (python sleeping 6<token>3 s). The
	// markers hold a random token: nothing else on the machine has them.
	time.Sleep(200 * time.Millisecond)
	for _, cl := range []string{"sleep 6" + e.token + "1", "sleep 6" + e.token + "2", "time.sleep(6" + e.token + "3)"} {
		for _, p := range processesUnder(cl) {
			o.left = append(o.left, p)
			pid, _, _ := strings.Cut(p, ": ")
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
	}
	o.uploaded = uploaded
	return o
}

// uploaded is everything the transactions hold: files and key/values, as text.
func (e *evilSite) uploaded(t *testing.T, txs []pacificasim.Transaction) string {
	t.Helper()
	var b bytes.Buffer
	for _, tx := range txs {
		for _, kv := range tx.KeyValues {
			fmt.Fprintf(&b, "%s=%s\n", kv.Key, kv.Value)
		}
		for _, f := range tx.Files {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				t.Errorf("uploaded file %s: %v", f.Name, err)
			}
			b.Write(data)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHostileChildren runs the evil children in the sandbox (and, with HOSTILE=all,
// without it) and prints the table of outcomes with -v.
func TestHostileChildren(t *testing.T) {
	t.Parallel()
	modes := []string{"bwrap"}
	if hostileSlow() {
		modes = append(modes, "off")
	}
	results := map[string]map[string]evilOutcome{} // mode → kind/case → outcome
	for _, mode := range modes {
		t.Run("sandbox="+mode, func(t *testing.T) {
			e := startEvilSite(t, mode)
			results[mode] = map[string]evilOutcome{}
			for i, c := range evilCases {
				if c.harmful && mode == "off" {
					continue
				}
				for _, kind := range []string{"model", "script"} {
					t.Run(kind+"/"+c.name, func(t *testing.T) {
						o := e.run(t, i, c, kind)
						results[mode][kind+"/"+c.name] = o
						if mode == "off" {
							if !isFinal(o.state) {
								t.Errorf("job %s", o.state)
							}
							return
						}
						if o.state != c.state {
							t.Errorf("job %s, want %s: %s", o.state, c.state, o.err)
						}
						if c.errHas != "" && !strings.Contains(o.err, c.errHas) {
							t.Errorf("error lacks %q: %s", c.errHas, o.err)
						}
						for _, l := range o.leaked {
							t.Errorf("uploaded a secret: %s", l)
						}
						for _, p := range o.outside {
							t.Errorf("written outside the attempt's directory: %s", p)
						}
						for _, p := range o.left {
							t.Errorf("process left after the job: %s", p)
						}
						if c.check != nil {
							c.check(t, o.uploaded)
						}
						// A model that failed still has its logs uploaded, marked failed.
						if kind == "model" && o.state == "failed" && !strings.Contains(o.uploaded, `dispatcher.status="failed"`) {
							t.Errorf("the failed run's logs were not uploaded: %.300s", o.uploaded)
						}
					})
				}
			}
			resp, err := http.Get(e.h.base + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("the receiver does not serve: %v", err)
			} else {
				resp.Body.Close()
			}
			if t.Failed() {
				t.Logf("worker log:\n%s", e.log.String())
			}
		})
	}
	if testing.Verbose() {
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "case\twith the sandbox\twithout (SANDBOX=off)")
		for _, c := range evilCases {
			for _, kind := range []string{"model", "script"} {
				key := kind + "/" + c.name
				off := "not run: it would harm the machine"
				if o, ok := results["off"][key]; ok {
					off = o.cell()
				} else if !c.harmful {
					off = "not run (HOSTILE=all runs it)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", key, results["bwrap"][key].cell(), off)
			}
		}
		w.Flush()
		fmt.Printf("\nevil children: %d cases\n%s\n", 2*len(evilCases), b.String())
	}
}
