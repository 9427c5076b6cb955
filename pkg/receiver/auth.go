package receiver

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Auth is the optional authentication of the sender, in the two forms a Pacifica
// subscription can carry (PROTOCOLS.md §1.5): basic credentials, or an Authorization header
// with a type and credentials (e.g. "Bearer xyz"). The zero value accepts every sender.
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
		if a.Username == "" {
			return fmt.Errorf("receiver auth: basic needs a username")
		}
		return nil
	case "header":
		if f := strings.Fields(a.Header); len(f) != 2 {
			return fmt.Errorf("receiver auth: header needs \"<type> <credentials>\", e.g. \"Bearer xyz\"")
		}
		return nil
	}
	return fmt.Errorf("receiver auth: unknown type %q (want none, basic or header)", a.Type)
}

// Enabled reports whether senders must authenticate.
func (a Auth) Enabled() bool {
	t := strings.ToLower(a.Type)
	return t != "" && t != "none"
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
