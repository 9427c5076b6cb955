// Package route decides which jobs an event makes: a route is a name, a jsonpath2 filter and
// the kind of handler that runs its jobs.
//
// An event makes one job per matching route (the old Python dispatchers ran only the first
// match). Events that are this service's own uploads — they carry the lineage key/value
// `Transactions._id` (the key/value Pacifica uploads use to link a result to its source transaction) — match no route unless the route opts in, so the
// dispatcher never processes its own output in a loop.
package route
