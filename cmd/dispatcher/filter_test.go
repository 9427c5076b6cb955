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
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"a":`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    string   // exact, when set
		stdoutHas []string // parts, when set
		stderr    string   // exact, when set
		stderrHas []string
	}{
		{name: "values from stdin, order kept", args: []string{`$.a[*]`}, stdin: `{"a":[3,"x",{"z":1,"b":2.50}]}`, code: 0,
			stdout: "[3,\"x\",{\"z\":1,\"b\":2.50}]\n"},
		{name: "stdin named -", args: []string{`$.a`, "-"}, stdin: `{"a":1}`, code: 0, stdout: "[1]\n"},
		{name: "no match prints []", args: []string{`$.b`}, stdin: `{"a":1}`, code: 1, stdout: "[]\n"},
		{name: "no match on a file", args: []string{`$[?(@.eventType = "org.pacifica.metadata.orm")]`, sample}, code: 1, stdout: "[]\n"},
		{name: "the proxymod route on the sample file", args: []string{string(route), sample}, code: 0,
			stdoutHas: []string{`[{"cloudEventsVersion":"0.1",`, `"eventID":"C234-1234-1234"`}},
		{name: "names of the sample's files", args: []string{`$["data"][*][?(@["destinationTable"] = "Files")]["name"]`, sample}, code: 0,
			stdout: "[\"in_file_one.csv\",\"in_file_two.csv\",\"loose_coupling.py\",\"tight_coupling_twoway.py\",\"tight_coupling.py\"]\n"},
		{name: "parse error with a caret", args: []string{`$[?(@.a == 1)]`}, stdin: `{}`, code: 2,
			stderr: "dispatcher filter: the filter does not parse: line 1:9 extraneous input '=' expecting {'@', '$', 'true', 'false', 'null', '{', '[', STRING, NUMBER}\n" +
				"  $[?(@.a == 1)]\n" +
				"           ^\n"},
		{name: "parse error on the second line", args: []string{"$[?(@.a = 1\n\tand @.b = ')]"}, code: 2,
			stderrHas: []string{"line 2:11 token recognition error at: '''", "\n  \tand @.b = ')]\n  \t          ^\n"}},
		{name: "parse error before reading the file", args: []string{`$.é`, "/nonexistent/x.json"}, code: 2,
			stderrHas: []string{"line 1:2"}},
		{name: "not JSON", args: []string{`$`, bad}, code: 2, stderrHas: []string{bad + " is not a JSON document", "unexpected EOF"}},
		{name: "not JSON on stdin", args: []string{`$`}, stdin: `{"a":1} trailing`, code: 2, stderrHas: []string{"standard input is not a JSON document"}},
		{name: "missing file", args: []string{`$`, "/nonexistent/x.json"}, code: 2, stderrHas: []string{"/nonexistent/x.json", "no such file"}},
		{name: "a directory", args: []string{`$`, dir}, code: 2, stderrHas: []string{"reading " + dir}},
		{name: "evaluation error", args: []string{`$[::0]`}, stdin: `[1]`, code: 2, stderrHas: []string{"slice step cannot be zero"}},
		{name: "no arguments", args: nil, code: 2, stderrHas: []string{"Usage: dispatcher filter"}},
		{name: "too many arguments", args: []string{`$`, "a", "b"}, code: 2, stderrHas: []string{"Usage: dispatcher filter"}},
		{name: "unknown flag", args: []string{"-x", "$"}, code: 2, stderrHas: []string{"Usage: dispatcher filter"}},
		{name: "help", args: []string{"-h"}, code: 0, stdoutHas: []string{"Usage: dispatcher filter", "Exit status"}},
		{name: "long help", args: []string{"--help"}, code: 0, stdoutHas: []string{"Usage: dispatcher filter"}},
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
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout %q lacks %q", stdout.String(), s)
				}
			}
			if tc.stderr != "" && stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
			if code == 2 && stdout.Len() > 0 {
				t.Errorf("a failure printed %q on stdout", stdout.String())
			}
		})
	}
}
