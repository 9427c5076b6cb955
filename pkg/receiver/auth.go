package receiver

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Auth is the authentication of a client, in the two forms a Pacifica subscription can
// carry: basic credentials, or an Authorization header with a type and credentials (e.g.
// "Bearer xyz"). The zero value and Type "none" accept every client; a program that serves
// the internet should say so with "none" rather than leave it unset (the service refuses to
// start a receiver whose authentication is not set).
type Auth struct {
	// Type is "" or "none", "basic", or "header".
	Type string
	// Username and Password are the basic credentials.
	Username, Password string
	// Header is the whole expected Authorization value for the header form, e.g. "Bearer xyz".
	Header string
}

// Validate checks that the configuration is complete.
func (a Auth) Validate() error {
	switch strings.ToLower(a.Type) {
	case "", "none":
		return nil
	case "basic":
		switch {
		case a.Username == "":
			return fmt.Errorf("basic needs a user name")
		case strings.Contains(a.Username, ":"):
			return fmt.Errorf("basic: a user name cannot hold ':'")
		case a.Password == "":
			return fmt.Errorf("basic needs a password (an empty one would let anyone who knows the user name in)")
		}
		return nil
	case "header":
		if f := strings.Fields(a.Header); len(f) != 2 {
			return fmt.Errorf("header needs \"<type> <credentials>\", both not empty, e.g. \"Bearer xyz\"")
		}
		return nil
	}
	return fmt.Errorf("unknown type %q (want none, basic or header)", a.Type)
}

// Enabled reports whether senders must authenticate.
func (a Auth) Enabled() bool {
	t := strings.ToLower(a.Type)
	return t != "" && t != "none"
}

// Challenge is the WWW-Authenticate value of a 401 answer.
func (a Auth) Challenge() string {
	if strings.EqualFold(a.Type, "header") {
		if f := strings.Fields(a.Header); len(f) == 2 {
			return f[0] + ` realm="pacifica-dispatcher"`
		}
	}
	return `Basic realm="pacifica-dispatcher"`
}

// Check reports whether the request carries the configured credentials.
func (a Auth) Check(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	var want string
	switch strings.ToLower(a.Type) {
	case "", "none":
		return true
	case "basic":
		want = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
		// The scheme name is case-insensitive.
		if len(got) > 6 && strings.EqualFold(got[:6], "basic ") {
			got = "Basic " + got[6:]
		}
	case "header":
		f := strings.Fields(a.Header)
		want = f[0] + " " + f[1]
		if g := strings.Fields(got); len(g) == 2 && strings.EqualFold(g[0], f[0]) {
			got = f[0] + " " + g[1]
		}
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
