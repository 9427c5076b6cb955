package service

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// routeMux is the service's ServeMux. It records the patterns registered on it, so that a
// test can check that the API description (package openapi) covers every route.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// muxErrorWriter answers in JSON, with the status API's error object, what the mux itself
// answers in plain text: 404 for a path that no route serves and 405 for a method that the
// path does not serve (keeping the mux's Allow). Answers of the routes' own handlers, which
// set r.Pattern, pass unchanged, and so do the mux's redirects.
type muxErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

// maxEchoedPath bounds the path that a 404 or 405 answer quotes.
const maxEchoedPath = 200

func (w *muxErrorWriter) WriteHeader(code int) {
	if w.replaced || w.r.Pattern != "" || (code != http.StatusNotFound && code != http.StatusMethodNotAllowed) {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	path := w.r.URL.Path
	if len(path) > maxEchoedPath {
		path = path[:maxEchoedPath] + "…"
	}
	msg := fmt.Sprintf("no route serves %q; the API is described at GET /openapi.json", path)
	if code == http.StatusMethodNotAllowed {
		allow := w.Header().Get("Allow")
		msg = fmt.Sprintf("%s is not served at %q: use %s (the API is described at GET /openapi.json)",
			w.r.Method, path, strings.ReplaceAll(allow, ", ", " or "))
	}
	statusapi.WriteError(w.ResponseWriter, code, msg)
}

// Write drops the mux's plain-text body once the answer is replaced.
func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *muxErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
