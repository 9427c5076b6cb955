package service

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Durations are logged as Go duration strings in both formats, nested in groups too.
func TestLoggerDurations(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(Config{LogLevel: "info", LogFormat: format}, &buf)
			log.With("component", "test").WithGroup("outer").Info("shutting down", "timeout", 30*time.Second,
				slog.Group("inner", "backoff", 1500*time.Millisecond, "count", 3))
			line := buf.String()
			switch format {
			case "json":
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				outer, _ := m["outer"].(map[string]any)
				inner, _ := outer["inner"].(map[string]any)
				if outer["timeout"] != "30s" || inner["backoff"] != "1.5s" || inner["count"] != float64(3) {
					t.Errorf("logged %s", line)
				}
			case "text":
				if !strings.Contains(line, "outer.timeout=30s") || !strings.Contains(line, "outer.inner.backoff=1.5s") {
					t.Errorf("logged %s", line)
				}
			}
		})
	}
}

// The access log (ACCESS_LOG=true) gives one line per request, with neither the query
// nor the credentials; without it nothing is logged.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		var buf bytes.Buffer
		log := NewLogger(Config{LogLevel: "info", LogFormat: "json"}, &buf)
		var access *slog.Logger
		if on {
			access = log
		}
		mux := newRouteMux()
		mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) })
		srv := httptest.NewServer(instrument(mux, prometheus.NewRegistry(), access))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/jobs?token=query-secret", nil)
		req.SetBasicAuth("ops", "password-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if !on {
			if buf.Len() != 0 {
				t.Errorf("access log off, logged %s", buf.String())
			}
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, buf.String())
		}
		dur, _ := m["duration"].(string)
		if _, err := time.ParseDuration(dur); err != nil || m["method"] != "GET" || m["path"] != "/jobs" ||
			m["status"] != float64(200) || m["bytes"] != float64(5) || !strings.HasPrefix(m["remote"].(string), "127.0.0.1:") {
			t.Errorf("access log line %s", buf.String())
		}
		if strings.Contains(buf.String(), "secret") || strings.Contains(buf.String(), "token") {
			t.Errorf("the access log shows the query or the credentials: %s", buf.String())
		}
	}
}
