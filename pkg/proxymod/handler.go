package proxymod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/subprocess"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/verify"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// Key/values of the uploads: the lineage key that links results to their source
// (Pacifica's way of linking a result to its source), and the marks of a failed run's upload. Every upload also carries
// pacifica.JobIDKey, the dispatcher job's UUID.
const (
	LineageKey     = pacifica.LineageKey
	StatusKey      = "dispatcher.status"
	ErrorKey       = "dispatcher.error"
	StatusFailed   = "failed"
	stderrTailSize = 2048
)

// The names of a job's uploads, under which the job records their ingest jobs (see
// pacifica.IngestClient.UploadOnce): a later attempt of the job does not upload again what
// ingest accepted from an earlier one.
const (
	UploadResult    = "result"
	UploadFailedRun = "failed-run"
)

// Cart downloads files; *pacifica.CartClient is one.
type Cart interface {
	Download(ctx context.Context, files []pacifica.CartFile, dir string) error
}

// Ingest uploads a directory as a new transaction, at most once per job and name, whatever
// the number of attempts; *pacifica.IngestClient is one.
type Ingest interface {
	UploadOnce(ctx context.Context, ledger pacifica.Ledger, name, dir string, meta pacifica.UploadMeta) (int64, error)
}

// HandlerConfig configures the proxymod handler.
type HandlerConfig struct {
	Cart   Cart
	Ingest Ingest
	// Metadata is Pacifica's metadata service, against which every event is checked before
	// the job acts on it; *pacifica.MetadataClient is one.
	Metadata verify.Metadata
	// Python is the interpreter with proxymod installed (default python3); Env are extra
	// variables of the model process.
	Python string
	Env    []string
	// LogLimit caps each log file of the upload directory (default 64 MiB).
	LogLimit int64
	// KillGrace is the time between SIGTERM and SIGKILL of the models (default 5s).
	KillGrace time.Duration
	// FailureUploadTimeout bounds the upload of a timed-out run's logs (default 5m).
	FailureUploadTimeout time.Duration
	// Sandbox confines the models (nil or disabled: they run with the worker's rights);
	// ReadOnly are the host paths the interpreter needs in it (see Interpreter).
	Sandbox  *sandbox.Sandbox
	ReadOnly []string
}

// Handler runs proxymod jobs: download, compute, upload (as pacifica-dispatcher-proxymod did).
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the proxymod handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Cart == nil || cfg.Ingest == nil || cfg.Metadata == nil {
		return nil, errors.New("proxymod: the handler needs the cartd, ingest and metadata clients")
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.LogLimit <= 0 {
		cfg.LogLimit = 64 << 20
	}
	if cfg.FailureUploadTimeout <= 0 {
		cfg.FailureUploadTimeout = 5 * time.Minute
	}
	return &Handler{cfg: cfg}, nil
}

// Details are the facts a proxymod job keeps (jobs' details field).
type Details struct {
	Models        []string `json:"models,omitempty"`
	Configs       int      `json:"configs,omitempty"`
	UploadedFiles int      `json:"uploaded_files,omitempty"`
	Failed        bool     `json:"failed_run_uploaded,omitempty"`
}

