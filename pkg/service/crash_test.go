package service

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/testsupport"
)

// buildDispatcher builds cmd/dispatcher for tests that need the real binary in its own
// process.
func buildDispatcher(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dispatcher")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/dispatcher")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startWorkerProcess runs `dispatcher serve --role=worker` with the harness's
// configuration and its own data directory; extra variables (KEY=VALUE) are added, and win.
func startWorkerProcess(t *testing.T, bin string, c Config, dataDir string, log *testsupport.SyncBuffer, extra ...string) *exec.Cmd {
	t.Helper()
	env := []string{
		"DATABASE_URL=" + c.DatabaseURL, "BROKER_URL=" + c.BrokerURL,
		"BROKER_EXCHANGE=" + c.BrokerExchange, "BROKER_QUEUE_PREFIX=" + c.BrokerQueuePrefix,
		"LISTEN_ADDR=127.0.0.1:0", "DATA_DIR=" + dataDir, "LOG_FORMAT=text",
		"JOB_LEASE=" + c.JobLease.String(), "JOB_BACKOFF_BASE=100ms", "JOB_BACKOFF_MAX=500ms",
		"WORKER_CONCURRENCY=2", "SHUTDOWN_TIMEOUT=5s",
		"PROXYMOD_PYTHON=" + c.ProxymodPython, "PROXYMOD_ENV=" + strings.Join(c.ProxymodEnv, ","),
		"UPLOAD_URL=" + c.PacificaConfig.UploadURL, "UPLOAD_STATUS_URL=" + c.PacificaConfig.UploadStatusURL,
		"DOWNLOAD_URL=" + c.PacificaConfig.DownloadURL, "NOTIFICATIONS_URL=" + c.PacificaConfig.NotificationsURL,
		"METADATA_URL=" + c.PacificaConfig.MetadataURL,
		"PATH=" + os.Getenv("PATH"),
	}
	cmd := exec.Command(bin, "serve", "--role=worker")
	cmd.Env = append(env, extra...) // exec keeps the last value of a variable
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

// processesUnder lists the processes (zombies excepted) whose command line mentions dir, or
// any other text, as "pid: command line".
func processesUnder(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cl := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cl, dir) {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if !strings.Contains(string(stat), ") Z ") {
				out = append(out, e.Name()+": "+cl)
			}
		}
	}
	return out
}

// withoutSandbox drops bubblewrap's own processes (whose arguments name the paths it
// binds) from a list of processesUnder.
func withoutSandbox(procs []string) []string {
	var out []string
	for _, p := range procs {
		_, cl, _ := strings.Cut(p, ": ")
		if argv0, _, _ := strings.Cut(cl, " "); filepath.Base(argv0) != "bwrap" {
			out = append(out, p)
		}
	}
	return out
}

// A worker process killed with SIGKILL in the middle of a job: its model dies with it,
// another worker takes the job once the lease expires, and the job ends exactly once, with
// exactly one upload.
func TestWorkerKilledMidJobFinishesOnceElsewhere(t *testing.T) {
	t.Parallel()
	bin := buildDispatcher(t)
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.Role = RoleReceiver
		c.ProxymodEnv = append(c.ProxymodEnv, "PROXYMOD_SLEEP_SCALE=1")
	})
	s.subscribe(t, h)

	var log1, log2 testsupport.SyncBuffer
	dir1 := t.TempDir()
	w1 := startWorkerProcess(t, bin, h.cfg, dir1, &log1)
	src := s.upload(t, map[string]string{"loose_coupling": ""}, map[string]string{
		"proxymod.config_1.PROJECT.runtime": "3", "proxymod.config_2.PROJECT.runtime": "1", "proxymod.config_3.PROJECT.runtime": "1"})

	var id string
	eventually(t, 30*time.Second, "model running in the first worker", func() bool {
		var page struct {
			Jobs []jobJSON `json:"jobs"`
		}
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(src), &page)
		if len(page.Jobs) == 1 && page.Jobs[0].State == "running" {
			id = page.Jobs[0].ID
		}
		return id != "" && len(processesUnder(dir1)) > 0
	})
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = w1.Process.Wait()
	// Bounded generously: on a loaded machine the sandbox's teardown (bwrap killed with its
	// parent, then its PID namespace) takes a moment; what must not happen is a survivor.
	var said string
	eventually(t, 30*time.Second, "the killed worker's model gone", func() bool {
		left := processesUnder(dir1)
		if now := strings.Join(left, "; "); now != said && len(left) > 0 {
			said = now
			t.Logf("still running: %s", now)
		}
		return len(left) == 0
	})

	startWorkerProcess(t, bin, h.cfg, t.TempDir(), &log2)
	j := h.jobOf(src, 60*time.Second)
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts: %s\nsecond worker:\n%s", j.State, j.Attempts, j.Error, log2.String())
	}
	if j.History[0].Outcome != "lease_expired" || j.History[1].Outcome != "succeeded" {
		t.Errorf("attempts %+v", j.History)
	}
	if n := len(s.results(src)); n != 1 {
		t.Errorf("%d uploads for the job, want exactly 1", n)
	}
	fmt.Fprint(testWriter{t}, "first worker's log:\n"+log1.String())
}
