package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runRoutes prints the routes the configuration gives the service (the proxymod route and
// one per script of SCRIPT_DIR), as GET /routes shows them, without starting anything.
func runRoutes(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("routes", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the routes as JSON (name, kind, queue, program, jsonpath)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher routes [--json]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Prints the routes of the current configuration (SCRIPT_DIR, DISPATCHER_K8S_CONFIG):")
		fmt.Fprintln(fs.Output(), "each route's name, handler kind, the RabbitMQ queue its jobs go to, the script it")
		fmt.Fprintln(fs.Output(), "runs, and its jsonpath2 filter, laid out on several lines. A script whose")
		fmt.Fprintln(fs.Output(), "configuration is wrong is reported, named, with exit status 1.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "routes: unexpected argument %q\n", pos[0])
		return 2
	}
	cfg, err := service.Load()
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	table, scr, err := service.LoadRoutes(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	programs := map[string]string{}
	for _, s := range scr {
		programs["script."+s.Name] = s.Program
	}
	type view struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Queue   string `json:"queue"`
		Program string `json:"program,omitempty"`
		Filter  string `json:"jsonpath"`
	}
	var out []view
	for _, r := range table.Routes() {
		out = append(out, view{Name: r.Name, Kind: r.Kind, Queue: cfg.JobsQueue(), Program: programs[r.Name], Filter: r.Filter.String()})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	for i, v := range out {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s\n  kind:    %s\n  queue:   %s\n", v.Name, v.Kind, v.Queue)
		if v.Program != "" {
			fmt.Fprintf(stdout, "  program: %s\n", v.Program)
		}
		fmt.Fprintln(stdout, "  filter:")
		for _, line := range layOutFilter(v.Filter, 96) {
			fmt.Fprintln(stdout, "    "+line)
		}
	}
	return 0
}

// layOutFilter lays a jsonpath2 filter out for reading: a filter written on several lines
// keeps its lines; a longer line is broken before each "and" and "or" outside string
// literals, indented by its bracket depth. Only white space outside literals changes, so
// the text still parses to the same filter.
func layOutFilter(text string, width int) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if len(line) <= width {
			out = append(out, line)
			continue
		}
		out = append(out, breakLine(line)...)
	}
	return out
}

// breakLine breaks one line of a filter before its "and"/"or" operators.
func breakLine(line string) []string {
	lead := len(line) - len(strings.TrimLeft(line, " \t"))
	indent := line[:lead]
	var (
		out   []string
		cur   strings.Builder
		depth int
		quote byte
	)
	for i := lead; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(line) {
				cur.WriteByte(c)
				i++
				c = line[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ' ':
			rest := line[i+1:]
			if strings.HasPrefix(rest, "and ") || strings.HasPrefix(rest, "or ") {
				out = append(out, indent+strings.TrimRight(cur.String(), " "))
				cur.Reset()
				cur.WriteString(strings.Repeat("  ", max(depth, 1)))
				continue
			}
		}
		cur.WriteByte(c)
	}
	return append(out, indent+strings.TrimRight(cur.String(), " "))
}