// Run runs one attempt of a proxymod job.
func (h *Handler) Run(ctx context.Context, j *worker.Job) (worker.Result, error) {
	// Every fact the job uses is Pacifica metadata's, once the event agrees with it.
	in, err := verify.Ingest(ctx, h.cfg.Metadata, j)
	if err != nil {
		return worker.Result{}, err
	}
	dirs := jobDirs{download: filepath.Join(j.Dir, "download"), upload: filepath.Join(j.Dir, "upload"), work: filepath.Join(j.Dir, "run")}
	for _, d := range []string{dirs.download, dirs.upload, dirs.work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return worker.Result{}, fmt.Errorf("creating the job directories: %w", err)
		}
	}
	var det Details
	plan, err := NewPlan(in)
	if err != nil {
		j.Logf("%v", err)
		return h.failed(ctx, j, in, dirs, det, err, "")
	}
	for _, m := range plan.Models {
		det.Models = append(det.Models, m.File.Path())
	}
	det.Configs = len(plan.Configs)

	// Download.
	if err := h.download(ctx, j, plan, dirs); err != nil {
		var pe *pacifica.Error
		if pacifica.IsRetryable(err) || ctx.Err() != nil || !errors.As(err, &pe) {
			return worker.Result{Details: mustJSON(det)}, err
		}
		// cartd refused the files for good (a hash that does not match, a file it lost).
		return h.failed(ctx, j, in, dirs, det, err, "")
	}

	// Compute.
	configs, err := WriteConfigs(plan, dirs.download, dirs.upload, filepath.Join(dirs.work, "configs"))
	if err != nil {
		return worker.Result{}, err
	}
	stdout, err := subprocess.CreateCapped(filepath.Join(dirs.upload, "stdout.log"), h.cfg.LogLimit, 0)
	if err != nil {
		return worker.Result{}, err
	}
	stderr, err := subprocess.CreateCapped(filepath.Join(dirs.upload, "stderr.log"), h.cfg.LogLimit, stderrTailSize)
	if err != nil {
		_ = stdout.Close()
		return worker.Result{}, err
	}
	// A compute slot while the models run, not while waiting on cartd or ingest.
	release, err := j.Compute(ctx)
	if err != nil {
		_ = stdout.Close()
		_ = stderr.Close()
		return worker.Result{Details: mustJSON(det)}, err
	}
	j.Logf("running %d model(s) with %s on %d configuration(s)", len(plan.Models), h.cfg.Python, len(configs))
	start := time.Now()
	// The output goes to the upload's log files and, as it is written, to the job log.
	liveOut, liveErr := j.Output("stdout"), j.Output("stderr")
	runErr := RunModels(ctx, RunConfig{Python: h.cfg.Python, Env: h.cfg.Env, Dir: dirs.upload, WorkDir: dirs.work,
		Stdout: io.MultiWriter(stdout, liveOut), Stderr: io.MultiWriter(stderr, liveErr), KillGrace: h.cfg.KillGrace,
		Sandbox: h.cfg.Sandbox, AttemptDir: j.Dir, ReadOnly: h.cfg.ReadOnly}, plan.Models, dirs.download, configs)
	release()
	_ = stdout.Close()
	_ = stderr.Close()
	_ = liveOut.Close()
	_ = liveErr.Close()
	if runErr != nil {
		tail := strings.TrimSpace(stderr.Tail())
		var ee *subprocess.ExitError
		if hint := h.cfg.Sandbox.Hint(tail); hint != "" && (!errors.As(runErr, &ee) || ee.Limit == nil) {
			runErr = fmt.Errorf("%w (%s)", runErr, hint)
		}
		j.Logf("models failed after %s: %v", time.Since(start).Round(time.Millisecond), runErr)
		if tail != "" {
			j.Logf("stderr (tail):\n%s", tail)
		}
		switch {
		case errors.Is(context.Cause(ctx), worker.ErrTimeLimit):
			// The run's own time limit: upload what it produced, with a fresh context.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.FailureUploadTimeout)
			defer cancel()
			return h.failed(uctx, j, in, dirs, det, fmt.Errorf("the models ran past the job's time limit: %w", context.Cause(ctx)), tail)
		case ctx.Err() != nil:
			// Cancelled by an operator, a lost lease or shutdown: nothing is uploaded.
			return worker.Result{Details: mustJSON(det)}, runErr
		}
		// A model that failed (*ModelError), or the interpreter itself (missing, killed):
		// the same on every attempt, so the job fails with its logs uploaded.
		return h.failed(ctx, j, in, dirs, det, runErr, tail)
	}
	j.Logf("models finished in %s", time.Since(start).Round(time.Millisecond))

	// Upload.
	n, err := h.writeUploadLog(dirs, in, j, nil)
	if err != nil {
		return worker.Result{}, err
	}
	det.UploadedFiles = n
	tx, err := h.cfg.Ingest.UploadOnce(ctx, j, UploadResult, dirs.upload, uploadMeta(in, j, nil))
	if err != nil {
		return worker.Result{Details: mustJSON(det)}, err
	}
	j.Logf("uploaded %d files as transaction %d", n, tx)
	return worker.Result{TransactionID: &tx, Details: mustJSON(det)}, nil
}

type jobDirs struct{ download, upload, work string }

