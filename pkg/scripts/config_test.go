package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

func write(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b-script"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "a-script"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, ".hidden"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "README"), "not executable\n", 0o644)
	write(t, filepath.Join(dir, "c-dir", "main.sh"), "#!/bin/sh\n", 0o755)
	ini := filepath.Join(t.TempDir(), "config.ini")
	write(t, ini, `# dispatcher-k8s configuration
[DEFAULT]
timeout = 60

[b-script]
router_jsonpath = $[?(@["eventType"] = "org.pacifica.metadata.ingest"
    and @["eventID"])]
download_timeout = %(timeout)s

[b-script:output_dirs]
results =
plots =

[b-script:plots]
directory = out/plots
key_value_file = meta/kv.csv

[c-dir]
script_file = main.sh
`, 0o644)
	got, err := Load(dir, ini)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "a-script" || got[1].Name != "b-script" || got[2].Name != "c-dir" {
		t.Fatalf("scripts %+v, want a-script, b-script, c-dir in name order", got)
	}
	a := got[0]
	if a.FilterText != DefaultRouterJSONPath || a.DownloadTimeout != 180*time.Second || a.Program != filepath.Join(dir, "a-script") ||
		len(a.OutputDirs) != 1 || a.OutputDirs[0] != (OutputDir{Name: "output", Directory: "output", KeyValueFile: "kvp.csv", KeyValueParser: "csv"}) {
		t.Errorf("defaults: %+v", a)
	}
	b := got[1]
	if !strings.Contains(b.FilterText, "\nand @[\"eventID\"]") || b.DownloadTimeout != 60*time.Second {
		t.Errorf("overrides: filter %q timeout %s", b.FilterText, b.DownloadTimeout)
	}
	if len(b.OutputDirs) != 2 || b.OutputDirs[0] != (OutputDir{Name: "plots", Directory: "out/plots", KeyValueFile: "meta/kv.csv", KeyValueParser: "csv"}) ||
		b.OutputDirs[1].Directory != "results" {
		t.Errorf("output dirs %+v", b.OutputDirs)
	}
	if got[2].Program != filepath.Join(dir, "c-dir", "main.sh") {
		t.Errorf("directory script runs %s", got[2].Program)
	}
}

func TestLoadErrorsNameTheScript(t *testing.T) {
	cases := map[string]string{
		"[s]\nrouter_jsonpath = $[?(@.a = )]\n": `script "s": router_jsonpath does not parse`,
		"[s]\ndownload_timeout = soon\n":        `script "s": download_timeout "soon"`,
		"[s:output]\ndirectory = ../../etc\n":   `script "s": [s:output] directory "../../etc" must not contain '..'`,
		"[s:output]\nkey_value_parser = yaml\n": "only csv is supported",
		"[s]\nrouter_jsonpath = 100%\n":         "lone %",
		"[s]\nkey = 1\nkey = 2\n":               `key "key" given twice`,
		"key = 1\n":                             "before any [section]",
	}
	for body, want := range cases {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "s"), "#!/bin/sh\n", 0o755)
		ini := filepath.Join(t.TempDir(), "config.ini")
		write(t, ini, body, 0o644)
		if _, err := Load(dir, ini); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}

func TestLoadWithoutDirectoryOrConfiguration(t *testing.T) {
	if got, err := Load(filepath.Join(t.TempDir(), "missing"), "/nonexistent.ini"); err != nil || len(got) != 0 {
		t.Errorf("missing script directory: %v %v", got, err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "s"), "#!/bin/sh\n", 0o755)
	got, err := Load(dir, filepath.Join(t.TempDir(), "missing.ini"))
	if err != nil || len(got) != 1 || got[0].FilterText != DefaultRouterJSONPath {
		t.Errorf("missing configuration file: %+v %v", got, err)
	}
}

// The default filter is dispatcher-k8s's: do_processing = "True" (a string), nothing else.
func TestDefaultRouterJSONPath(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "s"), "#!/bin/sh\n", 0o755)
	got, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f := got[0].Filter
	for doc, want := range map[string]bool{
		`{"data": [{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "True"}]}`:  true,
		`{"data": [{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "False"}]}`: false,
		`{"data": [{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": true}]}`:    false,
		`{"data": [{"destinationTable": "TransactionKeyValue", "key": "other", "value": "True"}]}`:          false,
	} {
		v, err := jsonpath2.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if f.Matches(v) != want {
			t.Errorf("%s: match %v, want %v", doc, !want, want)
		}
	}
}

// allow_network is a configparser boolean, off by default; the entry the sandbox shows is
// the script's own file, or its directory.
func TestAllowNetworkAndEntry(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"net-on", "net-off", "net-default", "net-bad"} {
		write(t, filepath.Join(dir, n), "#!/bin/sh\n", 0o755)
	}
	write(t, filepath.Join(dir, "in-dir", "run"), "#!/bin/sh\n", 0o755)
	ini := filepath.Join(t.TempDir(), "config.ini")
	write(t, ini, "[net-on]\nallow_network = Yes\n[net-off]\nallow_network = off\n", 0o644)
	got, err := Load(dir, ini)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"net-on": true, "net-off": false, "net-default": false, "net-bad": false, "in-dir": false}
	for _, s := range got {
		if s.Network != want[s.Name] {
			t.Errorf("%s: Network %v", s.Name, s.Network)
		}
		if s.Entry != filepath.Join(dir, s.Name) {
			t.Errorf("%s: Entry %s", s.Name, s.Entry)
		}
	}
	write(t, ini, "[net-bad]\nallow_network = perhaps\n", 0o644)
	if _, err := Load(dir, ini); err == nil || !strings.Contains(err.Error(), `net-bad`) || !strings.Contains(err.Error(), "allow_network") {
		t.Errorf("allow_network = perhaps: %v", err)
	}
}

// A regular file without its executable bit is no script; NotExecutable names it (hidden
// files, directories and executables are not named).
func TestNotExecutable(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"run-me": 0o755, "forgot-chmod": 0o644, ".hidden": 0o644, "also-forgot": 0o600} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	scr, err := Load(dir, filepath.Join(dir, "none.ini"))
	if err != nil || len(scr) != 1 || scr[0].Name != "run-me" {
		t.Errorf("Load = %v, %v; want run-me only", scr, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := NotExecutable(dir)
	if err != nil || strings.Join(got, ",") != "also-forgot,forgot-chmod" {
		t.Errorf("NotExecutable = %v, %v", got, err)
	}
	if got, err := NotExecutable(filepath.Join(dir, "missing")); err != nil || len(got) != 0 {
		t.Errorf("missing directory: %v, %v", got, err)
	}
}
