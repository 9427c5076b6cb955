package pacificasim

import (
	"context"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// defaultIngestUser is the acting user of an upload without X-Http-Authed-User.
const defaultIngestUser = "root"

// IngestHandler returns ingest: POST (or PUT) /upload and GET /get_state?job_id=N
// (as pacifica-ingest answers).
func (s *Sim) IngestHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/upload", s.upload)
	mux.HandleFunc("/get_state", s.getState)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The path '"+r.URL.Path+"' was not found.")
	})
	return s.withFaults(ServiceIngest, mux)
}

func (s *Sim) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" ||
		mt == "application/x-www-form-urlencoded" {
		// CherryPy parses such a body as a form before ingest sees it, and fails.
		writeError(w, http.StatusInternalServerError, "the upload was sent as a form ("+mt+"), not as application/octet-stream")
		return
	}
	user := r.Header.Get("X-Http-Authed-User")
	if user == "" {
		user = defaultIngestUser
	}
	id := s.newJob()
	log := s.log.With("job_id", id)
	dir := filepath.Join(s.dataDir, stagingDir, strconv.FormatInt(id, 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.failJob(id, taskUploading, err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	b, err := readBundle(r.Body, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		s.failJob(id, taskUploading, err)
		log.Warn("ingest: upload failed", "error", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.setJob(id, stateOK, taskUploading, 100, "")
	log.Info("ingest: upload received", "user", user, "files", len(b.entries), "bytes", b.bytesWritten)
	run := &ingestRun{id: id, user: user, dir: dir, bundle: b, log: log}
	if !s.goBackground(func(ctx context.Context) { s.runIngest(ctx, run) }) {
		_ = os.RemoveAll(dir)
	}
	st, _ := s.Job(id)
	writeJSON(w, http.StatusOK, st)
}

func (s *Sim) getState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	id, err := strconv.ParseInt(r.URL.Query().Get("job_id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "invalid job_id: "+err.Error())
		return
	}
	st, ok := s.Job(id)
	if !ok {
		writeError(w, http.StatusNotFound, "job "+strconv.FormatInt(id, 10)+" not found")
		return
	}
	writeJSON(w, http.StatusOK, st)
}
