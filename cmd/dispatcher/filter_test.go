package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFilterCommand(t *testing.T) {
	t.Parallel()
	sample := filepath.Join("..", "..", "testdata", "proxymod-event", "event.json")
	route, err := os.ReadFile(filepath.Join("..", "..", "pkg", "proxymod", "route.jsonpath2"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"a":`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    string // exact, when set
		stdoutHas string
		stderrHas []string
	}{
		{name: "values from stdin", args: []string{`$.a[*]`}, stdin: `{"a":[3,"x",{"z":1,"b":2}]}`, code: 0,
			stdout: "[3,\"x\",{\"z\":1,\"b\":2}]\n"},
		{name: "stdin as dash", args: []string{`$.a`, "-"}, stdin: `{"a":1}`, code: 0, stdout: "[1]\n"},
		{name: "no match", args: []string{`$.b`}, stdin: `{"a":1}`, code: 1, stdout: "[]\n"},
		{name: "proxymod route on the sample file", args: []string{string(route), sample}, code: 0,
			stdoutHas: `"eventID":"C234-1234-1234"`},
		{name: "files of the sample", args: []string{`$["data"][*][?(@["destinationTable"] = "Files")]["name"]`, sample}, code: 0,
			stdout: "[\"in_file_one.csv\",\"in_file_two.csv\",\"loose_coupling.py\",\"tight_coupling_twoway.py\",\"tight_coupling.py\"]\n"},
		{name: "parse error with position", args: []string{`$[?(@.a == 1)]`}, stdin: `{}`, code: 2,
			stderrHas: []string{"line 1:9", "$[?(@.a == 1)]", "\n           ^"}},
		{name: "not JSON", args: []string{`$`, bad}, code: 2, stderrHas: []string{bad, "not a JSON document"}},
		{name: "missing file", args: []string{`$`, "/nonexistent/x.json"}, code: 2, stderrHas: []string{"/nonexistent/x.json"}},
		{name: "no arguments", args: nil, code: 2, stderrHas: []string{"Usage: dispatcher filter"}},
		{name: "help", args: []string{"-h"}, code: 0, stdoutHas: "Exit status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runFilter(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if tc.stdoutHas != "" && !strings.Contains(stdout.String(), tc.stdoutHas) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.stdoutHas)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
		})
	}
}
