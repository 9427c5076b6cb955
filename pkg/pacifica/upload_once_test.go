package pacifica_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// ledger is a Ledger in memory that notes, for each save, how many get_state requests
// ingest had answered by then.
type ledger struct {
	mu      sync.Mutex
	values  map[string]json.RawMessage
	saves   []string
	polls   *atomic.Int64
	pollsAt []int64
	saveErr error
	okSaves int // saves that succeed before saveErr applies
	log     []string
}

func (l *ledger) Checkpoint(name string) (json.RawMessage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.values[name]
	return v, ok
}

func (l *ledger) SaveCheckpoint(_ context.Context, name string, v any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.saves = append(l.saves, name)
	l.pollsAt = append(l.pollsAt, l.polls.Load())
	if l.saveErr != nil && len(l.saves) > l.okSaves {
		return l.saveErr
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.values[name] = b
	return nil
}

func (l *ledger) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, fmt.Sprintf(format, args...))
}

func (l *ledger) jobID(t *testing.T, name string) int64 {
	t.Helper()
	v, ok := l.Checkpoint(pacifica.UploadCheckpointPrefix + name)
	if !ok {
		t.Fatalf("no checkpoint for upload %q", name)
	}
	var cp struct {
		JobID int64 `json:"job_id"`
	}
	if err := json.Unmarshal(v, &cp); err != nil {
		t.Fatalf("checkpoint %s: %v", v, err)
	}
	return cp.JobID
}

// ingestSite is a simulated ingest whose get_state requests are counted.
type ingestSite struct {
	sim    *pacificasim.Sim
	ingest *pacifica.IngestClient
	polls  atomic.Int64
}

