package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// receive posts the sample event under another event id and returns its job's id.
func (s *testService) receive(t *testing.T, eventID string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["eventID"] = eventID
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/receive", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(s.cfg.ReceiverAuthUsername, s.cfg.ReceiverAuthPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted || len(out.Jobs) != 1 {
		t.Fatalf("POST /receive: %d %v %+v", resp.StatusCode, err, out)
	}
	return out.Jobs[0].ID
}

// cli runs the dispatcher command line and returns its exit status and output.
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// dispatcher jobs list|show|retry|cancel against a running service, with the credentials
// the service's own settings give (read for list and show, operator for the changes), and
// the errors an operator meets: wrong credentials, an unknown job, no service.
func TestJobsCommands(t *testing.T) {
	s := startService(t)
	// The command reads the credentials as the service does, from the environment.
	t.Setenv("ADMIN_AUTH_USERNAME", s.cfg.AdminAuthUsername)
	t.Setenv("ADMIN_AUTH_PASSWORD", s.cfg.AdminAuthPassword)
	t.Setenv("READ_AUTH_USERNAME", s.cfg.ReadAuthUsername)
	t.Setenv("READ_AUTH_PASSWORD", s.cfg.ReadAuthPassword)
	t.Setenv("DISPATCHER_URL", s.base)
	a, b := s.receive(t, "cli-a"), s.receive(t, "cli-b")

	// The jobs are recorded once PostgreSQL is migrated: wait until both are listed.
	var out, errOut string
	var code int
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errOut = cli("jobs", "list")
		if code == 0 && strings.Contains(out, a) && strings.Contains(out, b) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	row := regexp.MustCompile(`(?m)^` + a + `\s+queued\s+proxymod\s+0/\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	if code != 0 || !strings.HasPrefix(out, "ID ") || !row.MatchString(out) || !strings.Contains(errOut, "2 jobs") {
		t.Fatalf("jobs list: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := cli("jobs", "list", "--json", "--route", "proxymod"); code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, `"id": "`+b+`"`) {
		t.Errorf("jobs list --json: %d %s", code, out)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if code, out, _ := cli("jobs", "list", "--since", future); code != 0 || strings.Contains(out, a) {
		t.Errorf("jobs list --since %s: %d %s", future, code, out)
	}
	if code, out, _ := cli("jobs", "list", "--state", "cancelled"); code != 0 || strings.Contains(out, a) {
		t.Errorf("jobs list --state cancelled: %d %s", code, out)
	}
	if code, out, errOut := cli("jobs", "list", "--limit", "1"); code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "more jobs: --cursor ") {
		t.Errorf("jobs list --limit 1: %d %q %q", code, out, errOut)
	}

	code, out, errOut = cli("jobs", "show", a)
	for _, want := range []string{"job:", a, "state:", "queued", "route:", "proxymod", "event:", "cli-a (org.pacifica.metadata.ingest from "} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs show lacks %q: %d\n%s\n%s", want, code, out, errOut)
		}
	}

	if code, out, errOut := cli("jobs", "cancel", a); code != 0 || out != a+"\tcancelled\n" {
		t.Errorf("jobs cancel: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := cli("jobs", "retry", a); code != 0 || out != a+"\tqueued\n" {
		t.Errorf("jobs retry ID: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := cli("jobs", "cancel", a, b); code != 0 {
		t.Fatalf("jobs cancel a b: %d %q", code, errOut)
	}
	// Bulk, through the old name.
	code, out, errOut = cli("retry", "--state", "cancelled", "--route", "proxymod")
	if code != 0 || !strings.Contains(out, a) || !strings.Contains(out, b) || !strings.Contains(errOut, "2 jobs queued again") {
		t.Errorf("retry --state cancelled: %d %q %q", code, out, errOut)
	}

	// What goes wrong, said for the operator.
	const unknown = "00000000-0000-4000-8000-000000000000"
	if code, _, errOut := cli("jobs", "show", unknown); code != 1 || !strings.Contains(errOut, "no job "+unknown+" (404)") {
		t.Errorf("jobs show of an unknown job: %d %q", code, errOut)
	}
	if code, _, errOut := cli("jobs", "cancel", "--auth-basic", "ops:wrong", a); code != 1 || !strings.Contains(errOut, "(401): the credentials of --auth-basic or --auth-header were refused") {
		t.Errorf("jobs cancel with wrong credentials: %d %q", code, errOut)
	}
	t.Setenv("READ_AUTH_PASSWORD", "")
	t.Setenv("READ_AUTH_USERNAME", "")
	t.Setenv("ADMIN_AUTH_PASSWORD", "")
	t.Setenv("ADMIN_AUTH_USERNAME", "")
	if code, _, errOut := cli("jobs", "list"); code != 1 || !strings.Contains(errOut, "(401): no credentials were sent") {
		t.Errorf("jobs list without credentials: %d %q", code, errOut)
	}
	if code, _, errOut := cli("jobs", "list", "--url", "http://127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "cannot reach the dispatcher at http://127.0.0.1:1") {
		t.Errorf("jobs list without a service: %d %q", code, errOut)
	}
	if code, _, errOut := cli("jobs", "retry", a, "--state", "failed"); code != 2 {
		t.Errorf("jobs retry with ids and a filter: %d %q", code, errOut)
	}
}

// The service's address comes from LISTEN_ADDR when nothing else says.
func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{":8069": "http://127.0.0.1:8069", "0.0.0.0:9000": "http://127.0.0.1:9000",
		"[::]:9000": "http://127.0.0.1:9000", "10.1.2.3:8069": "http://10.1.2.3:8069", "[::1]:80": "http://[::1]:80"} {
		if got := localURL(addr); got != want {
			t.Errorf("localURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// migrate logs in LOG_FORMAT, with the build's version first, then the migrations it
// applied by name, or that the schema is up to date.
func TestMigrateCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", testsupport.Schema(t))
	t.Setenv("LOG_FORMAT", "json")
	lines := func(stderr string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("migrate logged a line that is not JSON: %q", l)
			}
			out = append(out, m)
		}
		return out
	}
	code, _, errOut := cli("migrate")
	logged := lines(errOut)
	last := logged[len(logged)-1]
	applied, _ := last["applied"].([]any)
	if code != 0 || logged[0]["msg"] != "dispatcher migrate starting" || logged[0]["version"] == "" ||
		len(applied) < 3 || applied[0] != "0001_init.sql" || !strings.HasPrefix(last["msg"].(string), "migrations applied: 0001_init.sql, ") {
		t.Fatalf("first migrate: %d %s", code, errOut)
	}
	code, _, errOut = cli("migrate")
	last = lines(errOut)[len(lines(errOut))-1]
	if want := fmt.Sprintf("schema up to date (version %v)", last["version"]); code != 0 || last["msg"] != want || last["version"] != float64(len(applied)) {
		t.Errorf("second migrate: %d %s", code, errOut)
	}
}
