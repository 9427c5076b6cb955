package service

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A worker process that died leaves its job directories in DATA_DIR; the next worker on
// that directory removes those of jobs that are not running, and leaves what is not a job
// directory alone.
func TestWorkerRemovesLeftOverJobDirectories(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	dataDir := t.TempDir()
	stale := filepath.Join(dataDir, uuid.NewString())
	if err := os.MkdirAll(filepath.Join(stale, "1", "download"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "1", "download", "big.dat"), []byte("left behind"), 0o600); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dataDir, "README.operator")
	if err := os.WriteFile(notes, []byte("not a job"), 0o600); err != nil {
		t.Fatal(err)
	}
	startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.DataDir = dataDir
	})
	eventually(t, 20*time.Second, "the left-over job directory removed", func() bool {
		_, err := os.Stat(stale)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file that is not a job directory was touched: %v", err)
	}
}
