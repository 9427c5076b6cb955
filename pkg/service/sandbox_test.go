package service

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// A worker says how its children are confined: /readyz's body (200 either way) and the
// metric dispatcher_sandbox_enabled.
func TestSandboxIsVisible(t *testing.T) {
	t.Parallel()
	for mode, want := range map[string]struct{ readyz, metric string }{
		"bwrap": {`"sandbox": "bubblewrap`, "dispatcher_sandbox_enabled 1"},
		"off":   {`"sandbox": "off: SANDBOX=off"`, "dispatcher_sandbox_enabled 0"},
	} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := startSite(t)
			h := startHarness(t, func(c *Config) {
				s.workerConfig(t, c)
				c.Sandbox = mode
			})
			for path, text := range map[string]string{"/readyz": want.readyz, "/metrics": want.metric} {
				resp, err := http.Get(h.base + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), text) {
					t.Errorf("GET %s: %d, want 200 with %q:\n%.2000s", path, resp.StatusCode, text, body)
				}
			}
		})
	}
}
