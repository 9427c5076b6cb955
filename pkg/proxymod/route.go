package proxymod

import (
	_ "embed"
	"sync"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// RouteName is the name of the proxymod route, in jobs, metrics and subscriptions.
const RouteName = "proxymod"

// RouteText is the proxymod route in jsonpath2, applied to the whole event in its
// CloudEvents 0.1 form. It selects ingest events that carry, as the old dispatcher
// required (PROXYMOD.md §1), the key/values proxymod.task = "advance" and proxymod.version
// = "v0.0.1", proxymod.configs_count and the six config_1 keys; the two input CSVs
// (text/csv) named by config_1 in config_1's in_dir; at least one model (text/x-python) in
// models/; and an event id. Unlike the old route it does not look at `source`, which real
// deployments fill differently.
//
// Like the old route, it only tests that configs_count and the six config_1 key/values are
// present: their values are validated when the job runs, where a scientist gets an error
// that names the problem. A subdir and in_dir are compared ignoring one trailing slash on
// either side ("inputs/" = "inputs"): jsonpath2 has no function to strip a slash, so the
// text accepts equal values, a subdir that is in_dir plus "/", and an in_dir that is the
// subdir plus "/" (charAt(-1) and substring(0, -1) do the comparison).
//
//go:embed route.jsonpath2
var RouteText string

var route = sync.OnceValue(func() *jsonpath2.Path { return jsonpath2.MustParse(RouteText) })

// Route returns the parsed proxymod route.
func Route() *jsonpath2.Path { return route() }
