package scripts

import (
	"fmt"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

// Kind is the handler kind of script routes.
const Kind = "script"

// RoutePrefix starts the name of every script route: a script named "run-fit" has the
// route "script.run-fit". The job store indexes the listing of these routes' jobs.
const RoutePrefix = jobstore.ScriptRoutes

// RouteName is the route of a script.
func RouteName(name string) string { return RoutePrefix + name }

// Routes returns one route per script, in the scripts' order, with the script's own time
// limit (script_timeout) when it has one. A script whose name cannot
// be a route name (see route.NewTable) is an error naming it.
func Routes(scripts []Script) ([]route.Route, error) {
	out := make([]route.Route, 0, len(scripts))
	for _, s := range scripts {
		r := route.Route{Name: RouteName(s.Name), Kind: Kind, Filter: s.Filter, Timeout: s.Timeout}
		if _, err := route.NewTable(r); err != nil {
			return nil, fmt.Errorf("script %q: its name cannot name a route: %w", s.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}
