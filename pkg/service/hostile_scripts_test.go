package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// hostileScripts are the script jobs of the catalogue (dispatcher-k8s scripts): name →
// shell body. ROOT is replaced by the sentinel directory (its secret.txt must never be
// uploaded). Each runs for the events whose key/value hostile.script names it.
var hostileScripts = map[string]string{
	"kvp-dotdot-key":     "printf '../../../etc/passwd,x\\n/abs/key,y\\n' > output/kvp.csv\necho ok > output/a.txt\n",
	"kvp-long-value":     "head -c 70000 /dev/zero | tr '\\0' v | sed 's/^/k,/' > output/kvp.csv\n",
	"kvp-huge-file":      "i=0; while [ $i -lt 2200 ]; do printf 'k%d,%0500d\\n' $i 0; i=$((i+1)); done > output/kvp.csv\n",
	"kvp-many-rows":      "i=0; while [ $i -lt 1500 ]; do echo k$i,v; i=$((i+1)); done > output/kvp.csv\n",
	"kvp-nul":            "printf 'a,b\\000c\\n' > output/kvp.csv\n",
	"kvp-line-break-key": "printf '\"a\\nb\",c\\n' > output/kvp.csv\n",
	"kvp-invalid-utf8":   "printf 'a,\\377\\376\\n' > output/kvp.csv\n",
	"kvp-bad-quotes":     "printf 'a,\"b\\n' > output/kvp.csv\n",
	"kvp-reserved-key":   "printf 'dispatcher.job_id,forged\\n' > output/kvp.csv\n",
	"kvp-link-secret":    "echo ok > output/a.txt\nln -s ROOT/secret.txt output/kvp.csv\n",
	"kvp-link-passwd":    "echo ok > output/a.txt\nln -s /etc/passwd output/kvp.csv\n",
	"kvp-link-relative":  "echo ok > output/a.txt\nln -s ../../../../secret.txt output/kvp.csv\n",
	"out-link-root":      "rm -rf output\nln -s / output\n",
	"out-link-sentinel":  "rm -rf output\nln -s ROOT output\n",
	"out-file-link":      "ln -s ROOT/secret.txt output/secret.txt\n",
	"out-dir-link":       "ln -s ROOT output/sentinel\n",
	"out-fifo":           "mkfifo output/pipe\n",
	"out-removed":        "rm -rf output\n",
	"out-hardlink":       "ln ROOT/secret.txt output/secret.txt 2>/dev/null || cp ROOT/secret.txt output/secret.txt\n",
	"daemon":             "setsid sleep 617 >/dev/null 2>&1 < /dev/null &\nsetsid sleep 619 &\necho started\n",
	"floods-stdout":      "head -c 100000000 /dev/zero | tr '\\0' x\necho\n",
	"fails-loudly":       "head -c 5000000 /dev/zero | tr '\\0' e >&2\nexit 3\n",
	"removes-its-dirs":   "rm -rf download event.json\necho gone > output/a.txt\n",
}

// writeHostileScripts writes the script directory and its INI file.
func writeHostileScripts(t *testing.T, root string) (dir, ini string) {
	t.Helper()
	dir = t.TempDir()
	var b strings.Builder
	names := make([]string, 0, len(hostileScripts))
	for n := range hostileScripts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		body := "#!/bin/sh\n" + strings.ReplaceAll(hostileScripts[name], "ROOT", root)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "[%s]\nrouter_jsonpath = $[?($[\"data\"][*][?(@[\"destinationTable\"] = \"TransactionKeyValue\" and @[\"key\"] = \"hostile.script\" and @[\"value\"] = \"%s\")])]\n", name, name)
	}
	ini = filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(ini, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, ini
}

// scriptEvent uploads a source for the script and delivers its event.
func scriptEvent(name string) func(e *hostileEnv) delivery {
	return func(e *hostileEnv) delivery {
		src := e.s.uploadSource(e.t, map[string]string{"a.txt": "alpha\n", "sub/b.csv": "x,y\n"}, "hostile.script", name)
		tx, _ := e.s.sim.Transaction(src)
		return delivery{contentType: jsonCT, body: e.edit(tx.Event)}
	}
}

// nothingUploaded checks that the job uploaded nothing (and that no transaction holds the
// secret).
func nothingUploaded(t *testing.T, e *hostileEnv, r *hostileResult) {
	t.Helper()
	if res := e.s.resultsOfJob(r.jobs[0].ID); len(res) != 0 {
		t.Errorf("a refused output was uploaded: %d transactions", len(res))
	}
	noSecret(t, e, r)
}

