package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// dispatcher retry sends its filter to POST /jobs/retry with the operator's credentials
// and prints the ids retried; an error answer is printed and exits 1.
func TestRetryCommand(t *testing.T) {
	var got map[string]any
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/jobs/retry" {
			http.NotFound(w, r)
			return
		}
		user, pass, _ = r.BasicAuth()
		_ = json.NewDecoder(r.Body).Decode(&got)
		if got["route"] == "nope" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error": "no such thing"}`))
			return
		}
		_, _ = w.Write([]byte(`{"retried": 2, "ids": ["a", "b"]}`))
	}))
	defer srv.Close()
	t.Setenv("ADMIN_AUTH_TYPE", "basic")
	t.Setenv("ADMIN_AUTH_USERNAME", "ops")
	t.Setenv("ADMIN_AUTH_PASSWORD", "s3cret")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"retry", "--url", srv.URL, "--state", "all", "--route", "proxymod",
		"--since", "2026-12-01T00:00:00Z", "--error", "cartd"}, nil, &out, &errOut)
	if code != 0 || out.String() != "a\nb\n" || !strings.Contains(errOut.String(), "2 jobs queued again") {
		t.Fatalf("retry: %d %q %q", code, out.String(), errOut.String())
	}
	if got["state"] != "" || got["route"] != "proxymod" || got["since"] != "2026-12-01T00:00:00Z" || got["error"] != "cartd" ||
		got["limit"] != float64(1000) || user != "ops" || pass != "s3cret" {
		t.Errorf("request %v as %s:%s", got, user, pass)
	}
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"retry", "--url", srv.URL, "--route", "nope"}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "no such thing") {
		t.Errorf("an error answer: %d %q", code, errOut.String())
	}
}
