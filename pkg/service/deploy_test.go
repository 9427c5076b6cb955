package service

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// The dashboard and the alert rules shipped in deploy/, read by the tests below.
var (
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "dispatcher.json")
	alertsFile    = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
)

// metricName finds the metric names of a PromQL expression: this service's, the Go
// runtime's and the process's.
var metricName = regexp.MustCompile(`\b(?:dispatcher|go|process)_[a-zA-Z0-9_]+\b`)

// deployQuery is one PromQL expression of the dashboard or the alerts, and where it is.
type deployQuery struct{ where, expr string }

func dashboardQueries(t *testing.T) []deployQuery {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var out []deployQuery
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out = append(out, deployQuery{"dashboard panel " + p.Title, tg.Expr})
		}
	}
	return out
}

func alertQueries(t *testing.T) []deployQuery {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var out []deployQuery
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, deployQuery{"alert " + r.Alert, r.Expr})
		}
	}
	return out
}

// exposed returns the metric names of a /metrics page (histograms' _bucket, _sum and
// _count included) and the names of the families it describes (# HELP).
func exposed(text string) (names, families map[string]bool) {
	names, families = map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			families[strings.Fields(rest)[0]] = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names, families
}

// TestDashboardAndAlertsUseExposedMetrics runs a dispatcher (receiver and workers) against
// a simulated Pacifica, lets one upload make a job that runs, and checks that every metric
// the Grafana dashboard and the alert rules query is on its /metrics, and that the README's
// metrics table names every family of the service. A metric renamed in the code, or a
// typing error in a panel, would otherwise show as an empty panel or an alert that never
// fires.
func TestDashboardAndAlertsUseExposedMetrics(t *testing.T) {
	t.Parallel()
	queries := append(dashboardQueries(t), alertQueries(t)...)
	want := map[string][]string{}
	for _, q := range queries {
		names := metricName.FindAllString(q.expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no metric of the service in %q", q.where, q.expr)
		}
		for _, n := range names {
			want[n] = append(want[n], q.where)
		}
	}
	if len(queries) < 20 || len(want) < 20 {
		t.Fatalf("%d queries using %d metrics: the dashboard or the rules were not read", len(queries), len(want))
	}

	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.SubscriptionCheckInterval = 300 * time.Millisecond
		c.CatchUpInterval = 300 * time.Millisecond
	})
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	if j := h.jobOf(src, 60*time.Second); j.State != "succeeded" {
		t.Fatalf("the upload's job ended %s: %s", j.State, j.Error)
	}

	// The job counts are refreshed every 10 s, and the watchdog and catch-up run on their
	// own clocks: wait until every metric has been exported once.
	var names, families map[string]bool
	var text string
	missing := func() []string {
		resp, err := http.Get(h.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(raw)
		names, families = exposed(text)
		var out []string
		for n := range want {
			if !names[n] {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			for _, n := range m {
				t.Errorf("%s is not on /metrics; used by %s", n, strings.Join(want[n], ", "))
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}

	// What the saturation and durability panels divide by and show.
	for _, line := range []string{
		fmt.Sprintf(`dispatcher_worker_slots{kind="jobs"} %d`, h.cfg.WorkerConcurrency),
		`dispatcher_intake_durable{held_in="postgres"} 1`,
		`dispatcher_intake_durable{held_in="broker"} 1`,
		`dispatcher_job_attempts_total{outcome="lease_lost",route="proxymod"} 0`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics lacks the line %s", line)
		}
	}

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "\n## Metrics\n")
	table, _, _ = strings.Cut(table, "\n## ")
	for f := range families {
		if strings.HasPrefix(f, "dispatcher_") && !strings.Contains(table, "`"+f) {
			t.Errorf("the README's metrics table does not name %s", f)
		}
	}
}

// TestDashboardAndAlertsParse checks every query of the dashboard and every rule with
// promtool (Debian package prometheus; .ci/run installs it): a query Prometheus cannot
// parse would show an error in its panel.
func TestDashboardAndAlertsParse(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if testsupport.InCI() {
			t.Fatal("promtool is needed (apt-get install prometheus): ", err)
		}
		t.Skip("promtool is not installed (apt-get install prometheus); CI runs this test")
	}
	// The dashboard's queries as recording rules (Grafana's $__rate_interval as 5m), which
	// promtool parses.
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, q := range dashboardQueries(t) {
		expr := strings.ReplaceAll(q.expr, "$__rate_interval", "5m")
		line, _ := json.Marshal(expr)
		fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", i, line)
	}
	file := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{file, alertsFile} {
		out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", f, err, out)
		}
	}
}
