package service

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
)

// Who may do what over HTTP. Three sets of credentials, each RECEIVER_, ADMIN_ or READ_
// AUTH_TYPE, _USERNAME, _PASSWORD and _HEADER:
//
//   - event senders (the receiver): required. An unset RECEIVER_AUTH_TYPE is not consent:
//     without credentials the receiver does not start unless RECEIVER_AUTH_TYPE=none is
//     written, and then a warning says that anyone may post events;
//   - operators (cancel, retry): without credentials operator actions are answered 403;
//     ADMIN_AUTH_TYPE=none opens them to anyone, with a warning;
//   - readers (the GET routes of the status API and /routes): open unless READ_AUTH_* is
//     set; the operator credentials also satisfy them.
//
// /healthz, /readyz, /metrics, /openapi.json (the API's description, which holds no secret)
// and the receiver's OPTIONS handshake (the same answer to anyone) are always open.

// authSet is one set of credentials as the environment gives it.
type authSet struct {
	prefix                          string // RECEIVER_AUTH, ADMIN_AUTH, READ_AUTH
	typ, username, password, header string
}

func (c Config) receiverSet() authSet {
	return authSet{"RECEIVER_AUTH", c.ReceiverAuthType, c.ReceiverAuthUsername, c.ReceiverAuthPassword, c.ReceiverAuthHeader}
}

func (c Config) adminSet() authSet {
	return authSet{"ADMIN_AUTH", c.AdminAuthType, c.AdminAuthUsername, c.AdminAuthPassword, c.AdminAuthHeader}
}

func (c Config) readSet() authSet {
	return authSet{"READ_AUTH", c.ReadAuthType, c.ReadAuthUsername, c.ReadAuthPassword, c.ReadAuthHeader}
}

// resolve returns the authentication the set asks for: Type "" when nothing is set, "none"
// when it is written, otherwise basic or header (taken from the credentials when _TYPE is
// empty). The errors name the variable.
func (a authSet) resolve() (receiver.Auth, []error) {
	var errs []error
	bad := func(suffix, format string, args ...any) {
		errs = append(errs, fmt.Errorf("configuration: %s_%s: %s", a.prefix, suffix, fmt.Sprintf(format, args...)))
	}
	typ := strings.ToLower(strings.TrimSpace(a.typ))
	basicSet := a.username != "" || a.password != ""
	switch typ {
	case "":
		switch {
		case basicSet && a.header != "":
			bad("TYPE", "not set, and both %s_USERNAME/PASSWORD and %s_HEADER are: set it to basic or header", a.prefix, a.prefix)
			return receiver.Auth{}, errs
		case basicSet:
			typ = "basic"
		case a.header != "":
			typ = "header"
		}
	case "none":
		if basicSet || a.header != "" {
			bad("TYPE", "none, but credentials (%s_USERNAME, _PASSWORD or _HEADER) are set: remove them, or set it to basic or header", a.prefix)
		}
	}
	auth := receiver.Auth{Type: typ, Username: a.username, Password: a.password, Header: a.header}
	switch typ {
	case "", "none":
	case "basic":
		if a.username == "" {
			bad("USERNAME", "empty: basic authentication needs a user name")
		} else if strings.Contains(a.username, ":") {
			bad("USERNAME", "holds ':', which basic authentication cannot carry in a user name")
		}
		if a.password == "" {
			bad("PASSWORD", "empty: basic authentication needs a password (an empty one would let in anyone who knows the user name)")
		}
	case "header":
		if len(strings.Fields(a.header)) != 2 {
			bad("HEADER", "want \"<type> <credentials>\", both not empty, e.g. \"Bearer xyz\"")
		}
	default:
		bad("TYPE", "%q: want basic, header or none", a.typ)
	}
	return auth, errs
}

// validateAuth checks the three sets of credentials.
func (c Config) validateAuth() []error {
	var errs []error
	for _, set := range []authSet{c.receiverSet(), c.adminSet(), c.readSet()} {
		_, e := set.resolve()
		errs = append(errs, e...)
	}
	return errs
}

// ReceiverAuth is the sender authentication of the receiver (Type "" when not set).
func (c Config) ReceiverAuth() receiver.Auth { a, _ := c.receiverSet().resolve(); return a }

// AdminAuth is the authentication of operator actions (Type "" when not set: operator
// actions are disabled).
func (c Config) AdminAuth() receiver.Auth { a, _ := c.adminSet().resolve(); return a }

// ReadAuth is the authentication of the read endpoints (Type "" or "none": open).
func (c Config) ReadAuth() receiver.Auth { a, _ := c.readSet().resolve(); return a }

