package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// sweep removes the job directories that a previous process on this DataDir left behind
// when it died (SIGKILL, a lost node): those of jobs that are not running now. A job still
// running is left alone: it may belong to another process sharing the directory, and the
// attempt that finishes it removes its directory. Other entries are not the worker's and
// stay.
func (w *Worker) sweep(ctx context.Context) {
	entries, err := os.ReadDir(w.cfg.DataDir)
	if err != nil {
		w.cfg.Logger.Warn("reading the data directory", "error", err)
		return
	}
	for _, e := range entries {
		id, err := uuid.Parse(e.Name())
		if err != nil || !e.IsDir() || id.String() != e.Name() {
			continue
		}
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		j, err := w.cfg.Store.Get(gctx, id)
		cancel()
		switch {
		case errors.Is(err, jobstore.ErrNotFound):
		case err != nil:
			w.cfg.Logger.Warn("cannot tell whether a left-over job directory is in use; kept", "job_id", id, "error", err)
			continue
		case j.State == jobstore.Running:
			continue
		}
		if err := removeAll(filepath.Join(w.cfg.DataDir, e.Name())); err != nil {
			w.cfg.Logger.Warn("removing a left-over job directory", "job_id", id, "error", err)
			continue
		}
		w.cfg.Logger.Info("removed the job directory a dead worker left", "job_id", id)
	}
}
