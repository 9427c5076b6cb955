package statusapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// BenchmarkScriptLogPage measures what GET /scriptlog does for a page of 100 runs besides
// reading the store: each run's event as stored made a document, and the answer encoded.
func BenchmarkScriptLogPage(b *testing.B) {
	body, err := os.ReadFile("../../testdata/proxymod-event/event.json")
	if err != nil {
		b.Fatal(err)
	}
	a := &API{cfg: Config{ScriptRoutePrefix: "script.", MaxAnswerBytes: 64 << 20}}
	now := time.Now()
	details := json.RawMessage(`{"script":"summary","return_code":0,"stdout":"done\n","stderr":"","outputs":[{"dir":"out"}]}`)
	jobs := make([]jobstore.Job, 100)
	for i := range jobs {
		jobs[i] = jobstore.Job{ID: uuid.New(), Route: "script.summary", State: jobstore.Succeeded, ReceivedAt: now, UpdatedAt: now, Details: details}
	}
	ev := jobstore.EventBody{Body: body, ContentType: event.StoredPacifica, Size: len(body)}
	b.ReportAllocs()
	for b.Loop() {
		runs, _ := a.encodeRuns(jobs, func(uuid.UUID) (jobstore.EventBody, bool) { return ev, true })
		if len(runs) != len(jobs) {
			b.Fatal("runs left out")
		}
	}
}

func TestWriteJSONListIsWriteJSON(t *testing.T) {
	a := &API{cfg: Config{ScriptRoutePrefix: "script.", MaxAnswerBytes: 1 << 20}}
	now := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)
	var jobs []jobstore.Job
	for i := range 3 {
		jobs = append(jobs, jobstore.Job{ID: uuid.New(), Route: "script.s", State: jobstore.Failed, Error: "x\n\"<y>", Attempts: i,
			ReceivedAt: now, UpdatedAt: now, Details: json.RawMessage(`{"stdout":"a\u0000b","return_code":2}`)})
	}
	ev := jobstore.EventBody{Body: []byte(`{"eventID": "1",  "data": [1, {"k": "v"}]}`), ContentType: event.StoredPacifica}
	for _, n := range []int{0, 1, 3} {
		runs, got := a.encodeRuns(jobs[:n], func(uuid.UUID) (jobstore.EventBody, bool) { return ev, true })
		if got != n {
			t.Fatalf("%d of %d runs encoded", got, n)
		}
		var want []scriptRun
		for _, j := range jobs[:n] {
			want = append(want, a.scriptRunWith(j, ev, true))
		}
		if want == nil {
			want = []scriptRun{}
		}
		w1, w2 := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSONList(w1, http.StatusOK, runs)
		writeJSON(w2, http.StatusOK, want)
		if w1.Body.String() != w2.Body.String() {
			t.Fatalf("%d runs:\n%s\nwant\n%s", n, w1.Body, w2.Body)
		}
	}
	// A bound that one run passes: the first goes all the same, the rest wait for the cursor.
	a.cfg.MaxAnswerBytes = 10
	if _, n := a.encodeRuns(jobs, func(uuid.UUID) (jobstore.EventBody, bool) { return ev, true }); n != 1 {
		t.Fatalf("%d runs within 10 bytes, want the first only", n)
	}
}

// A stored Pacifica event goes into the run as it is, which is what parsing it gave.
func TestScriptRunEventAsStored(t *testing.T) {
	body, err := os.ReadFile("../../testdata/proxymod-event/event.json")
	if err != nil {
		t.Fatal(err)
	}
	a := &API{cfg: Config{ScriptRoutePrefix: "script."}}
	j := jobstore.Job{ID: uuid.New(), Route: "script.s"}
	got := a.scriptRunWith(j, jobstore.EventBody{Body: body, ContentType: event.StoredPacifica}, true)
	e, err := event.Load(body, event.StoredPacifica)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Event, e.Document()) {
		t.Fatal("the event shown is not the parsed event's document")
	}
	bad := a.scriptRunWith(j, jobstore.EventBody{Body: []byte(`{"a":`), ContentType: event.StoredPacifica}, true)
	if string(bad.Event) != "null" {
		t.Fatalf("a stored body that is not JSON shows as %s", bad.Event)
	}
}
