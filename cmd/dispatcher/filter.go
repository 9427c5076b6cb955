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

Evaluates the jsonpath2 FILTER (the language of Pacifica subscription filters and of the
dispatcher's routes) on the JSON document in FILE, or on standard input when FILE is
absent or "-". Prints the matched values as one compact JSON array on one line, in
document order, object keys in document order, numbers as the document wrote them.

A subscription or a route "matches" an event when this array is not empty. To try one,
give it the event as Pacifica notifications sends it (CloudEvents 0.1 JSON).

Exit status:
  0  something matched
  1  nothing matched ([] is printed)
  2  the filter does not parse (the error shows where), the document cannot be read or
     is not JSON, the evaluation failed (a slice step of 0), or the arguments are wrong

Example:
  dispatcher filter "$(cat pkg/proxymod/route.jsonpath2)" testdata/proxymod-event/event.json
`

// runFilter implements `dispatcher filter FILTER [FILE]`; args are the arguments after
// the word "filter". It returns the exit status.
func runFilter(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, filterUsage)
		return 0
	}
	if len(args) < 1 || len(args) > 2 || (strings.HasPrefix(args[0], "-") && args[0] != "-") {
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
		fmt.Fprintf(stderr, "dispatcher filter: evaluating the filter on %s: %v\n", name, err)
		return 2
	}
	out, err := jsonpath2.Encode(got)
	if err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: %v\n", err)
		return 2
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		fmt.Fprintf(stderr, "dispatcher filter: writing the result: %v\n", err)
		return 2
	}
	if len(got) == 0 {
		return 1
	}
	return 0
}

// caret shows the line of the filter that holds the error, with a caret under the column
// (counted in characters, tabs kept so that the caret lines up).
func caret(expr string, line, col int) string {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	text := []rune(strings.TrimSuffix(lines[line-1], "\r"))
	col = min(max(col, 0), len(text))
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(string(text))
	b.WriteString("\n  ")
	for _, r := range text[:col] {
		if r == '\t' {
			b.WriteRune('\t')
		} else {
			b.WriteRune(' ')
		}
	}
	b.WriteString("^\n")
	return b.String()
}
