package service

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

// checkOneResult checks that source has exactly one result transaction, the job's, marked
// with the job's id.
func checkOneResult(t *testing.T, s *site, src int64, j jobJSON) {
	t.Helper()
	res := s.results(src)
	if j.TransactionID == nil {
		t.Fatalf("job %s has no transaction; %d result transactions for source %d", j.ID, len(res), src)
	}
	if len(res) != 1 || res[0].ID != *j.TransactionID {
		t.Fatalf("%d result transactions for source %d, want exactly the job's %d", len(res), src, *j.TransactionID)
	}
	if got := keyValue(res[0], pacifica.JobIDKey); got != `"`+j.ID+`"` {
		t.Errorf("result %s = %s, want the job's id %q", pacifica.JobIDKey, got, j.ID)
	}
}

// The first attempt's upload is accepted by ingest, then ingest cannot be asked about it
// (get_state answers 503): the attempt fails transiently after the upload was sent. The
// retry runs the models again but reuses the accepted upload: one result transaction.
func TestProxymodRetryAfterAcceptedUploadUploadsOnce(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	// The next get_state is the first attempt's, right after its upload was accepted.
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusServiceUnavailable, Count: 1, Path: "/get_state"})

	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	if j.History[0].Outcome != "retry" || !strings.Contains(j.History[0].Error, "503") {
		t.Errorf("first attempt %+v, want a retry naming ingest's 503", j.History[0])
	}
	checkOneResult(t, s, src, j)
	if !strings.Contains(j.Logs, "reused, not uploaded again") {
		t.Errorf("the job's log does not say the upload was reused:\n%s", j.Logs)
	}
}

// A worker process killed with SIGKILL after ingest accepted its upload, while it waits for
// the upload to be ingested: the next worker reuses the upload.
func TestWorkerKilledAfterUploadAcceptedUploadsOnce(t *testing.T) {
	t.Parallel()
	bin := buildDispatcher(t)
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.Role = RoleReceiver
	})
	s.subscribe(t, h)
	var log1, log2 testsupport.SyncBuffer
	w1 := startWorkerProcess(t, bin, h.cfg, t.TempDir(), &log1)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	// The first attempt's first get_state hangs: the worker waits there, its upload accepted.
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Delay: 5 * time.Minute, Count: 1, Path: "/get_state"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := jobstore.Open(ctx, jobstore.Config{URL: h.cfg.DatabaseURL})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var id uuid.UUID
	eventually(t, 60*time.Second, "the first attempt's upload recorded", func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		if len(page.Jobs) != 1 {
			return false
		}
		id = uuid.MustParse(page.Jobs[0].ID)
		j, err := store.Get(context.Background(), id)
		// The start is recorded first, then the ingest job once ingest accepted the upload.
		var cp struct {
			JobID int64 `json:"job_id"`
		}
		raw, ok := j.Checkpoints[pacifica.UploadCheckpointPrefix+proxymod.UploadResult]
		return err == nil && ok && json.Unmarshal(raw, &cp) == nil && cp.JobID > 0
	})
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = w1.Process.Wait()

	startWorkerProcess(t, bin, h.cfg, t.TempDir(), &log2)
	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts: %s\nsecond worker:\n%s", j.State, j.Attempts, j.Error, log2.String())
	}
	if j.History[0].Outcome != "lease_expired" {
		t.Errorf("attempts %+v", j.History)
	}
	checkOneResult(t, s, src, j)
}

// An operator's retry of a job whose model raised runs the models again, which raise
// again: the failed run's upload of the first run is reused, not uploaded a second time.
func TestProxymodOperatorRetryKeepsFailedRunUpload(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, map[string]string{"proxymod.config_2.PROJECT.failure": "1"})
	first := h.jobOf(src, 60*time.Second)
	if first.State != "failed" || first.TransactionID == nil {
		t.Fatalf("job %+v, want failed with its logs uploaded", first)
	}
	if code := h.operator("/jobs/"+first.ID+"/retry", h.cfg.AdminAuthUsername, h.cfg.AdminAuthPassword); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	var j jobJSON
	eventually(t, 60*time.Second, "the retried job failed again", func() bool {
		h.get("/jobs/"+first.ID, &j)
		return j.Attempts == 2 && j.State == "failed"
	})
	if !strings.Contains(j.Error, "You raised an error on purpose") {
		t.Errorf("error %q", j.Error)
	}
	if j.TransactionID == nil || *j.TransactionID != *first.TransactionID {
		t.Errorf("the retry's failed-run transaction is not the first run's %d", *first.TransactionID)
	}
	checkOneResult(t, s, src, j)
}

// The first attempt's upload reaches ingest, which stores it, but the answer never comes
// back (a proxy answers 504): the attempt has no ingest job id to record, only the upload's
// start. The retry finds the upload in Pacifica metadata by the job's dispatcher.job_id
// and reuses it: exactly one upload for the job.
func TestProxymodLostUploadAnswerUploadsOnce(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) { s.workerConfig(t, c) })
	s.subscribe(t, h)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	// The next upload is the first attempt's.
	s.sim.SetFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusGatewayTimeout, After: true, Count: 1, Path: "/upload"})

	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	if j.History[0].Outcome != "retry" || !strings.Contains(j.History[0].Error, "504") {
		t.Errorf("first attempt %+v, want a retry naming the lost answer's 504", j.History[0])
	}
	if res := s.resultsOfJob(j.ID); len(res) != 1 {
		t.Errorf("%d transactions carry the job's id, want 1", len(res))
	}
	checkOneResult(t, s, src, j)
	if !strings.Contains(j.Logs, "found in Pacifica metadata and reused") {
		t.Errorf("the job's log does not say the upload was found and reused:\n%s", j.Logs)
	}
}
