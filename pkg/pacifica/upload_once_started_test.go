package pacifica_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// startedAt is the checkpoint of an upload an earlier attempt started at t without
// recording ingest's answer.
func startedAt(name string, t time.Time) map[string]json.RawMessage {
	b, _ := json.Marshal(map[string]time.Time{"started": t})
	return map[string]json.RawMessage{pacifica.UploadCheckpointPrefix + name: b}
}

// withKVs is meta("p") of another job when job is not "", with more key/values and
// identity keys.
func withKVs(job string, identity []string, kvs ...pacifica.KeyValue) pacifica.UploadMeta {
	m := meta("p")
	if job != "" {
		m.KeyValues = []pacifica.KeyValue{kv(pacifica.JobIDKey, `"`+job+`"`)}
	}
	m.KeyValues = append(m.KeyValues, kvs...)
	m.IdentityKeys = identity
	return m
}

func kv(k, v string) pacifica.KeyValue { return pacifica.KeyValue{Key: k, Value: json.RawMessage(v)} }

// An earlier attempt sent its uploads and ended before it recorded ingest's answers: the
// next attempt finds each in metadata by the job's id and its identity key/values (an
// output's name; a failed run's mark, absent from the result), records it, uploads nothing.
func TestUploadOnceFindsStartedUploadInMetadata(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	out := []string{"dispatcher.output"}
	status := []string{"dispatcher.status"}
	const scriptJob = "6f1c0000-0000-5000-8000-000000000002"
	uploads := map[string]pacifica.UploadMeta{
		"output/a":   withKVs(scriptJob, out, kv("dispatcher.output", `"a"`)),
		"output/b":   withKVs(scriptJob, out, kv("dispatcher.output", `"b"`)),
		"failed-run": withKVs("", status, kv("dispatcher.status", `"failed"`), kv("dispatcher.error", `"boom"`)),
	}
	ids := map[string]int64{}
	for name, m := range uploads {
		id, err := s.ingest.Upload(ctx, resultDir(t), m)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	for name, m := range uploads {
		l := s.ledger(startedAt(name, time.Now().Add(-time.Minute)))
		id, err := s.ingest.UploadOnce(ctx, l, name, resultDir(t), m)
		if err != nil || id != ids[name] {
			t.Errorf("%s: UploadOnce = %d, %v; want the earlier attempt's %d", name, id, err, ids[name])
			continue
		}
		if got := l.jobID(t, name); got != id {
			t.Errorf("%s: checkpoint holds %d, want %d", name, got, id)
		}
		if len(l.log) != 1 || !strings.Contains(l.log[0], "found in Pacifica metadata and reused") {
			t.Errorf("%s: log %q", name, l.log)
		}
	}
	if n := len(s.sim.Transactions()); n != 3 {
		t.Fatalf("%d transactions, want the 3 of the earlier attempt", n)
	}

	// The result of the same job is none of these: the failed run carries dispatcher.status.
	// Its start is older than the ingest time limit: uploaded at once.
	l := s.ledger(startedAt("result", time.Now().Add(-time.Hour)))
	start := time.Now()
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), withKVs("", status))
	if err != nil {
		t.Fatal(err)
	}
	if id == ids["failed-run"] || len(s.sim.Transactions()) != 4 {
		t.Errorf("the result reused transaction %d; %d transactions", id, len(s.sim.Transactions()))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("UploadOnce waited %s for an upload started an hour ago", d)
	}
	if !strings.Contains(strings.Join(l.log, "\n"), "no transaction of it after the ingest time limit") {
		t.Errorf("log %q", l.log)
	}
}