func startIngest(t *testing.T) *ingestSite {
	t.Helper()
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir(), IngestStepDelay: 100 * time.Millisecond,
		IngestPolicy: func(_ context.Context, r pacificasim.PolicyRequest) error {
			if string(r.Project) == `"refused"` {
				return errors.New("project refused is not allowed")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	s := &ingestSite{sim: sim}
	md := httptest.NewServer(sim.MetadataHandler())
	t.Cleanup(md.Close)
	h := sim.IngestHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/get_state" {
			s.polls.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client, err := pacifica.New(pacifica.Config{UploadURL: srv.URL + "/upload", UploadStatusURL: srv.URL + "/get_state",
		DownloadURL: "http://127.0.0.1:1", NotificationsURL: "http://127.0.0.1:1", MetadataURL: md.URL,
		IngestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.ingest = client.Ingest
	return s
}

func (s *ingestSite) ledger(values map[string]json.RawMessage) *ledger {
	if values == nil {
		values = map[string]json.RawMessage{}
	}
	return &ledger{values: values, polls: &s.polls}
}

func resultDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "outputs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outputs", "out.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func meta(project string) pacifica.UploadMeta {
	return pacifica.UploadMeta{Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"` + project + `"`),
		Instrument: json.RawMessage(`54`),
		KeyValues:  []pacifica.KeyValue{{Key: pacifica.JobIDKey, Value: json.RawMessage(`"6f1c0000-0000-5000-8000-000000000001"`)}}}
}

func checkpointOf(id int64) map[string]json.RawMessage {
	return map[string]json.RawMessage{pacifica.UploadCheckpointPrefix + "result": json.RawMessage(fmt.Sprintf(`{"job_id": %d}`, id))}
}

// No checkpoint: one upload, whose ingest job is recorded before UploadOnce polls ingest.
func TestUploadOnceFirstTime(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	l := s.ledger(nil)
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	txs := s.sim.Transactions()
	if len(txs) != 1 || txs[0].ID != id {
		t.Fatalf("%d transactions, want the one of job %d", len(txs), id)
	}
	// First the start, then the ingest job.
	if len(l.saves) != 2 || l.saves[0] != "upload/result" || l.saves[1] != "upload/result" || l.jobID(t, "result") != id {
		t.Errorf("saves %v, checkpoint %v; want upload/result twice, then = %d", l.saves, l.values, id)
	}
	if l.pollsAt[1] != 0 {
		t.Errorf("the checkpoint was saved after %d get_state requests, want before the first", l.pollsAt[1])
	}
	if string(txs[0].KeyValues[0].Value) != `"6f1c0000-0000-5000-8000-000000000001"` || txs[0].KeyValues[0].Key != "dispatcher.job_id" {
		t.Errorf("key/values %+v", txs[0].KeyValues)
	}
}

// A checkpoint naming an ingest job that is ingested, or still being ingested: nothing is
// uploaded, and its id comes back once it is ingested.
func TestUploadOnceReusesAcceptedUpload(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	done, err := s.ingest.Upload(ctx, resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	running, err := s.ingest.Send(ctx, resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.ingest.State(ctx, running); st.Done() {
		t.Fatalf("upload job %d is ingested already; the test needs one in progress", running)
	}
	for _, c := range []struct {
		name string
		id   int64
	}{{"ingested", done}, {"in progress", running}} {
		l := s.ledger(checkpointOf(c.id))
		id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
		if err != nil || id != c.id {
			t.Errorf("%s: UploadOnce = %d, %v; want %d", c.name, id, err, c.id)
		}
		if len(l.saves) != 0 {
			t.Errorf("%s: saved %v", c.name, l.saves)
		}
		if st, ok := s.sim.Job(c.id); !ok || !st.Done() {
			t.Errorf("%s: UploadOnce returned before job %d was ingested: %+v", c.name, c.id, st)
		}
	}
	if n := len(s.sim.Transactions()); n != 2 {
		t.Errorf("%d transactions, want the 2 uploaded before: UploadOnce uploaded again", n)
	}
}

// A checkpoint naming an ingest job that FAILED, or that ingest does not know: the upload
// is sent again and the new job recorded.
func TestUploadOnceUploadsAgainAfterFailedOrUnknownJob(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	failed, err := s.ingest.Upload(ctx, resultDir(t), meta("refused"))
	if err == nil {
		t.Fatal("the refused project was ingested")
	}
	if st, ok := s.sim.Job(failed); !ok || st.State != "FAILED" {
		t.Fatalf("job %d: %+v", failed, st)
	}
	for i, c := range []struct {
		name string
		id   int64
	}{{"FAILED", failed}, {"unknown", 987654}} {
		l := s.ledger(checkpointOf(c.id))
		id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
		if err != nil || id == c.id {
			t.Fatalf("%s: UploadOnce = %d, %v; want a new upload", c.name, id, err)
		}
		if got := l.jobID(t, "result"); got != id {
			t.Errorf("%s: checkpoint holds job %d, want the new %d", c.name, got, id)
		}
		if n := len(s.sim.Transactions()); n != i+1 {
			t.Errorf("%s: %d transactions, want %d", c.name, n, i+1)
		}
	}
}

// Ingest unreachable while UploadOnce checks an earlier job: a retryable error, nothing
// uploaded.
func TestUploadOnceStateErrorIsRetryable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	done, err := s.ingest.Upload(ctx, resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusServiceUnavailable, Count: 1, Path: "/get_state"})
	l := s.ledger(checkpointOf(done))
	if _, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p")); !pacifica.IsRetryable(err) {
		t.Errorf("UploadOnce with ingest answering 503: %v, want a retryable error", err)
	}
	if n := len(s.sim.Transactions()); n != 1 {
		t.Errorf("%d transactions, want 1", n)
	}
	// Once ingest answers, the same attempt reuses the job.
	if id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p")); err != nil || id != done {
		t.Errorf("UploadOnce = %d, %v; want %d", id, err, done)
	}
}

// A checkpoint that cannot be saved: the upload is not failed (failing would upload it again
// on the next attempt); it is ingested, its id returned, and the ledger told why.
func TestUploadOnceSaveFailureStillWaits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startIngest(t)
	l := s.ledger(nil)
	l.saveErr, l.okSaves = errors.New("job store unreachable"), 1 // the start is saved, not the job id
	id, err := s.ingest.UploadOnce(ctx, l, "result", resultDir(t), meta("p"))
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := s.sim.Job(id); !ok || !st.Done() || len(s.sim.Transactions()) != 1 {
		t.Errorf("job %d: %+v, %d transactions", id, st, len(s.sim.Transactions()))
	}
	if len(l.log) != 1 || !strings.Contains(l.log[0], "job store unreachable") {
		t.Errorf("ledger log %q, want the save failure", l.log)
	}
}