// formSecret keys the tokens of the jobs web page's operator forms: the operator
// credentials' secret, which every process of a deployment shares and another site does
// not know (nil when there is none: each process then takes a random key).
func (c Config) formSecret() []byte {
	switch a := c.AdminAuth(); a.Type {
	case "basic":
		return []byte("basic\x00" + a.Username + "\x00" + a.Password)
	case "header":
		return []byte("header\x00" + a.Header)
	}
	return nil
}

// adminDisabled is the 403 answer's error when operator actions are not configured.
const adminDisabled = "operator actions are disabled: no operator credentials are configured. Set ADMIN_AUTH_TYPE=basic " +
	"with ADMIN_AUTH_USERNAME and ADMIN_AUTH_PASSWORD, or ADMIN_AUTH_TYPE=header with ADMIN_AUTH_HEADER (each also as " +
	"<NAME>_FILE), and restart the dispatcher; ADMIN_AUTH_TYPE=none lets anyone who can reach it cancel and retry jobs"

// errReceiverAuthUnset stops the start of a receiver whose sender authentication is not set.
var errReceiverAuthUnset = errors.New("configuration: RECEIVER_AUTH_TYPE: not set, and no sender credentials are: " +
	"set RECEIVER_AUTH_TYPE=basic with RECEIVER_AUTH_USERNAME and RECEIVER_AUTH_PASSWORD, or RECEIVER_AUTH_TYPE=header " +
	"with RECEIVER_AUTH_HEADER (each also as <NAME>_FILE; give notifications the same with dispatcher subscribe " +
	"--auth-basic or --auth-header), or write RECEIVER_AUTH_TYPE=none to let anyone who can reach the receiver post events")

// CheckAccess reports what stops a process of this configuration from serving: a receiver
// (ROLE all or receiver) whose sender authentication is not set. Load does not check it,
// since the commands that do not serve (migrate, routes, subscribe) need no receiver.
func (c Config) CheckAccess() error {
	if c.Role != RoleWorker && c.ReceiverAuth().Type == "" {
		return errReceiverAuthUnset
	}
	return nil
}

// AccessSummary describes, one line each, who may post events, act on jobs and read them,
// and whether each line is a warning (something opened to anyone).
func (c Config) AccessSummary() (lines []string, warn []bool) {
	add := func(w bool, format string, args ...any) {
		lines, warn = append(lines, fmt.Sprintf(format, args...)), append(warn, w)
	}
	if c.Role != RoleWorker {
		switch a := c.ReceiverAuth(); a.Type {
		case "none":
			add(true, "the receiver accepts events from anyone who can reach it (RECEIVER_AUTH_TYPE=none)")
		case "":
			add(true, "the receiver's sender authentication is not set (RECEIVER_AUTH_TYPE): it will not start")
		default:
			add(false, "event senders: %s authentication", a.Type)
		}
	}
	switch a := c.AdminAuth(); a.Type {
	case "none":
		add(true, "operator actions (cancel, retry) are open to anyone who can reach the service (ADMIN_AUTH_TYPE=none)")
	case "":
		add(false, "operator actions: disabled, answered 403 (set ADMIN_AUTH_* to enable them)")
	default:
		add(false, "operator actions: %s authentication", a.Type)
	}
	switch a := c.ReadAuth(); a.Type {
	case "", "none":
		add(false, "read endpoints (jobs, events, logs, routes, the jobs web page /ui/): open (set READ_AUTH_* to require credentials)")
	default:
		add(false, "read endpoints and the jobs web page /ui/: %s authentication (the operator credentials also read)", a.Type)
	}
	if c.DebugListenAddr != "" {
		add(true, "the profiler (net/http/pprof, /debug/pprof/) is open without authentication to anyone who can reach DEBUG_LISTEN_ADDR %s", c.DebugListenAddr)
	}
	return lines, warn
}

// logAccess says at start who may do what, warning about what is open to anyone.
func (s *Service) logAccess() {
	lines, warn := s.cfg.AccessSummary()
	for i, l := range lines {
		if warn[i] {
			s.log.Warn(l)
		} else {
			s.log.Info(l)
		}
	}
}

// apiAccess returns the status API's authorizers: nil Admin when operator actions are not
// configured (they answer 403), nil Read when reading is open.
func (c Config) apiAccess() (admin, read statusapi.Authorizer) {
	if a := c.AdminAuth(); a.Type != "" {
		admin = a
	}
	if a := c.ReadAuth(); a.Enabled() {
		read = a
	}
	return admin, read
}
