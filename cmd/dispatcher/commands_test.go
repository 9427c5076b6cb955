package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

func TestConfigCommands(t *testing.T) {
	t.Setenv("SANDBOX", "off")
	t.Setenv("DATA_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"config"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "`DATABASE_URL`") {
		t.Errorf("config: %d %q", code, out.String())
	}
	t.Setenv("ROLE", "boss")
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "ROLE") {
		t.Errorf("config check with ROLE=boss: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "--role=boss"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "ROLE") {
		t.Errorf("serve --role=boss: %d %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"nonsense"}, nil, &out, &errOut); code != 2 {
		t.Errorf("unknown command exited %d", code)
	}
}

// config check says how the workers' children would be confined, and warns when they
// would not be.
func TestConfigCheckSandbox(t *testing.T) {
	t.Setenv("SCRIPT_DIR", t.TempDir())
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("RECEIVER_AUTH_TYPE", "none")
	for mode, want := range map[string]string{"bwrap": "sandbox: bubblewrap", "off": "WARNING: models and scripts would run without a sandbox: SANDBOX=off"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("SANDBOX", mode)
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
				t.Errorf("config check, SANDBOX=%s: %d %q %q; want %q", mode, code, out.String(), errOut.String(), want)
			}
		})
	}
	t.Setenv("SANDBOX", "docker")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "SANDBOX") {
		t.Errorf("config check, SANDBOX=docker: %d %q", code, errOut.String())
	}
}

// config check says who may post events, act on jobs and read them, warning about what is
// open to anyone, and refuses a receiver whose sender authentication is not set.
func TestConfigCheckAccess(t *testing.T) {
	t.Setenv("SCRIPT_DIR", t.TempDir())
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("SANDBOX", "off")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "RECEIVER_AUTH_TYPE: not set") || !strings.Contains(errOut.String(), "RECEIVER_AUTH_TYPE=none") {
		t.Errorf("config check without sender authentication: %d %q", code, errOut.String())
	}
	t.Setenv("RECEIVER_AUTH_TYPE", "none")
	t.Setenv("ADMIN_AUTH_TYPE", "none")
	out.Reset()
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "WARNING: the receiver accepts events from anyone") ||
		!strings.Contains(out.String(), "WARNING: operator actions (cancel, retry) are open to anyone") {
		t.Errorf("config check with none: %d %q", code, out.String())
	}
	t.Setenv("RECEIVER_AUTH_TYPE", "")
	t.Setenv("RECEIVER_AUTH_HEADER", "Bearer xyz")
	t.Setenv("ADMIN_AUTH_TYPE", "")
	out.Reset()
	if code := run(context.Background(), []string{"config", "check"}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "event senders: header authentication") ||
		!strings.Contains(out.String(), "operator actions: disabled") || strings.Contains(out.String(), "WARNING: the receiver") {
		t.Errorf("config check with sender credentials: %d %q", code, out.String())
	}
}

