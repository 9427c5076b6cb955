package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runRoutes prints the routes the configuration gives the service (the proxymod route and
// one per script of SCRIPT_DIR), as GET /routes shows them, without starting anything.
func runRoutes(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	asJSON := len(args) == 1 && args[0] == "--json"
	if len(args) > 0 && !asJSON {
		fmt.Fprintln(stderr, "Usage: dispatcher routes [--json]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints the routes of the current configuration (SCRIPT_DIR, DISPATCHER_K8S_CONFIG):")
		fmt.Fprintln(stderr, "each route's name, handler kind and jsonpath2 filter. A script whose configuration")
		fmt.Fprintln(stderr, "is wrong is reported, named, with exit status 1.")
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
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
		Program string `json:"program,omitempty"`
		Filter  string `json:"jsonpath"`
	}
	var out []view
	for _, r := range table.Routes() {
		out = append(out, view{Name: r.Name, Kind: r.Kind, Program: programs[r.Name], Filter: r.Filter.String()})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	for _, v := range out {
		what := v.Kind
		if v.Program != "" {
			what += " " + v.Program
		}
		fmt.Fprintf(stdout, "%s (%s)\n    %s\n", v.Name, what, strings.Join(strings.Fields(v.Filter), " "))
	}
	return 0
}
