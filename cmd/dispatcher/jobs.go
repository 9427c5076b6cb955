package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

const jobsUsage = `Usage: dispatcher jobs <subcommand> [flags]

Subcommands, through a running service's status API:
  list              the jobs, newest first, as a table (--json: the API's answer)
  show ID           one job: its event, attempts, error, outputs and log
  retry ID...       queue failed or cancelled jobs again (operator credentials)
  retry [filter]    without an ID: every failed job the filter selects (--state,
                    --route, --since, --until, --error, --limit)
  cancel ID...      cancel queued or running jobs (operator credentials)

Where the service is: --url, else $DISPATCHER_URL, else http://127.0.0.1:<port of
LISTEN_ADDR> (the service's own setting, default :8069).

Credentials, the first set of: --auth-basic USER:PASSWORD or --auth-header "TYPE CREDS";
$DISPATCHER_AUTH_BASIC or $DISPATCHER_AUTH_HEADER (kept out of the process list: prefer
them to the flags); the service's own settings, as it reads them (with their *_FILE forms):
READ_AUTH_* for list and show (else ADMIN_AUTH_*, which also read), ADMIN_AUTH_* for
retry and cancel.

Run "dispatcher jobs <subcommand> --help" for a subcommand's flags.
`

// runJobs implements `dispatcher jobs <subcommand>`.
func runJobs(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, jobsUsage)
		return 2
	}
	sub := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"list": runJobsList, "show": runJobsShow, "cancel": runJobsCancel,
		"retry": func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runJobsRetry(ctx, args, nil, stdout, stderr)
		},
	}
	switch name := args[0]; {
	case name == "help" && len(args) > 1 && sub[args[1]] != nil:
		return sub[args[1]](ctx, []string{"--help"}, stdout, stderr)
	case name == "help" || wantsHelp(args[:1]):
		fmt.Fprint(stdout, jobsUsage)
		return 0
	case sub[name] != nil:
		return sub[name](ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "dispatcher jobs: unknown subcommand %q\n\n%s", name, jobsUsage)
		return 2
	}
}

// apiFlags are the flags every jobs subcommand takes: where the service is and who asks.
type apiFlags struct {
	url, authBasic, authHeader string
	timeout                    time.Duration
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "the service's base URL (default $DISPATCHER_URL, else http://127.0.0.1:<port of LISTEN_ADDR>)")
	fs.StringVar(&f.authBasic, "auth-basic", "", "USER:PASSWORD to send (default $DISPATCHER_AUTH_BASIC, else the service's settings)")
	fs.StringVar(&f.authHeader, "auth-header", "", `the whole Authorization value to send, "TYPE CREDENTIALS" (default $DISPATCHER_AUTH_HEADER)`)
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "time allowed for each request")
}

// apiClient talks to a running service's status API.
type apiClient struct {
	base string
	// auth is the Authorization value sent ("" none); authFrom says where it came from.
	auth, authFrom string
	http           *http.Client
}

// client builds the API client of a subcommand. operator: the request needs the operator
// credentials (retry, cancel) rather than the read credentials.
func (f *apiFlags) client(operator bool) (*apiClient, error) {
	c := &apiClient{http: &http.Client{Timeout: f.timeout}}
	base := firstOf(f.url, os.Getenv("DISPATCHER_URL"))
	basic, header := f.authBasic, f.authHeader
	c.authFrom = "--auth-basic or --auth-header"
	if basic == "" && header == "" {
		basic, header = os.Getenv("DISPATCHER_AUTH_BASIC"), os.Getenv("DISPATCHER_AUTH_HEADER")
		c.authFrom = "DISPATCHER_AUTH_BASIC or DISPATCHER_AUTH_HEADER"
	}
	switch {
	case basic != "" && header != "":
		return nil, errors.New("give basic credentials or an Authorization header, not both")
	case basic != "":
		u, p, ok := strings.Cut(basic, ":")
		if !ok || u == "" || p == "" {
			return nil, errors.New("basic credentials: want USER:PASSWORD")
		}
		c.auth = authorization(receiver.Auth{Type: "basic", Username: u, Password: p})
	case header != "":
		if len(strings.Fields(header)) != 2 {
			return nil, errors.New(`the Authorization header: want "TYPE CREDENTIALS", e.g. "Bearer xyz"`)
		}
		c.auth = header
	}
	if c.auth == "" || base == "" {
		// The service's own settings: its address and credentials.
		cfg, err := service.Load()
		if err != nil {
			return nil, fmt.Errorf("reading the service's settings for its address and credentials: %w", err)
		}
		if base == "" {
			base = localURL(cfg.ListenAddr)
		}
		if c.auth == "" {
			a, from := cfg.AdminAuth(), "ADMIN_AUTH_*"
			if r := cfg.ReadAuth(); !operator && r.Enabled() {
				a, from = r, "READ_AUTH_*"
			}
			c.auth, c.authFrom = authorization(a), from
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the service's URL %q: want http://host:port or https://host:port", base)
	}
	c.base = strings.TrimRight(base, "/")
	return c, nil
}

// localURL is the URL of a service listening on addr (LISTEN_ADDR) on this machine.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8069"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// authorization is the Authorization value of a, "" when it sends nothing.
func authorization(a receiver.Auth) string {
	switch a.Type {
	case "basic":
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(a.Username, a.Password)
		return r.Header.Get("Authorization")
	case "header":
		return a.Header
	}
	return ""
}

// apiError is an error answer of the API, said for the person who must act.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// call sends a request to the API and decodes its JSON answer into out (nil: ignored).
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the dispatcher at %s (is it running? --url or DISPATCHER_URL says where): %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, c.base+path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return &apiError{status: resp.StatusCode, msg: c.explain(resp.StatusCode, e.Error)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what this dispatcher expects (%v): is %s a dispatcher?", method, path, err, c.base)
	}
	return nil
}

// explain turns an error answer into what to do about it.
func (c *apiClient) explain(status int, msg string) string {
	switch status {
	case http.StatusUnauthorized:
		if c.auth == "" {
			return fmt.Sprintf("%s (401): no credentials were sent: give them with --auth-basic, --auth-header, "+
				"DISPATCHER_AUTH_BASIC/DISPATCHER_AUTH_HEADER, or the service's READ_AUTH_*/ADMIN_AUTH_* settings", msg)
		}
		return fmt.Sprintf("%s (401): the credentials of %s were refused", msg, c.authFrom)
	case http.StatusForbidden:
		return fmt.Sprintf("%s (403)", msg)
	case http.StatusNotFound:
		return fmt.Sprintf("%s (404)", msg)
	}
	return fmt.Sprintf("%s (%d %s)", msg, status, http.StatusText(status))
}

// exitFor prints err and returns the exit status of a failed request: 1.
func exitFor(stderr io.Writer, sub string, err error) int {
	fmt.Fprintf(stderr, "dispatcher jobs %s: %v\n", sub, err)
	return 1
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
