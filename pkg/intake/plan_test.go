package intake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// TestPlan: what each event becomes before it is recorded: the sample event one queued
// proxymod job in every form it can arrive in; with unsafe data, the same job recorded as
// failed with ParseIngest's reason; an event no route wants, or whose document does not
// decode, one unrouted job.
func TestPlan(t *testing.T) {
	t.Parallel()
	in := planner(t)
	sample := string(sampleBody(t))
	unsafe := strings.Replace(sample, `"data": [`,
		`"data": [{"destinationTable": "TransactionKeyValue", "key": "note", "value": "a\nb"},`, 1)
	if unsafe == sample {
		t.Fatal("the sample has no data list to add to")
	}
	data := func(body string) string {
		evs, err := event.Parse(http.Header{}, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return string(evs[0].Data())
	}
	structured := func(body string) string {
		return `{"specversion":"1.0","id":"C234-1234-1234","source":"/pacifica/metadata/ingest",` +
			`"type":"org.pacifica.metadata.ingest","datacontenttype":"application/json","data":` + data(body) + `}`
	}
	_, unsafeErr := event.ParseIngest([]byte(data(unsafe)))
	if unsafeErr == nil {
		t.Fatal("ParseIngest accepts a key/value with a line break")
	}
	cases := []struct {
		name, ct, body string
		state          jobstore.State
		route, err     string
	}{
		{"sample", "application/json", sample, jobstore.Queued, "proxymod", ""},
		{"sample, CloudEvents 1.0", "application/cloudevents+json", structured(sample), jobstore.Queued, "proxymod", ""},
		{"unsafe data", "application/json", unsafe, jobstore.Failed, "proxymod", "invalid event: " + unsafeErr.Error()},
		{"unsafe data, CloudEvents 1.0", "application/cloudevents+json", structured(unsafe), jobstore.Failed, "proxymod",
			"invalid event: " + unsafeErr.Error()},
		{"no route", "application/json", strings.Replace(sample, `"advance"`, `"retreat"`, 1), jobstore.Unrouted, "", ""},
		{"document too deep", "application/json", strings.Replace(sample, `"cloudEventsVersion": "0.1",`,
			`"cloudEventsVersion": "0.1", "x": `+strings.Repeat("[", 600)+strings.Repeat("]", 600)+",", 1), jobstore.Unrouted, "",
			"event document: jsonpath2: decode: nesting deeper than 512 at offset "},
		// 3 MiB of empty objects would take about 80 MiB decoded: refused before decoding.
		{"document too dense", "application/json", strings.Replace(sample, `"cloudEventsVersion": "0.1",`,
			`"cloudEventsVersion": "0.1", "x": [`+strings.Repeat("{},", 1<<20)+"{}],", 1), jobstore.Unrouted, "",
			"not routed: the event document is too costly to decode for routing"},
		{"document too dense, CloudEvents 1.0", "application/cloudevents+json",
			structured(strings.Replace(sample, `"data": [`, `"data": [`+strings.Repeat("{},", 1<<20), 1)), jobstore.Unrouted, "",
			"not routed: the event document is too costly to decode for routing"},
		// 3000 CSV files: the proxymod route costs more than the bound of the test's intake.
		{"routing too costly", "application/json", strings.Replace(sample, `"data": [`, `"data": [`+
			strings.Repeat(`{"destinationTable": "Files", "_id": 9, "name": "x.csv", "subdir": "inputs/", "mimetype": "text/csv"},`, 3000), 1),
			jobstore.Unrouted, "", "not routed: routing the event takes more than 1000000 steps"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs, err := event.Parse(http.Header{"Content-Type": {tc.ct}}, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			p := in.plan(evs[0], nil)
			if len(p.jobs) != 1 {
				t.Fatalf("%d jobs, want 1: %+v", len(p.jobs), p.jobs)
			}
			j := p.jobs[0]
			if j.State != tc.state || j.Route != tc.route || !strings.HasPrefix(j.Error, tc.err) || (tc.err == "") != (j.Error == "") {
				t.Errorf("job: state %s, route %q, error %q; want %s, %q, %q", j.State, j.Route, j.Error, tc.state, tc.route, tc.err)
			}
			if j.ID != jobstore.JobID(evs[0].Source(), evs[0].ID(), tc.route) {
				t.Errorf("job id %s is not derived from the event and the route", j.ID)
			}
		})
	}
}