func TestRoutesCommand(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"reduce": "#!/bin/sh\n", ".hidden": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ini := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(ini, []byte("[reduce]\nrouter_jsonpath = $[?(@[\"eventType\"] = \"org.pacifica.metadata.ingest\")]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCRIPT_DIR", dir)
	t.Setenv("DISPATCHER_K8S_CONFIG", ini)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"routes"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("routes: %d %s", code, errOut.String())
	}
	want := "proxymod\n  kind:    proxymod\n  queue:   pacifica.dispatcher.jobs\n  filter:\n    $[?(\n"
	if !strings.HasPrefix(out.String(), want) ||
		!strings.Contains(out.String(), "\n\nscript.reduce\n  kind:    script\n  queue:   pacifica.dispatcher.jobs\n  program: "+filepath.Join(dir, "reduce")+
			"\n  filter:\n    $[?(@[\"eventType\"] = \"org.pacifica.metadata.ingest\")]\n") ||
		strings.Contains(out.String(), "hidden") {
		t.Errorf("routes printed:\n%s", out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if len(line) > 200 {
			t.Errorf("routes printed a line of %d characters: %s", len(line), line)
		}
	}
	// A filter that does not parse: routes and config check both name the script (config
	// check also says that the receiver's authentication is not set).
	if err := os.WriteFile(ini, []byte("[reduce]\nrouter_jsonpath = $[?(\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"routes"}, {"config", "check"}} {
		errOut.Reset()
		if code := run(context.Background(), args, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `script "reduce": router_jsonpath does not parse`) {
			t.Errorf("%v with a bad filter: %d %q", args, code, errOut.String())
		}
	}
}

// config check reports every problem at once, each naming its variable, and exits 1:
// values that do not parse, a Python that does not run, a DATA_DIR that cannot be
// created, a script without its executable bit.
func TestConfigCheckReportsEveryProblem(t *testing.T) {
	scriptDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(scriptDir, "reduce"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCRIPT_DIR", scriptDir)
	t.Setenv("SANDBOX", "off")
	t.Setenv("RECEIVER_AUTH_TYPE", "none")
	t.Setenv("MAX_EVENT_BYTES", "lots")
	t.Setenv("JOB_LEASE", "forever")
	t.Setenv("ROLE", "boss")
	t.Setenv("PROXYMOD_PYTHON", "/no/such/python")
	t.Setenv("DATA_DIR", filepath.Join(notDir, "jobs"))
	code, out, errOut := cli("config", "check")
	for _, want := range []string{`MAX_EVENT_BYTES="lots"`, `JOB_LEASE="forever"`, "ROLE:", "PROXYMOD_PYTHON: /no/such/python does not run",
		"DATA_DIR: " + filepath.Join(notDir, "jobs") + " does not exist and cannot be created: " + notDir + " is not a directory",
		"SCRIPT_DIR " + scriptDir + ": reduce is not executable", "the configuration has 6 problems"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check lacks %q", want)
		}
	}
	if code != 1 || strings.Contains(out, "configuration is valid") {
		t.Errorf("config check: %d\n%s\n%s", code, out, errOut)
	}
	// The variables it could not parse are set again afterwards.
	if os.Getenv("MAX_EVENT_BYTES") != "lots" {
		t.Errorf("MAX_EVENT_BYTES is %q after config check", os.Getenv("MAX_EVENT_BYTES"))
	}
}

// help <command> and <command> --help print the command's usage on stdout; version prints
// the build's version, version --help its usage.
func TestHelpAndVersion(t *testing.T) {
	for _, name := range []string{"filter", "serve", "migrate", "config", "routes", "jobs", "retry", "subscribe", "version"} {
		code1, help1, _ := cli("help", name)
		code2, help2, _ := cli(name, "--help")
		if code1 != 0 || code2 != 0 || help1 != help2 || !strings.HasPrefix(help1, "Usage: dispatcher ") || strings.Contains(help1, "Commands:") {
			t.Errorf("%s: help %d %q, --help %d %q", name, code1, help1, code2, help2)
		}
	}
	if code, out, _ := cli("help", "jobs", "list"); code != 0 || !strings.HasPrefix(out, "Usage: dispatcher jobs list") {
		t.Errorf("help jobs list: %d %q", code, out)
	}
	if code, _, errOut := cli("help", "nonsense"); code != 2 || !strings.Contains(errOut, `unknown command "nonsense"`) {
		t.Errorf("help nonsense: %d %q", code, errOut)
	}
	code, out, _ := cli("version")
	if bi := buildinfo.Get(); code != 0 || !strings.HasPrefix(out, "dispatcher "+bi.Version) || !strings.Contains(out, bi.GoVersion) {
		t.Errorf("version: %d %q", code, out)
	}
}

// The laid-out filter is the same filter: it parses, and matches what the original
// matches; no line is longer than it must be.
func TestLayOutFilter(t *testing.T) {
	event, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonpath2.Decode(event)
	if err != nil {
		t.Fatal(err)
	}
	long := `$[?(@["eventType"] = "org.pacifica.metadata.ingest" and @["data"][*][?(@["destinationTable"] = "TransactionKeyValue" and @["key"] = "proxymod.task" and @["value"] = "and or (")] or @["x"] = "it\"s and ]")]`
	for _, text := range []string{proxymod.Route().String(), long, strings.Join(strings.Fields(proxymod.Route().String()), " ")} {
		lines := layOutFilter(text, 96)
		laid, err := jsonpath2.Parse(strings.Join(lines, "\n"))
		if err != nil {
			t.Fatalf("the laid-out filter does not parse: %v\n%s", err, strings.Join(lines, "\n"))
		}
		orig := jsonpath2.MustParse(text)
		a, errA := orig.Match(doc)
		b, errB := laid.Match(doc)
		if errA != nil || errB != nil || len(a) != len(b) {
			t.Errorf("the laid-out filter matches %d (%v), the original %d (%v)", len(b), errB, len(a), errA)
		}
		if len(lines) < 3 {
			t.Errorf("a long filter stays on %d lines", len(lines))
		}
	}
}
