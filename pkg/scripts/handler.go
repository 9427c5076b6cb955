package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/subprocess"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/verify"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// Key/values the dispatcher puts on every upload of a script job, besides those of the
// script's key/value file.
const (
	// LineageKey links the upload to its source transaction (Pacifica's way of linking a result to its source); events
	// that carry it match no route, so a script's output never triggers it again.
	LineageKey = pacifica.LineageKey
	// JobIDKey names the job that made the upload.
	JobIDKey = pacifica.JobIDKey
	// OutputKey names the output directory (its name in the INI file).
	OutputKey = "dispatcher.output"
)

// Directories and files of a script job's directory, relative to it.
const (
	DownloadDir = "download"
	EventFile   = "event.json"
	logDir      = ".dispatcher"
)

// Cart downloads files; *pacifica.CartClient is one.
type Cart interface {
	Download(ctx context.Context, files []pacifica.CartFile, dir string) error
}

// Ingest uploads a directory as a new transaction, at most once per name and job across
// the job's attempts; *pacifica.IngestClient is one.
type Ingest interface {
	UploadOnce(ctx context.Context, ledger pacifica.Ledger, name, dir string, meta pacifica.UploadMeta) (int64, error)
}

// HandlerConfig configures the script handler.
type HandlerConfig struct {
	Cart   Cart
	Ingest Ingest
	// Metadata is Pacifica's metadata service, against which every event is checked before
	// the job acts on it; *pacifica.MetadataClient is one.
	Metadata verify.Metadata
	// Scripts are the configured scripts; a job's route names its script.
	Scripts []Script
	// Env are extra KEY=VALUE variables of every script (SCRIPT_ENV).
	Env []string
	// LogLimit caps the stdout and stderr files of a run (default 64 MiB); LogKeep is how
	// much of the end of each is kept in the script log (default 256 KiB).
	LogLimit int64
	LogKeep  int
	// KillGrace is the time between SIGTERM and SIGKILL of the script's process group
	// (default 5s).
	KillGrace time.Duration
	// Sandbox confines the scripts (nil or disabled: they run with the worker's rights).
	Sandbox *sandbox.Sandbox
}

// Handler runs script jobs: download every file of the event, run the script in the job
// directory, upload each output directory with its key/values.
type Handler struct {
	cfg     HandlerConfig
	scripts map[string]Script // by route name
}

// NewHandler returns the script handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Cart == nil || cfg.Ingest == nil || cfg.Metadata == nil {
		return nil, errors.New("scripts: the handler needs the cartd, ingest and metadata clients")
	}
	if cfg.LogLimit <= 0 {
		cfg.LogLimit = 64 << 20
	}
	if cfg.LogKeep <= 0 {
		cfg.LogKeep = 256 << 10
	}
	h := &Handler{cfg: cfg, scripts: map[string]Script{}}
	for _, s := range cfg.Scripts {
		h.scripts[RouteName(s.Name)] = s
	}
	return h, nil
}

// Run is the script log of a job: what dispatcher-k8s kept for each run, and what was
// uploaded. It is the job's details.
type Run struct {
	Script     string    `json:"script"`
	Program    string    `json:"program"`
	ReturnCode *int      `json:"return_code"`
	Signal     string    `json:"signal,omitempty"`
	Duration   float64   `json:"duration_seconds,omitempty"`
	Stdout     string    `json:"stdout"`
	Stderr     string    `json:"stderr"`
	Truncated  bool      `json:"truncated,omitempty"`
	Downloaded int       `json:"downloaded_files"`
	Outputs    []Output  `json:"outputs,omitempty"`
	Started    time.Time `json:"started,omitzero"`
}

