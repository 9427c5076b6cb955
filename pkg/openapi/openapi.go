// Package openapi holds the OpenAPI 3 description of the dispatcher's HTTP API — every route
// it serves, with its parameters, bodies, answers, errors and credentials — and serves it.
//
// The description is a JSON file embedded in the program, so that what is served is what
// was tested: the tests of package service validate real requests and answers against it,
// and check that every route the service registers is described.
package openapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

//go:embed openapi.json
var document []byte

// JSON returns the OpenAPI 3 description (a copy: callers may change it).
func JSON() []byte { return append([]byte(nil), document...) }

// Handler serves the description as application/json. It holds no secret and nothing of
// the deployment: it may be served without credentials.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(document)))
		_, _ = w.Write(document)
	})
}