func (h *Handler) download(ctx context.Context, j *worker.Job, plan *Plan, dirs jobDirs) error {
	cf, size := worker.CartFiles(plan.Files())
	start := time.Now()
	err := h.cfg.Cart.Download(ctx, cf, dirs.download)
	var out, errText strings.Builder
	fmt.Fprintf(&out, "%s downloading %d files (%d bytes) through cartd\n", stamp(start), len(cf), size)
	for _, f := range cf {
		fmt.Fprintf(&out, "  %s (Files._id %d, %d bytes, %s %s)\n", f.Path, f.ID, f.Size, f.HashType, f.HashSum)
	}
	if err != nil {
		fmt.Fprintf(&errText, "%s download failed: %v\n", stamp(time.Now()), err)
		j.Logf("download failed: %v", err)
	} else {
		fmt.Fprintf(&out, "%s downloaded and checked in %s\n", stamp(time.Now()), time.Since(start).Round(time.Millisecond))
		j.Logf("downloaded %d files (%d bytes) in %s", len(cf), size, time.Since(start).Round(time.Millisecond))
	}
	if werr := os.WriteFile(filepath.Join(dirs.upload, "download-stdout.log"), []byte(out.String()), 0o644); werr != nil {
		return werr
	}
	if werr := os.WriteFile(filepath.Join(dirs.upload, "download-stderr.log"), []byte(errText.String()), 0o644); werr != nil {
		return werr
	}
	return err
}

// writeUploadLog writes upload-stdout.log and upload-stderr.log (they go up with the
// upload, so they describe it before it starts) and returns the number of files to upload.
func (h *Handler) writeUploadLog(dirs jobDirs, in *event.Ingest, j *worker.Job, failure error) (int, error) {
	var out strings.Builder
	files, err := pacifica.BundleFiles(dirs.upload)
	if err != nil {
		return 0, err
	}
	meta := uploadMeta(in, j, failure)
	fmt.Fprintf(&out, "%s uploading %d files as a new transaction (submitter %s, project %s, instrument %s)\n",
		stamp(time.Now()), len(files)+2, meta.Submitter, meta.Project, meta.Instrument)
	for _, kv := range meta.KeyValues {
		fmt.Fprintf(&out, "  key/value %s = %s\n", kv.Key, kv.Value)
	}
	if err := os.WriteFile(filepath.Join(dirs.upload, "upload-stdout.log"), []byte(out.String()), 0o644); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dirs.upload, "upload-stderr.log"), nil, 0o644); err != nil {
		return 0, err
	}
	return len(files) + 2, nil
}

// failed ends the job as failed with cause, after uploading the run's logs (everything in
// the upload directory) as a transaction marked dispatcher.status = failed, so that the
// scientist sees them in Pacifica. The job's error carries the tail of stderr. That upload
// too is made once per job: when a retried job (an operator's retry) fails again, the
// first failed run's transaction stands and is the job's.
func (h *Handler) failed(ctx context.Context, j *worker.Job, in *event.Ingest, dirs jobDirs, det Details, cause error, tail string) (worker.Result, error) {
	msg := cause.Error()
	if tail != "" {
		msg += "\nstderr (tail):\n" + tail
	}
	// The error is also in stderr.log, for the scientist reading the upload.
	f, err := os.OpenFile(filepath.Join(dirs.upload, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, _ = fmt.Fprintf(f, "\n[dispatcher] job failed: %v\n", cause)
		_ = f.Close()
	}
	res := worker.Result{}
	n, err := h.writeUploadLog(dirs, in, j, cause)
	if err == nil {
		var tx int64
		tx, err = h.cfg.Ingest.UploadOnce(ctx, j, UploadFailedRun, dirs.upload, uploadMeta(in, j, cause))
		if err == nil {
			det.UploadedFiles, det.Failed = n, true
			res.TransactionID = &tx
			j.Logf("uploaded the failed run's %d files as transaction %d", n, tx)
		}
	}
	if err != nil {
		j.Logf("the failed run's logs could not be uploaded: %v", err)
		msg += "\n(the run's logs could not be uploaded: " + err.Error() + ")"
	}
	res.Details = mustJSON(det)
	return res, worker.Permanent(errors.New(msg))
}

// uploadMeta is the metadata of an upload: what every result carries (Job.ResultMeta) and,
// for a failed run, the failure marks.
func uploadMeta(in *event.Ingest, j *worker.Job, failure error) pacifica.UploadMeta {
	// The result carries no dispatcher.status, the failed run's upload "failed": an
	// earlier attempt's upload is told by it (pacifica.IngestClient.UploadOnce).
	m := j.ResultMeta(in, StatusKey)
	if failure != nil {
		msg := failure.Error()
		if len(msg) > 1000 {
			msg = msg[:1000] + "…"
		}
		m.KeyValues = append(m.KeyValues,
			pacifica.KeyValue{Key: StatusKey, Value: mustJSON(StatusFailed)},
			pacifica.KeyValue{Key: ErrorKey, Value: mustJSON(msg)})
	}
	return m
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

var mustJSON = worker.JSONValue
