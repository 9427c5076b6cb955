package route

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// Route is one kind of work the dispatcher does for matching events.
type Route struct {
	// Name identifies the route in jobs, metrics and subscriptions. It is stable: a job's
	// identity is derived from it.
	Name string
	// Kind names the handler that runs the route's jobs ("proxymod", "script").
	Kind string
	// Filter selects the events of this route. It is evaluated on the event in its
	// CloudEvents 0.1 JSON form, exactly as Pacifica notifications evaluates subscriptions.
	Filter *jsonpath2.Path
	// OwnUploads lets the route match events that carry the lineage key/value
	// Transactions._id, that is results uploaded by this service. Off by default.
	OwnUploads bool
	// Timeout bounds one attempt of the route's jobs; zero leaves it to the kind's default
	// (PROXYMOD_TIMEOUT, SCRIPT_TIMEOUT).
	Timeout time.Duration
}

// lineageText finds the lineage key/value that marks this service's own uploads.
const lineageText = `$["data"][*][?(@["destinationTable"] = "TransactionKeyValue" and @["key"] = "Transactions._id")]`

var lineage = jsonpath2.MustParse(lineageText)

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// Table is an immutable set of routes, safe for concurrent use.
type Table struct {
	routes []Route
}

// NewTable checks the routes (names unique and well-formed, a filter and a kind each) and
// returns them as a table, in the given order.
func NewTable(routes ...Route) (*Table, error) {
	seen := make(map[string]bool, len(routes))
	var errs []error
	for i, r := range routes {
		switch {
		case !validName.MatchString(r.Name):
			errs = append(errs, fmt.Errorf("route %d: name %q: want 1-100 letters, digits, '_', '.', '-'", i+1, r.Name))
		case seen[r.Name]:
			errs = append(errs, fmt.Errorf("route %q: defined twice", r.Name))
		case r.Filter == nil:
			errs = append(errs, fmt.Errorf("route %q: no filter", r.Name))
		case r.Kind == "":
			errs = append(errs, fmt.Errorf("route %q: no handler kind", r.Name))
		}
		seen[r.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Table{routes: append([]Route(nil), routes...)}, nil
}

// Routes returns the routes in table order.
func (t *Table) Routes() []Route { return append([]Route(nil), t.routes...) }

// Lookup returns the route with the given name.
func (t *Table) Lookup(name string) (Route, bool) {
	for _, r := range t.routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// Match returns every route whose filter matches doc, a decoded event document (see
// jsonpath2.Decode), in table order.
func (t *Table) Match(doc any) []Route {
	own := IsOwnUpload(doc)
	var out []Route
	for _, r := range t.routes {
		if own && !r.OwnUploads {
			continue
		}
		if r.Filter.Matches(doc) {
			out = append(out, r)
		}
	}
	return out
}

// MatchWithin is Match within a budget of work shared by the routes: maxSteps evaluation
// steps of jsonpath2 (see jsonpath2.MaxSteps) for the lineage check and every filter
// together. Past it, it stops with an error wrapping jsonpath2.ErrLimit. It also returns the
// steps taken.
func (t *Table) MatchWithin(doc any, maxSteps int) ([]Route, int, error) {
	used := 0
	within := func(p *jsonpath2.Path) (bool, error) {
		var (
			ok  bool
			n   int
			err = jsonpath2.ErrLimit
		)
		if rest := maxSteps - used; rest > 0 {
			ok, n, err = p.MatchesWithin(doc, rest)
		}
		used += n
		if err != nil {
			return false, fmt.Errorf("routing the event takes more than %d steps: %w", maxSteps, err)
		}
		return ok, nil
	}
	own, err := within(lineage)
	if err != nil {
		return nil, used, err
	}
	var out []Route
	for _, r := range t.routes {
		if own && !r.OwnUploads {
			continue
		}
		ok, err := within(r.Filter)
		if err != nil {
			return nil, used, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, used, nil
}

// IsOwnUpload reports whether the event document carries the lineage key/value
// Transactions._id, which this service puts on every transaction it uploads.
func IsOwnUpload(doc any) bool { return lineage.Matches(doc) }