func noSecret(t *testing.T, e *hostileEnv, r *hostileResult) {
	t.Helper()
	for _, tx := range e.s.sim.Transactions() {
		for _, kv := range tx.KeyValues {
			if strings.Contains(string(kv.Value), "do-not-upload") || strings.Contains(string(kv.Value), "root:x:0:0") {
				t.Errorf("transaction %d carries a secret as key/value %s", tx.ID, kv.Key)
			}
		}
		for _, f := range tx.Files {
			if b, _ := os.ReadFile(f.Path); strings.Contains(string(b), "do-not-upload") && !strings.Contains(f.Name, "secret") {
				t.Errorf("transaction %d file %s holds the secret", tx.ID, f.Name)
			}
		}
	}
}

func scriptFailed(mention ...string) hostileWant {
	return hostileWant{code: http.StatusAccepted, state: "failed", errHas: mention, check: nothingUploaded}
}

// scriptRun is the job's details: the script log.
func scriptRun(t *testing.T, j jobJSON) (run struct {
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	Truncated bool   `json:"truncated"`
	Code      *int   `json:"return_code"`
}) {
	t.Helper()
	if err := json.Unmarshal(j.Details, &run); err != nil {
		t.Fatalf("details %s: %v", j.Details, err)
	}
	return run
}

func processesNamed(cmdline string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline {
			out = append(out, e.Name())
		}
	}
	return out
}

func scriptCases() []hostileCase {
	sc := func(name string, want hostileWant, slow ...bool) hostileCase {
		return hostileCase{name: "script/" + name, deliver: scriptEvent(name), want: want, slow: len(slow) > 0 && slow[0]}
	}
	return []hostileCase{
		// Keys are text, not paths: uploaded as given.
		sc("kvp-dotdot-key", hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
			res := e.s.resultsOfJob(r.jobs[0].ID)
			if len(res) != 1 || keyValue(res[0], "../../../etc/passwd") != `"x"` || keyValue(res[0], "/abs/key") != `"y"` {
				t.Errorf("key/values of the upload: %+v", res)
			}
		}}),
		sc("kvp-long-value", scriptFailed("output/kvp.csv line 1: key or value too long")),
		sc("kvp-huge-file", scriptFailed("output/kvp.csv is", "bytes, more than 1048576")),
		sc("kvp-many-rows", scriptFailed("more than 1000 key/values")),
		sc("kvp-nul", scriptFailed("a NUL in the value")),
		sc("kvp-line-break-key", scriptFailed("control characters in the key")),
		sc("kvp-invalid-utf8", scriptFailed("not UTF-8")),
		sc("kvp-bad-quotes", scriptFailed("output/kvp.csv", "quote")),
		sc("kvp-reserved-key", scriptFailed(`key "dispatcher.job_id" is set by the dispatcher`)),
		sc("kvp-link-secret", scriptFailed("output/kvp.csv is not a regular file")),
		sc("kvp-link-passwd", scriptFailed("output/kvp.csv is not a regular file")),
		sc("kvp-link-relative", scriptFailed("output/kvp.csv is not a regular file")),
		sc("out-link-root", scriptFailed("output is not a directory (the script left a link there)")),
		sc("out-link-sentinel", scriptFailed("output is not a directory (the script left a link there)")),
		sc("out-file-link", scriptFailed("secret.txt is not a regular file")),
		sc("out-dir-link", scriptFailed("sentinel is not a regular file")),
		sc("out-fifo", scriptFailed("pipe is not a regular file")),
		sc("out-removed", scriptFailed("directory output")),
		// A hard link (or copy) of a file outside the job: the sandbox shows the script
		// nothing of the host's data, so neither works (without the sandbox the script
		// uploads what the worker can read).
		sc("out-hardlink", scriptFailed("script out-hardlink failed: exit status 1")),
		sc("daemon", hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
			if p := append(processesNamed("sleep 617"), processesNamed("sleep 619")...); len(p) > 0 {
				t.Errorf("the script's daemons outlived the job: %v", p)
			}
		}}, true),
		sc("floods-stdout", hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
			run := scriptRun(t, r.jobs[0])
			if !run.Truncated || len(run.Stdout) > 256<<10 {
				t.Errorf("script log stdout %d bytes, truncated %v: want the kept tail only", len(run.Stdout), run.Truncated)
			}
			// The live job log took the flood too, within its bounds: one line cut at
			// worker.MaxLogLine, and the store's tail.
			logs := r.jobs[0].Logs
			if n := utf8.RuneCountInString(logs); n > 64<<10 || !strings.Contains(logs, "[stdout] xxxx") ||
				!strings.Contains(logs, fmt.Sprintf("[line cut at %d KiB]", worker.MaxLogLine>>10)) {
				t.Errorf("job log of %d characters, want the flood's line cut:\n%.2000s", n, logs)
			}
		}}, true),
		sc("fails-loudly", hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{"script fails-loudly failed: exit status 3"},
			check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				if n := len(r.jobs[0].Error); n > 8<<10 {
					t.Errorf("the job's error is %d bytes", n)
				}
				nothingUploaded(t, e, r)
			}}),
		sc("removes-its-dirs", hostileWant{code: http.StatusAccepted, state: "succeeded"}),
	}
}
