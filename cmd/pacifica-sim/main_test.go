package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

const sampleEvent = "../../testdata/proxymod-event/event.json"
const sampleData = "../../testdata/proxymod-event/data"

// site is an in-process simulator with its services on test servers.
type site struct {
	sim                     *pacificasim.Sim
	ingest, cartd, metadata string
}

func newSite(t *testing.T, cfg pacificasim.Config) *site {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.StagingDelay, cfg.IngestStepDelay = time.Millisecond, -1
	sim, err := pacificasim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{sim: sim}
	for _, x := range []struct {
		dst *string
		h   http.Handler
	}{{&s.ingest, sim.IngestHandler()}, {&s.cartd, sim.CartdHandler()}, {&s.metadata, sim.MetadataHandler()}} {
		srv := httptest.NewServer(x.h)
		t.Cleanup(srv.Close)
		*x.dst = srv.URL
	}
	t.Cleanup(func() { _ = sim.Close() })
	return s
}

// runCmd runs the command line and returns its status and outputs.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUploadFromEvent(t *testing.T) {
	t.Parallel()
	s := newSite(t, pacificasim.Config{})
	code, out, errOut := runCmd(t, "upload", "--ingest", s.ingest, "--dir", sampleData, "--from-event", sampleEvent)
	if code != 0 {
		t.Fatalf("upload: exit %d, %s", code, errOut)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("upload printed %q, want the transaction id", out)
	}
	tx, ok := s.sim.Transaction(id)
	if !ok {
		t.Fatalf("transaction %d not stored", id)
	}
	// The event's fields with their JSON types, its 15 key/values, none of its Files.
	for k, want := range map[string]string{"submitter": "-1", "project": "-1", "instrument": "-1"} {
		if got := string(tx.Fields[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if len(tx.KeyValues) != 15 || tx.KeyValues[0].Key != "proxymod.task" || string(tx.KeyValues[0].Value) != `"advance"` {
		t.Errorf("key/values %+v", tx.KeyValues)
	}
	var names []string
	for _, f := range tx.Files {
		names = append(names, f.Subdir+"/"+f.Name)
	}
	if strings.Join(names, " ") != "inputs/in_file_one.csv inputs/in_file_two.csv" {
		t.Errorf("files %v, want the directory's own", names)
	}
}

func TestUploadFlagsOverride(t *testing.T) {
	t.Parallel()
	s := newSite(t, pacificasim.Config{})
	// The data list of the event, as a file of its own.
	var ev struct{ Data json.RawMessage }
	b, err := os.ReadFile(sampleEvent)
	if err != nil || json.Unmarshal(b, &ev) != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(list, ev.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "upload", "--ingest", s.ingest+"/upload", "--dir", sampleData, "--from-event", list,
		"--submitter", "10", "--project", "1234a", "--kv", "proxymod.task=retry", "--kv", "n=5", "--kv", "z=01", "--json")
	if code != 0 {
		t.Fatalf("upload: exit %d, %s", code, errOut)
	}
	var sum struct {
		TransactionID int64 `json:"transaction_id"`
		Files         []string
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	tx, ok := s.sim.Transaction(sum.TransactionID)
	if !ok {
		t.Fatalf("transaction %d not stored", sum.TransactionID)
	}
	if got := string(tx.Fields["submitter"]) + " " + string(tx.Fields["project"]) + " " + string(tx.Fields["instrument"]); got != `10 "1234a" -1` {
		t.Errorf("fields %s, want the flags over the event", got)
	}
	kv := map[string]string{}
	for _, x := range tx.KeyValues {
		kv[x.Key] = string(x.Value)
	}
	if kv["proxymod.task"] != `"retry"` || kv["n"] != "5" || kv["z"] != `"01"` || tx.KeyValues[0].Key != "proxymod.task" {
		t.Errorf("key/values %+v", tx.KeyValues)
	}
	if len(sum.Files) != 2 {
		t.Errorf("summary files %v", sum.Files)
	}
}

func TestUploadFailed(t *testing.T) {
	t.Parallel()
	s := newSite(t, pacificasim.Config{IngestPolicy: func(context.Context, pacificasim.PolicyRequest) error {
		return errors.New("unknown instrument")
	}})
	code, _, errOut := runCmd(t, "upload", "--ingest", s.ingest, sampleData, "--instrument", "54") // the directory as the README writes it
	if code != 1 || !strings.Contains(errOut, "unknown instrument") {
		t.Errorf("exit %d, stderr %q; want 1 and ingest's exception", code, errOut)
	}
}

func TestShow(t *testing.T) {
	t.Parallel()
	s := newSite(t, pacificasim.Config{})
	code, out, errOut := runCmd(t, "upload", "--ingest", s.ingest, "--dir", sampleData, "--from-event", sampleEvent, "--project", "1234a")
	if code != 0 {
		t.Fatalf("upload: exit %d, %s", code, errOut)
	}
	id := strings.TrimSpace(out)

	t.Run("text", func(t *testing.T) {
		code, out, errOut := runCmd(t, "show", id, "--metadata", s.metadata)
		if code != 0 {
			t.Fatalf("show: exit %d, %s", code, errOut)
		}
		for _, want := range []string{"transaction " + id, `project:    "1234a"`, "submitter:  -1",
			`proxymod.task = "advance"`, "inputs/in_file_one.csv  181 bytes  sha1:"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("json and extract", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := runCmd(t, "show", "--metadata", s.metadata, "--cartd", s.cartd, id, "--json", "--extract", dir)
		if code != 0 {
			t.Fatalf("show: exit %d, %s", code, errOut)
		}
		var shown shownTransaction
		if err := json.Unmarshal([]byte(out), &shown); err != nil {
			t.Fatalf("--json printed %q: %v", out, err)
		}
		if string(shown.Transaction["_id"]) != id || len(shown.KeyValues) != 15 || len(shown.Files) != 2 {
			t.Errorf("shown %+v", shown)
		}
		for _, name := range []string{"in_file_one.csv", "in_file_two.csv"} {
			got, err := os.ReadFile(filepath.Join(dir, "inputs", name))
			want, _ := os.ReadFile(filepath.Join(sampleData, "inputs", name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("extracted %s: %v", name, err)
			}
		}
	})
	t.Run("unknown transaction", func(t *testing.T) {
		code, _, errOut := runCmd(t, "show", "999", "--metadata", s.metadata)
		if code != 1 || !strings.Contains(errOut, "transaction 999 not found") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no command", nil, 2, "", "Usage: pacifica-sim"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", []string{"-h"}, 0, "Commands:", ""},
		{"serve -h", []string{"serve", "-h"}, 0, "", "Usage: pacifica-sim serve"},
		{"upload -h", []string{"upload", "-h"}, 0, "", "JSON number"},
		{"show -h", []string{"show", "-h"}, 0, "", "Usage: pacifica-sim show ID"},
		{"serve bad flag", []string{"serve", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"serve bad duration", []string{"serve", "--staging-delay", "soon"}, 2, "", "invalid value"},
		{"upload without dir", []string{"upload"}, 2, "", "give the directory to upload"},
		{"upload two dirs", []string{"upload", "a", "b"}, 2, "", `unexpected argument "b"`},
		{"upload --dir and another", []string{"upload", "--dir", "a", "b"}, 2, "", "two directories: --dir a and b"},
		{"upload bad kv", []string{"upload", "--dir", ".", "--kv", "novalue"}, 2, "", "is not key=value"},
		{"show without id", []string{"show"}, 2, "", "want one transaction id"},
		{"show non-integer id", []string{"show", "abc"}, 2, "", "is not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q",
					code, out, errOut, tc.code, tc.inStdout, tc.inStderr)
			}
		})
	}
}

func TestJSONValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"10", "10"}, {"-1", "-1"}, {"2.5", "2.5"}, {"1e3", "1e3"},
		{"1234a", `"1234a"`}, {"01", `"01"`}, {"true", `"true"`}, {"null", `"null"`},
		{"", `""`}, {" 5", `" 5"`}, {"-", `"-"`}, {`"x"`, `"\"x\""`},
	}
	for _, tc := range tests {
		if got := string(jsonValue(tc.in)); got != tc.want {
			t.Errorf("jsonValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testsupport.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--cartd", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
			"--notifications", "127.0.0.1:0", "--metadata", "127.0.0.1:0", "--data", t.TempDir(),
			"--staging-delay", "0"}, &bytes.Buffer{}, &logs)
	}()
	serving := regexp.MustCompile(`msg=serving service=(\w+) addr=(\S+)`)
	addrs := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for len(addrs) < 4 && time.Now().Before(deadline) {
		for _, m := range serving.FindAllStringSubmatch(logs.String(), -1) {
			addrs[m[1]] = m[2]
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(addrs) != 4 {
		t.Fatalf("services logged as serving: %v\n%s", addrs, logs.String())
	}
	resp, err := http.Get("http://" + addrs["cartd"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cartd answered %s", resp.Status)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(logs.String(), "pacifica-sim stopped") {
			t.Errorf("serve exit %d after cancel; logs:\n%s", code, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
