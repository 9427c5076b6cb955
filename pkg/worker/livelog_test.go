package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// A child's output goes into the job log line by line, each stamped and tagged with its
// stream; an unfinished line waits for its end or for Close; a line past MaxLogLine is
// cut, and what waits between two flushes is bounded.
func TestOutputLines(t *testing.T) {
	t.Parallel()
	j := &Job{}
	out, errw := j.Output("stdout"), j.Output("stderr")
	fmt.Fprint(out, "one\ntw")
	fmt.Fprint(errw, "oops\r\n")
	if got := j.takeLog(); !strings.Contains(got, " [stdout] one\n") || !strings.Contains(got, " [stderr] oops\n") ||
		strings.Contains(got, "tw") {
		t.Errorf("after one line and a half:\n%s", got)
	}
	fmt.Fprint(out, "o\nthree")
	_ = out.Close()
	got := j.takeLog()
	if !strings.Contains(got, " [stdout] two\n") || !strings.HasSuffix(got, " [stdout] three\n") {
		t.Errorf("the rest of a line, then Close:\n%s", got)
	}
	if _, err := time.Parse(time.RFC3339, strings.Fields(got)[0]); err != nil {
		t.Errorf("a line does not start with its time: %q", got)
	}

	// One long line, written in pieces: cut once, the rest dropped until its end.
	for range 3 {
		fmt.Fprint(out, strings.Repeat("x", MaxLogLine))
	}
	fmt.Fprint(out, "\nafter\n")
	got = j.takeLog()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], fmt.Sprintf(" [line cut at %d KiB]", MaxLogLine>>10)) ||
		strings.Count(lines[0], "x") != MaxLogLine || !strings.HasSuffix(lines[1], " [stdout] after") {
		t.Errorf("a long line: %d lines, first %d bytes", len(lines), len(lines[0]))
	}

	// A flood between two flushes: the newest text is kept, and the log says what it lost.
	for i := range 20000 {
		fmt.Fprintf(out, "line %d\n", i)
	}
	got = j.takeLog()
	if len(got) > logBufferMax+200 || !strings.Contains(got, "[the dispatcher dropped ") ||
		!strings.HasSuffix(got, " [stdout] line 19999\n") {
		t.Errorf("a flood: %d bytes kept, starting %q", len(got), got[:min(len(got), 200)])
	}
	if j.takeLog() != "" {
		t.Error("the log was taken twice")
	}
}

// A running attempt's log reaches the job store while the attempt runs, not only at its
// end: the handler waits until the store shows its output before it returns.
func TestLogReachesTheStoreWhileTheJobRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: testsupport.Schema(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id := jobstore.JobID("src", "e1", "r")
	if _, err := store.Record(ctx, jobstore.NewEvent{Source: "src", ID: "e1", Type: "t", Body: []byte(`{"specversion":"1.0","id":"e1","source":"src","type":"t"}`),
		ContentType: "application/cloudevents+json", ReceivedAt: time.Now()},
		[]jobstore.NewJob{{ID: id, Route: "r", State: jobstore.Queued, MaxAttempts: 1}}); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 1)
	handler := HandlerFunc(func(ctx context.Context, j *Job) (Result, error) {
		out := j.Output("stdout")
		defer out.Close()
		fmt.Fprintln(out, "half way there")
		for {
			got, err := store.Get(ctx, j.ID)
			if err == nil && strings.Contains(got.Logs, "[stdout] half way there\n") && got.State == jobstore.Running {
				seen <- got.Logs
				return Result{}, nil
			}
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	w := &Worker{cfg: Config{Store: store, Handlers: map[string]Handler{"r": handler}, DataDir: t.TempDir(), Owner: "w1",
		Lease: 3 * time.Second, DefaultTimeout: time.Minute, Metrics: NewMetrics(nil), Logger: slog.New(slog.DiscardHandler)},
		jobsCtx: ctx}
	claimed, err := store.Claim(ctx, id, "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w.run(claimed)
	select {
	case logs := <-seen:
		if !strings.Contains(logs, "attempt 1 of 1 started by w1") {
			t.Errorf("the log while running:\n%s", logs)
		}
	default:
		t.Fatal("the attempt ended without its output in the store")
	}
	j, err := store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobstore.Succeeded || strings.Count(j.Logs, "half way there") != 1 || !strings.HasSuffix(j.Logs, "succeeded\n") {
		t.Errorf("job %s, log:\n%s", j.State, j.Logs)
	}
}