// Run runs one attempt of a script job.
func (h *Handler) Run(ctx context.Context, j *worker.Job) (worker.Result, error) {
	s, ok := h.scripts[j.Route]
	if !ok {
		return worker.Result{}, worker.Permanent(fmt.Errorf("route %q has no script in this worker (SCRIPT_DIR)", j.Route))
	}
	// Every fact the job uses is Pacifica metadata's, once the event agrees with it.
	in, err := verify.Ingest(ctx, h.cfg.Metadata, j)
	if err != nil {
		return worker.Result{}, err
	}
	run := Run{Script: s.Name, Program: s.Program}
	result := func() worker.Result { return worker.Result{Details: mustJSON(run)} }

	if err := h.prepare(j, s); err != nil {
		return result(), err
	}
	if len(in.Files) > 0 {
		if err := h.download(ctx, j, s, in); err != nil {
			return result(), err
		}
	}
	run.Downloaded = len(in.Files)

	// Run the script.
	code, err := h.execute(ctx, j, s, in, &run)
	run.ReturnCode = code
	if err != nil {
		return result(), err
	}

	// Check every output directory and key/value file before the first upload, so that a
	// bad one uploads nothing.
	ups, err := h.collect(j.Dir, s)
	if err != nil {
		j.Logf("%v", err)
		return result(), worker.Permanent(fmt.Errorf("script %s: %w", s.Name, err))
	}
	var first *int64
	for i, u := range ups {
		run.Outputs = append(run.Outputs, u.out)
		if u.out.Files == 0 {
			j.Logf("output %s (%s) is empty: nothing to upload", u.out.Name, u.out.Directory)
			continue
		}
		// An output uploaded by an earlier attempt (which then failed or lost its worker) is
		// not uploaded again.
		tx, err := h.cfg.Ingest.UploadOnce(ctx, j, "output/"+u.out.Name, u.dir, uploadMeta(in, j, u))
		if err != nil {
			j.Logf("uploading output %s failed: %v", u.out.Name, err)
			return result(), fmt.Errorf("uploading output %s of script %s: %w", u.out.Name, s.Name, err)
		}
		run.Outputs[i].TransactionID = &tx
		if first == nil {
			first = &tx
		}
		j.Logf("uploaded output %s (%d files, %d key/values) as transaction %d", u.out.Name, u.out.Files, u.out.KeyValues, tx)
	}
	res := result()
	res.TransactionID = first
	return res, nil
}

