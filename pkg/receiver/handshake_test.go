package receiver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The CloudEvents webhook handshake needs no credentials, grants with WebHook-Allowed-Origin
// and WebHook-Allowed-Rate only a request that asks with WebHook-Request-Origin, and answers
// the same with or without credentials, right or wrong.
func TestHandshake(t *testing.T) {
	t.Parallel()
	rc, err := New(Config{Intake: &fakeIntake{}, Auth: Auth{Type: "basic", Username: "pacifica", Password: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	rc.Register(mux)
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	cases := []struct {
		name, path          string
		header              map[string]string
		basic               string
		allow, origin, rate string
	}{
		{"handshake", "/receive", map[string]string{"WebHook-Request-Origin": "eventemitter.example.com"}, "", "OPTIONS, POST", "*", "*"},
		{"handshake asking a rate", "/receive", map[string]string{"WebHook-Request-Origin": "e.example.com", "WebHook-Request-Rate": "120"}, "", "OPTIONS, POST", "*", "*"},
		{"handshake with credentials", "/receive", map[string]string{"WebHook-Request-Origin": "e.example.com"}, "secret", "OPTIONS, POST", "*", "*"},
		{"handshake with wrong credentials", "/receive", map[string]string{"WebHook-Request-Origin": "e.example.com"}, "guess", "OPTIONS, POST", "*", "*"},
		{"handshake with a callback", "/receive", map[string]string{"WebHook-Request-Origin": "e.example.com", "WebHook-Request-Callback": "http://127.0.0.1:1/ack"}, "", "OPTIONS, POST", "*", "*"},
		{"handshake at /", "/", map[string]string{"WebHook-Request-Origin": "e.example.com"}, "", "GET, HEAD, OPTIONS, POST", "*", "*"},
		{"OPTIONS without origin", "/receive", nil, "", "OPTIONS, POST", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodOptions, tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.basic != "" {
				req.SetBasicAuth("pacifica", tc.basic)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			h := rec.Header()
			if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
				t.Errorf("answered %d %q, want 204 without a body", rec.Code, rec.Body)
			}
			if h.Get("Allow") != tc.allow || h.Get("WebHook-Allowed-Origin") != tc.origin || h.Get("WebHook-Allowed-Rate") != tc.rate {
				t.Errorf("Allow %q, WebHook-Allowed-Origin %q, WebHook-Allowed-Rate %q; want %q, %q, %q",
					h.Get("Allow"), h.Get("WebHook-Allowed-Origin"), h.Get("WebHook-Allowed-Rate"), tc.allow, tc.origin, tc.rate)
			}
			if h.Get("WWW-Authenticate") != "" {
				t.Error("the handshake asks for credentials")
			}
		})
	}
}
