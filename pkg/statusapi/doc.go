// Package statusapi serves the state of jobs over HTTP: the dispatcher's own API
// (GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel, POST /jobs/{id}/retry) and, for
// existing clients, the Python dispatcher's API (GET /status/{id}, GET /get/{id}, GET /),
// with its shapes and status strings mapped from the job states.
package statusapi
