package receiver

import (
	"net/http"
	"strings"
)

// Handshake answers the validation request of the CloudEvents HTTP webhook specification
// ("abuse protection"): a sender asks with OPTIONS and WebHook-Request-Origin whether it may
// deliver, and WebHook-Request-Rate at what rate. The answer grants any origin
// (WebHook-Allowed-Origin: *) at any rate (WebHook-Allowed-Rate: *), since the receiver
// authenticates every delivery instead, with Allow naming the methods of the path. It needs
// no credentials (the specification sends none) and is the same with or without them: it
// reveals nothing, neither whether credentials are configured nor anything of the jobs.
//
// WebHook-Request-Callback, the asynchronous grant, is not followed: the receiver never
// calls a URL that an unauthenticated request names. An OPTIONS request without
// WebHook-Request-Origin is not a handshake: it gets Allow alone.
//
// Allow is found by asking mux which methods it serves at the request's path, when mux can
// say (*http.ServeMux can); otherwise it is "OPTIONS, POST".
//
// cloudevents/sdk-go has a handler of its own (its HTTP protocol's OptionsHandler), but it
// belongs to the SDK's receiving protocol, which this receiver does not use, answers 400 to
// an origin it does not list, and posts to the callback URL when asked to.
func Handshake(mux Mux) http.Handler {
	finder, _ := mux.(handlerFinder)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Allow", allowed(finder, r))
		if r.Header.Get("WebHook-Request-Origin") != "" {
			h.Set("WebHook-Allowed-Origin", "*")
			h.Set("WebHook-Allowed-Rate", "*")
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// probed are the methods Allow may name.
var probed = []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions,
	http.MethodPatch, http.MethodPost, http.MethodPut}

// handlerFinder finds the handler of a request, as *http.ServeMux does: pattern "" when
// none serves it.
type handlerFinder interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// allowed lists the methods finder serves at r's path.
func allowed(finder handlerFinder, r *http.Request) string {
	if finder == nil {
		return "OPTIONS, POST"
	}
	var out []string
	for _, m := range probed {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := finder.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}
