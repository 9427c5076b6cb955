// Command testsummary runs `go test -json ...` and prints what a person needs from it: the
// usual ok/FAIL line of each package, the output of each failed test, and at the end how
// many tests were skipped and why, so that a test skipped for want of a service is not
// lost among the ok lines. It exits with the status of go test.
//
// Usage (the Makefile's test target):
//
//	go run ./cmd/internal/testsummary go test -json -race ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testsummary go test -json [flags] [packages]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout)
	s.read(out)
	err = cmd.Wait()
	s.report()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
}

// event is one line of go test -json (test2json).
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

type skip struct{ pkg, test, reason string }

// summary follows the events of a go test -json run.
type summary struct {
	w       io.Writer
	outputs map[string][]string // a running test's output, by package and test
	skips   []skip
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, outputs: map[string][]string{}}
}

// read consumes the events; a line that is not an event is printed as it is.
func (s *summary) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.w, sc.Text())
			continue
		}
		s.handle(e)
	}
}

func (s *summary) handle(e event) {
	key := e.Package + "\x00" + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.w, e.Output)
	case e.Test == "" && e.Action == "output":
		// The package's own lines: ok, FAIL, "no test files", a crash outside any test.
		if !strings.HasPrefix(e.Output, "=== ") && strings.TrimSpace(e.Output) != "PASS" {
			fmt.Fprint(s.w, e.Output)
		}
	case e.Test == "":
	case e.Action == "output":
		s.outputs[key] = append(s.outputs[key], e.Output)
	case e.Action == "fail":
		for _, l := range s.outputs[key] {
			if !isFrame(l) || strings.HasPrefix(l, "--- FAIL") {
				fmt.Fprint(s.w, l)
			}
		}
		delete(s.outputs, key)
	case e.Action == "skip":
		s.skips = append(s.skips, skip{e.Package, e.Test, reason(s.outputs[key])})
		delete(s.outputs, key)
	case e.Action == "pass":
		delete(s.outputs, key)
	}
}

// isFrame reports whether a line is test2json's framing rather than the test's output.
func isFrame(l string) bool {
	t := strings.TrimSpace(l)
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// reason is what a skipped test said, on one line.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !isFrame(l) {
			parts = append(parts, t)
		}
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// report prints the skipped tests, grouped by reason.
func (s *summary) report() {
	if len(s.skips) == 0 {
		fmt.Fprintln(s.w, "no test skipped")
		return
	}
	byReason := map[string][]string{}
	for _, k := range s.skips {
		// A reason usually starts with the file:line of the t.Skip; tests sharing the rest share it.
		r := k.reason
		if i := strings.Index(r, ": "); i > 0 && strings.Contains(r[:i], ".go:") {
			r = r[i+2:]
		}
		byReason[r] = append(byReason[r], strings.TrimPrefix(k.pkg, "github.com/pacifica/pacifica-dispatcher-go/")+" "+k.test)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return len(byReason[reasons[i]]) > len(byReason[reasons[j]]) })
	fmt.Fprintln(s.w)
	fmt.Fprintf(s.w, "======== %d TESTS SKIPPED ========\n", len(s.skips))
	for _, r := range reasons {
		tests := byReason[r]
		fmt.Fprintf(s.w, "%d skipped: %s\n", len(tests), r)
		sort.Strings(tests)
		const show = 8
		for i, t := range tests {
			if i == show {
				fmt.Fprintf(s.w, "    ... and %d more\n", len(tests)-show)
				break
			}
			fmt.Fprintf(s.w, "    %s\n", t)
		}
	}
}
