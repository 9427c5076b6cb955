package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Who may post events, act on jobs and read them, as the environment says: an unset
// RECEIVER_AUTH_TYPE is not consent, empty passwords are refused, what is opened to anyone
// is said.
func TestAccessConfiguration(t *testing.T) {
	// Not parallel: it sets environment variables.
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "read-password")
	if err := os.WriteFile(pwFile, []byte("read-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		// loadErr, accessErr: texts the errors of Load and CheckAccess must hold ("" no error).
		loadErr, accessErr string
		receiver, admin    string // the resolved types
		read               string
		warnings           []string
	}{
		{name: "nothing set: the receiver does not start", accessErr: "RECEIVER_AUTH_TYPE=basic with RECEIVER_AUTH_USERNAME and RECEIVER_AUTH_PASSWORD",
			warnings: []string{"not set"}},
		{name: "nothing set, worker", env: map[string]string{"ROLE": "worker"}},
		{name: "none written", env: map[string]string{"RECEIVER_AUTH_TYPE": "none"}, receiver: "none",
			warnings: []string{"accepts events from anyone"}},
		{name: "NONE written", env: map[string]string{"RECEIVER_AUTH_TYPE": "NONE"}, receiver: "none",
			warnings: []string{"accepts events from anyone"}},
		{name: "basic taken from the credentials", env: map[string]string{"RECEIVER_AUTH_USERNAME": "pacifica", "RECEIVER_AUTH_PASSWORD": "s3cret"},
			receiver: "basic"},
		{name: "header taken from the credentials", env: map[string]string{"RECEIVER_AUTH_HEADER": "Bearer xyz"}, receiver: "header"},
		{name: "basic without a password", env: map[string]string{"RECEIVER_AUTH_TYPE": "basic", "RECEIVER_AUTH_USERNAME": "pacifica"},
			loadErr: "RECEIVER_AUTH_PASSWORD: empty"},
		{name: "user name without a password", env: map[string]string{"RECEIVER_AUTH_USERNAME": "pacifica"},
			loadErr: "RECEIVER_AUTH_PASSWORD: empty"},
		{name: "header without credentials", env: map[string]string{"RECEIVER_AUTH_TYPE": "header", "RECEIVER_AUTH_HEADER": "Bearer "},
			loadErr: "RECEIVER_AUTH_HEADER"},
		{name: "none with credentials", env: map[string]string{"RECEIVER_AUTH_TYPE": "none", "RECEIVER_AUTH_PASSWORD": "x"},
			loadErr: "RECEIVER_AUTH_TYPE: none, but credentials"},
		{name: "both forms, no type", env: map[string]string{"RECEIVER_AUTH_HEADER": "Bearer xyz", "RECEIVER_AUTH_USERNAME": "u", "RECEIVER_AUTH_PASSWORD": "p"},
			loadErr: "RECEIVER_AUTH_TYPE: not set, and both"},
		{name: "admin without a password", env: map[string]string{"RECEIVER_AUTH_TYPE": "none", "ADMIN_AUTH_TYPE": "basic", "ADMIN_AUTH_USERNAME": "ops"},
			loadErr: "ADMIN_AUTH_PASSWORD: empty"},
		{name: "admin opened", env: map[string]string{"RECEIVER_AUTH_TYPE": "none", "ADMIN_AUTH_TYPE": "none"}, receiver: "none", admin: "none",
			warnings: []string{"accepts events from anyone", "operator actions (cancel, retry) are open to anyone"}},
		{name: "read credentials from a file", env: map[string]string{"RECEIVER_AUTH_HEADER": "Bearer xyz", "READ_AUTH_USERNAME": "reader",
			"READ_AUTH_PASSWORD_FILE": pwFile}, receiver: "header", read: "basic"},
		{name: "read password empty", env: map[string]string{"RECEIVER_AUTH_TYPE": "none", "READ_AUTH_TYPE": "basic", "READ_AUTH_USERNAME": "reader"},
			loadErr: "READ_AUTH_PASSWORD: empty"},
		{name: "read type unknown", env: map[string]string{"RECEIVER_AUTH_TYPE": "none", "READ_AUTH_TYPE": "kerberos"},
			loadErr: "READ_AUTH_TYPE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load()
			if tc.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
					t.Fatalf("Load() = %v, want an error holding %q", err, tc.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = c.CheckAccess()
			if tc.accessErr == "" && err != nil || tc.accessErr != "" && (err == nil || !strings.Contains(err.Error(), tc.accessErr)) {
				t.Errorf("CheckAccess() = %v, want %q", err, tc.accessErr)
			}
			if got := c.ReceiverAuth().Type; got != tc.receiver {
				t.Errorf("receiver authentication %q, want %q", got, tc.receiver)
			}
			if got := c.AdminAuth().Type; got != tc.admin {
				t.Errorf("operator authentication %q, want %q", got, tc.admin)
			}
			if got := c.ReadAuth().Type; got != tc.read {
				t.Errorf("read authentication %q, want %q", got, tc.read)
			}
			if tc.read == "basic" && c.ReadAuthPassword != "read-secret" {
				t.Errorf("READ_AUTH_PASSWORD from its file: %q", c.ReadAuthPassword)
			}
			lines, warn := c.AccessSummary()
			var warnings []string
			for i, l := range lines {
				if warn[i] {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d holding %q", warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q lacks %q", warnings[i], w)
				}
			}
		})
	}
}
