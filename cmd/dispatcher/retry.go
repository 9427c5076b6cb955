package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runRetry queues failed or cancelled jobs again, through a running service's API
// (POST /jobs/retry), with the operator credentials of the environment.
func runRetry(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8069", "the service's base URL")
	state := fs.String("state", "failed", "failed, cancelled, or all (both)")
	route := fs.String("route", "", "only the jobs of this route")
	since := fs.String("since", "", "only jobs whose event was received at or after this time (RFC 3339)")
	until := fs.String("until", "", "only jobs whose event was received before this time (RFC 3339)")
	errText := fs.String("error", "", "only jobs whose error holds this text (any case)")
	limit := fs.Int("limit", 1000, "most jobs retried by this call (at most 10000)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dispatcher retry [--url URL] [--state failed|cancelled|all] [--route R] [--since T] [--until T] [--error TEXT] [--limit N]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Queues again the failed (or cancelled) jobs the filter selects, oldest first, through the")
		fmt.Fprintln(stderr, "service's POST /jobs/retry, with the operator credentials of ADMIN_AUTH_* (or *_FILE).")
		fmt.Fprintln(stderr, "Each keeps what earlier attempts uploaded. Prints the ids retried.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitCodeForFlagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "retry: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *state == "all" {
		*state = ""
	}
	cfg, err := service.Load()
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	body, _ := json.Marshal(map[string]any{"state": *state, "route": *route, "since": *since, "until": *until,
		"error": *errText, "limit": *limit})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/jobs/retry", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(stderr, "retry:", err)
		return 2
	}
	req.Header.Set("Content-Type", "application/json")
	switch a := cfg.AdminAuth(); a.Type {
	case "basic":
		req.SetBasicAuth(a.Username, a.Password)
	case "header":
		req.Header.Set("Authorization", a.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "retry:", err)
		return 1
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		fmt.Fprintf(stderr, "retry: %s: %s\n", resp.Status, e.Error)
		return 1
	}
	var out struct {
		Retried int      `json:"retried"`
		IDs     []string `json:"ids"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		fmt.Fprintln(stderr, "retry: unexpected answer:", err)
		return 1
	}
	for _, id := range out.IDs {
		fmt.Fprintln(stdout, id)
	}
	fmt.Fprintf(stderr, "%d jobs queued again\n", out.Retried)
	return 0
}