// An earlier attempt sent its upload moments ago and ingest is still storing it: the next
// attempt waits for it to appear in metadata instead of uploading it again.
func TestUploadOnceWaitsForRecentlyStartedUpload(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	started := time.Now()
	earlier, err := s.ingest.Send(ctx, resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.sim.Transaction(earlier); ok {
		t.Fatal("the upload is stored already; the test needs one being ingested")
	}
	l := s.ledger(startedAt("result", started))
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if err != nil || id != earlier {
		t.Fatalf("UploadOnce = %d, %v; want the earlier upload %d", id, err, earlier)
	}
	if n := len(s.sim.Transactions()); n != 1 {
		t.Errorf("%d transactions, want 1", n)
	}
	if log := strings.Join(l.log, "\n"); !strings.Contains(log, "waiting until") || !strings.Contains(log, "reused") {
		t.Errorf("log %q, want the wait then the reuse", l.log)
	}
}

// Metadata unreachable while a retry looks for an earlier attempt's upload: a retryable
// error, nothing uploaded; the start is kept for the next attempt.
func TestUploadOnceMetadataDownIsRetryable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	s.sim.SetFault(pacificasim.ServiceMetadata, pacificasim.Fault{Status: http.StatusServiceUnavailable})
	l := s.ledger(startedAt("result", time.Now().Add(-time.Hour)))
	_, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if !pacifica.IsRetryable(err) || !strings.Contains(err.Error(), "metadata") {
		t.Errorf("UploadOnce with metadata answering 503: %v, want a retryable metadata error", err)
	}
	if n := len(s.sim.Transactions()); n != 0 || len(l.saves) != 0 {
		t.Errorf("%d transactions, saves %v; want none", n, l.saves)
	}
}

// The start cannot be recorded: nothing is sent, and the error is retryable.
func TestUploadOnceUnrecordedStartSendsNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	l := s.ledger(nil)
	l.saveErr = errors.New("job store unreachable")
	_, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if !pacifica.IsRetryable(err) || !strings.Contains(err.Error(), "its start could not be recorded") {
		t.Errorf("UploadOnce = %v, want a retryable error", err)
	}
	if n := len(s.sim.Transactions()); n != 0 || s.polls.Load() != 0 {
		t.Errorf("%d transactions, %d get_state requests; want nothing sent", n, s.polls.Load())
	}
}

// Ingest refuses the upload (an error status): the start is cleared, so the next attempt
// uploads at once instead of looking for it and waiting.
func TestUploadOnceRefusedUploadClearsTheStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusInternalServerError, Count: 1, Path: "/upload"})
	l := s.ledger(nil)
	if _, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p")); !pacifica.IsRetryable(err) {
		t.Fatalf("UploadOnce with ingest answering 500: %v, want a retryable error", err)
	}
	if v, _ := l.Checkpoint("upload/result"); string(v) != `{}` {
		t.Errorf("checkpoint %s, want it cleared", v)
	}
	start := time.Now()
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if err != nil || l.jobID(t, "result") != id || len(s.sim.Transactions()) != 1 {
		t.Fatalf("UploadOnce = %d, %v; %d transactions", id, err, len(s.sim.Transactions()))
	}
	if d := time.Since(start); d > 5*time.Second || len(l.log) != 0 {
		t.Errorf("the next attempt took %s and logged %q; want an upload at once", d, l.log)
	}
}

// Ingest takes the upload but its answer is lost (a proxy answers 504): the start is kept,
// and the next attempt finds the upload in metadata instead of sending it again.
func TestUploadOnceLostAnswerFoundByTheNextAttempt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusGatewayTimeout, After: true, Count: 1, Path: "/upload"})
	l := s.ledger(nil)
	if _, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p")); !pacifica.IsRetryable(err) {
		t.Fatalf("UploadOnce with the answer lost: %v, want a retryable error", err)
	}
	var cp struct {
		Started *time.Time `json:"started"`
	}
	if v, _ := l.Checkpoint("upload/result"); json.Unmarshal(v, &cp) != nil || cp.Started == nil {
		t.Fatalf("checkpoint %s, want the start kept", v)
	}
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	txs := s.sim.Transactions()
	if err != nil || len(txs) != 1 || txs[0].ID != id || l.jobID(t, "result") != id {
		t.Errorf("UploadOnce = %d, %v; %d transactions; want the one ingest took", id, err, len(txs))
	}
}
