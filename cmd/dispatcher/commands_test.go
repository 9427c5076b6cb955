package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCommands(t *testing.T) {
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
	want := "proxymod (proxymod)\n"
	if !strings.HasPrefix(out.String(), want) ||
		!strings.Contains(out.String(), "script.reduce (script "+filepath.Join(dir, "reduce")+")\n    $[?(@[\"eventType\"] = \"org.pacifica.metadata.ingest\")]\n") ||
		strings.Contains(out.String(), "hidden") {
		t.Errorf("routes printed:\n%s", out.String())
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
