package intake

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

func sampleBody(tb testing.TB) []byte {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func sampleEvent(tb testing.TB) *event.Event {
	tb.Helper()
	evs, err := event.Parse(http.Header{"Content-Type": {"application/json"}}, sampleBody(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return evs[0]
}

// planner is an Intake that only plans (routing and validation) with the proxymod route
// (read from its file: pkg/proxymod imports this package); plan uses neither PostgreSQL nor
// RabbitMQ, so none is configured.
func planner(tb testing.TB) *Intake {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("..", "proxymod", "route.jsonpath2"))
	if err != nil {
		tb.Fatal(err)
	}
	t, err := route.NewTable(route.Route{Name: "proxymod", Kind: "proxymod", Filter: jsonpath2.MustParse(string(text))})
	if err != nil {
		tb.Fatal(err)
	}
	return &Intake{cfg: Config{Routes: t, MaxAttempts: 5, MaxRouteSteps: 1_000_000, Now: func() time.Time { return time.Unix(0, 0) }}}
}

// BenchmarkPlan is the receiver's CPU for one event before the job store: routing the
// sample event and validating its data.
func BenchmarkPlan(b *testing.B) {
	in, ev := planner(b), sampleEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		p := in.plan(ev, nil)
		if len(p.jobs) != 1 || p.jobs[0].State != jobstore.Queued {
			b.Fatalf("plan = %+v, want one queued job", p.jobs)
		}
	}
}