// prepare makes the job directory's layout: download/, the output directories, the
// dispatcher's own log directory, and event.json.
func (h *Handler) prepare(j *worker.Job, s Script) error {
	dirs := []string{DownloadDir, logDir}
	for _, o := range s.OutputDirs {
		dirs = append(dirs, o.Directory)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(j.Dir, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("creating the job directories: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(j.Dir, EventFile), j.Event.Document(), 0o644); err != nil {
		return fmt.Errorf("writing the event file: %w", err)
	}
	return nil
}

// download fetches every file of the event into download/, within the script's
// download_timeout.
func (h *Handler) download(ctx context.Context, j *worker.Job, s Script, in *event.Ingest) error {
	files, size := worker.CartFiles(in.Files)
	dctx, cancel := context.WithTimeoutCause(ctx, s.DownloadTimeout,
		fmt.Errorf("download_timeout of %s exceeded", s.DownloadTimeout))
	defer cancel()
	start := time.Now()
	err := h.cfg.Cart.Download(dctx, files, filepath.Join(j.Dir, DownloadDir))
	if err != nil {
		if ctx.Err() == nil && dctx.Err() != nil {
			err = fmt.Errorf("%w: %w", context.Cause(dctx), err)
		}
		j.Logf("download of %d files failed: %v", len(files), err)
		return fmt.Errorf("downloading the event's files: %w", err)
	}
	j.Logf("downloaded %d files (%d bytes) in %s", len(files), size, time.Since(start).Round(time.Millisecond))
	return nil
}

// execute runs the script in the job directory and records its outcome in run. It returns
// the exit code (nil when the script did not start) and an error when the job must not go
// on to the uploads.
func (h *Handler) execute(ctx context.Context, j *worker.Job, s Script, in *event.Ingest, run *Run) (*int, error) {
	stdout, err := subprocess.CreateCapped(filepath.Join(j.Dir, logDir, "stdout.log"), h.cfg.LogLimit, h.cfg.LogKeep)
	if err != nil {
		return nil, err
	}
	stderr, err := subprocess.CreateCapped(filepath.Join(j.Dir, logDir, "stderr.log"), h.cfg.LogLimit, h.cfg.LogKeep)
	if err != nil {
		_ = stdout.Close()
		return nil, err
	}
	// A compute slot while the script runs, not while waiting on cartd or ingest.
	release, err := j.Compute(ctx)
	if err != nil {
		_ = stdout.Close()
		_ = stderr.Close()
		return nil, err
	}
	defer release()
	j.Logf("running %s", s.Program)
	run.Started = time.Now().UTC()
	// The output goes to its files and, as it is written, to the job log.
	liveOut, liveErr := j.Output("stdout"), j.Output("stderr")
	res, err := subprocess.Run(ctx, subprocess.Cmd{
		Path: s.Program, Dir: j.Dir, Env: h.env(j, s, in),
		Stdout: io.MultiWriter(stdout, liveOut), Stderr: io.MultiWriter(stderr, liveErr), KillGrace: h.cfg.KillGrace,
		Sandbox: h.cfg.Sandbox,
		Spec: sandbox.Spec{Dir: j.Dir, Tmp: filepath.Join(j.Dir, logDir, "tmp"), ReadOnly: scriptPaths(s, h.cfg.Env),
			Network: s.Network},
	})
	_ = stdout.Close()
	_ = stderr.Close()
	_ = liveOut.Close()
	_ = liveErr.Close()
	// The log keeps the end of each stream; it is cut when a stream filled what is kept.
	run.Truncated = len(stdout.Tail()) >= h.cfg.LogKeep || len(stderr.Tail()) >= h.cfg.LogKeep
	run.Stdout, run.Stderr = printable(stdout.Tail()), printable(stderr.Tail())
	run.Duration = res.Duration.Seconds()
	if res.Signal != 0 {
		run.Signal = res.Signal.String()
	}
	code := res.ExitCode
	tail := lastLines(run.Stderr, 2048)
	var ee *subprocess.ExitError
	switch {
	case err == nil:
		j.Logf("%s exited with status 0 after %s", s.Name, res.Duration.Round(time.Millisecond))
		return &code, nil
	case ctx.Err() != nil:
		// The time limit, an operator's cancel or shutdown: the worker says which.
		j.Logf("%s stopped after %s: %v", s.Name, res.Duration.Round(time.Millisecond), context.Cause(ctx))
		return &code, err
	case errors.As(err, &ee):
		j.Logf("%s failed after %s: %v", s.Name, res.Duration.Round(time.Millisecond), ee)
		msg := fmt.Sprintf("script %s failed: %v", s.Name, ee)
		if hint := h.cfg.Sandbox.Hint(tail); hint != "" && ee.Limit == nil {
			msg += " (" + hint + ")"
		}
		if tail != "" {
			msg += "\nstderr (tail):\n" + tail
		}
		return &code, worker.Permanent(errors.New(msg))
	default:
		// It could not start: not executable, a bad interpreter line, a missing file.
		j.Logf("%s could not start: %v", s.Name, err)
		return nil, worker.Permanent(fmt.Errorf("script %s could not start: %w", s.Name, err))
	}
}

// scriptPaths are the host paths a script's sandbox sees read-only: the script's entry,
// the interpreter of its #! line, and the directories of SCRIPT_ENV's PATH and PYTHONPATH.
func scriptPaths(s Script, env []string) []string {
	out := []string{s.Entry}
	if interp := shebang(s.Program); interp != "" {
		out = append(out, interp)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "PYTHONPATH" {
			out = append(out, filepath.SplitList(v)...)
		}
	}
	return out
}

// shebang returns the interpreter of a #! line, or "".
func shebang(program string) string {
	f, err := os.Open(program)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := f.Read(b)
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return ""
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return ""
	}
	return fields[0]
}

// env is the script's whole environment: subprocess.CleanEnv, SCRIPT_ENV, and the job's
// facts.
func (h *Handler) env(j *worker.Job, s Script, in *event.Ingest) []string {
	out := ""
	if len(s.OutputDirs) > 0 {
		out = filepath.Join(j.Dir, filepath.FromSlash(s.OutputDirs[0].Directory))
	}
	extra := append([]string(nil), h.cfg.Env...)
	extra = append(extra,
		"DISPATCHER_JOB_ID="+j.ID.String(),
		"DISPATCHER_ATTEMPT="+strconv.Itoa(j.Attempt),
		"DISPATCHER_SCRIPT="+s.Name,
		"DISPATCHER_EVENT_ID="+j.Event.ID(),
		"DISPATCHER_EVENT_FILE="+filepath.Join(j.Dir, EventFile),
		"DISPATCHER_JOB_DIR="+j.Dir,
		"DISPATCHER_DOWNLOAD_DIR="+filepath.Join(j.Dir, DownloadDir),
		"DISPATCHER_OUTPUT_DIR="+out,
		"DISPATCHER_TRANSACTION_ID="+in.Transaction.ID.String(),
	)
	return subprocess.CleanEnv(j.Dir, extra...)
}

// lastLines returns at most max bytes of the end of s, from a line start when it can.
func lastLines(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return s
}

// printable makes a script's output storable: valid UTF-8 without NUL bytes, which
// PostgreSQL's text and jsonb refuse.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

var mustJSON = worker.JSONValue
