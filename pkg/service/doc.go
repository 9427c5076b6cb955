// Package service assembles the dispatcher from its parts — configuration, the job store,
// the broker, the routes, the receiver, the status API, the workers, metrics and health —
// and runs it until its context ends, then shuts it down in order: stop taking input,
// drain in-flight work, close the broker and the database pool.
package service
