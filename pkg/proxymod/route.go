package proxymod

import (
	_ "embed"
	"sync"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

// Kind is the handler kind of the proxymod route.
const Kind = "proxymod"

// Routes returns the proxymod route: its name, kind and filter (its time limit is
// PROXYMOD_TIMEOUT, the kind's default).
func Routes() []route.Route {
	return []route.Route{{Name: RouteName, Kind: Kind, Filter: Route()}}
}

// RouteName is the name of the proxymod route, in jobs, metrics and subscriptions.
const RouteName = "proxymod"

// RouteText is the proxymod route in jsonpath2. It is applied to the whole event in its
// CloudEvents 0.1 JSON form, as Pacifica notifications applies subscription filters, and
// yields the event when all of these hold:
//   - eventType is "org.pacifica.metadata.ingest", and the event has an eventID;
//   - data has the TransactionKeyValue entries proxymod.task = "advance" and
//     proxymod.version = "v0.0.1" (exact strings, case-sensitive keys and values);
//   - data has TransactionKeyValue entries, with a "value" key, for proxymod.configs_count
//     and for the six config_1 keys proxymod.config_1.PROJECT.runtime, .PROJECT.failure,
//     .INPUTS.in_dir, .INPUTS.in_file_one, .INPUTS.in_file_two and .OUTPUTS.out_dir;
//   - data has a Files entry with mimetype "text/csv" named as in_file_one's value, and one
//     named as in_file_two's value, each in the directory in_dir names (see below);
//   - data has at least one Files entry with mimetype "text/x-python" whose subdir is
//     "models/" or "models".
//
// The route does not look at the event's source, which real deployments fill differently
// from test fixtures. data may be a list or an object (its values are the entries), and
// entries of other tables, or that are not objects at all, are ignored.
//
// Values are only tested for presence, as the old Python route did: "", null, 0 and false
// count as present. The handler validates the configuration when the job runs, where a
// scientist gets an error that names the problem; a route that silently ignored a bad
// value would leave them with no answer at all.
//
// Directories: Pacifica writes a file's subdir without a trailing slash in production
// ("inputs") and with one in fixtures ("inputs/"), and users write in_dir either way.
// jsonpath2 cannot normalise a string, but its functions can compare one with another minus
// its last character, so a CSV's subdir S matches in_dir D when S = D, when S = D + "/"
// (S ends with "/" and S without it is D), or when D = S + "/" (D ends with "/" and D
// without it is S). So "inputs", "inputs/" and in_dir "/" for files at the top ("") all
// work; two or more slashes of difference ("inputs//" against "inputs") and any other
// spelling ("./inputs") do not. When the event has several entries for the same key, any
// of them can satisfy the route, while the handler uses the first: the handler's checks
// decide in that rare case.
//
//go:embed route.jsonpath2
var RouteText string

var routeFilter = sync.OnceValue(func() *jsonpath2.Path { return jsonpath2.MustParse(RouteText) })

// Route returns the proxymod route, parsed once. The *Path is safe for concurrent use.
func Route() *jsonpath2.Path { return routeFilter() }
