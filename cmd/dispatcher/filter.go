package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

const filterUsage = `Usage: dispatcher filter FILTER [FILE]

Evaluates the jsonpath2 FILTER (the language of Pacifica subscriptions and routes) on the
JSON document in FILE, or on standard input when FILE is absent or "-", and prints the
matched values as one compact JSON array, in document order, keys in document order.

Exit status: 0 when something matched, 1 when nothing did (it prints []), 2 when the
filter does not parse, the document is not JSON, or the arguments are wrong.

Example:
  dispatcher filter "$(cat pkg/proxymod/route.jsonpath2)" testdata/proxymod-event/event.json
`

// runFilter implements `dispatcher filter`.
func runFilter(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, filterUsage)
		return 0
	}
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprint(stderr, filterUsage)
		return 2
	}
	expr := args[0]
	p, err := jsonpath2.Parse(expr)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: the filter does not parse: %v\n", err)
		var se *jsonpath2.SyntaxError
		if errors.As(err, &se) {
			fmt.Fprint(stderr, caret(expr, se.Line, se.Column))
		}
		return 2
	}
	name, in := "standard input", stdin
	if len(args) == 2 && args[1] != "-" {
		f, err := os.Open(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "dispatcher filter: %v\n", err)
			return 2
		}
		defer f.Close()
		name, in = args[1], f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: reading %s: %v\n", name, err)
		return 2
	}
	doc, err := jsonpath2.Decode(data)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: %s is not a JSON document: %v\n", name, err)
		return 2
	}
	got, err := p.Match(doc)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: evaluating the filter: %v\n", err)
		return 2
	}
	out, err := jsonpath2.Encode(got)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s\n", out)
	if len(got) == 0 {
		return 1
	}
	return 0
}

// caret shows the filter's offending line with a caret under the column.
func caret(expr string, line, col int) string {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	l := lines[line-1]
	pad := []rune(l)
	if col > len(pad) {
		col = len(pad)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s\n  ", l)
	for _, r := range pad[:col] {
		if r == '\t' {
			b.WriteRune('\t')
		} else {
			b.WriteRune(' ')
		}
	}
	b.WriteString("^\n")
	return b.String()
}
