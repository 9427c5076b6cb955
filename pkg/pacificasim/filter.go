package pacificasim

import "github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"

// This file holds every use of jsonpath2, the filter language of subscriptions.

// filter is a parsed subscription jsonpath.
type filter struct{ path *jsonpath2.Path }

// compileFilter parses a subscription's jsonpath as notifications does on POST and PUT.
func compileFilter(expr string) (*filter, error) {
	p, err := jsonpath2.Parse(expr)
	if err != nil {
		return nil, err
	}
	return &filter{path: p}, nil
}

// filterDoc is an event decoded for filters.
type filterDoc struct{ v any }

// filterDocument decodes an event for matching.
func filterDocument(event []byte) (filterDoc, error) {
	v, err := jsonpath2.Decode(event)
	if err != nil {
		return filterDoc{}, err
	}
	return filterDoc{v: v}, nil
}

// matches reports whether the filter selects anything in the event, as notifications
// decides that a subscription wants it.
func (f *filter) matches(d filterDoc) bool { return f.path.Matches(d.v) }
