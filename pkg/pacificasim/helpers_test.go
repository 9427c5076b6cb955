package pacificasim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// env is a simulator with each service on its own test server.
type env struct {
	sim                                    *Sim
	cartd, ingest, notifications, metadata string // base URLs
}

// fixedNow is the clock of tests that check timestamps: a local time.
var fixedNow = time.Date(2020, 5, 13, 15, 16, 18, 0, time.Local)

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	if cfg.StagingDelay == 0 {
		cfg.StagingDelay = 5 * time.Millisecond
	}
	if cfg.IngestStepDelay == 0 {
		cfg.IngestStepDelay = -1
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: s}
	for _, x := range []struct {
		dst *string
		h   http.Handler
	}{{&e.cartd, s.CartdHandler()}, {&e.ingest, s.IngestHandler()},
		{&e.notifications, s.NotificationsHandler()}, {&e.metadata, s.MetadataHandler()}} {
		srv := httptest.NewServer(x.h)
		t.Cleanup(srv.Close)
		*x.dst = srv.URL
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// testCtx bounds a test's waits.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tarFile is one entry of a test tar.
type tarFile struct {
	name string
	body string
	dir  bool
}

func makeTar(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if f.dir {
			hdr = &tar.Header{Name: f.name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha1hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// upFile is a file of a test upload.
type upFile struct {
	subdir, name, body, mimetype string
}

// fileEntry is the metadata entry of f, in the bundle's documented shape.
func fileEntry(f upFile) map[string]any {
	mt := f.mimetype
	if mt == "" {
		mt = "text/plain"
	}
	return map[string]any{"destinationTable": "Files", "name": f.name, "subdir": f.subdir,
		"size": len(f.body), "hashtype": "sha1", "hashsum": sha1hex(f.body), "mimetype": mt,
		"ctime": "2020-05-13T22:16:18", "mtime": "2020-05-13T22:16:18"}
}

// bundleOf builds a well-formed bundle: the files under data/, then metadata.txt with the
// transaction entries (given as JSON text) and one Files entry per file.
func bundleOf(t *testing.T, txEntries string, files ...upFile) []byte {
	t.Helper()
	var meta []json.RawMessage
	if txEntries != "" {
		if err := json.Unmarshal([]byte(txEntries), &meta); err != nil {
			t.Fatalf("transaction entries: %v", err)
		}
	}
	var entries []tarFile
	for _, f := range files {
		name := "data/" + f.name
		if f.subdir != "" {
			name = "data/" + strings.TrimSuffix(f.subdir, "/") + "/" + f.name
		}
		entries = append(entries, tarFile{name: name, body: f.body})
		b, err := json.Marshal(fileEntry(f))
		if err != nil {
			t.Fatal(err)
		}
		meta = append(meta, b)
	}
	m, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	return makeTar(t, append(entries, tarFile{name: "metadata.txt", body: string(m)}))
}

const txEntries = `[{"destinationTable": "Transactions.submitter", "value": 10},
 {"destinationTable": "Transactions.project", "value": "1234a"},
 {"destinationTable": "Transactions.instrument", "value": 54},
 {"destinationTable": "TransactionKeyValue", "key": "k", "value": "v"},
 {"destinationTable": "TransactionKeyValue", "key": "n", "value": 5}]`

// do sends a request and returns the answer with its body read.
func do(t *testing.T, method, url, contentType string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// upload posts a bundle and returns the job state of the answer.
func (e *env) upload(t *testing.T, bundle []byte) JobState {
	t.Helper()
	resp, body := do(t, http.MethodPost, e.ingest+"/upload", "application/octet-stream", bundle)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s %s", resp.Status, body)
	}
	var st JobState
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("upload answer %s: %v", body, err)
	}
	return st
}

// ingestOK uploads a bundle, waits for its job and requires success.
func (e *env) ingestOK(t *testing.T, bundle []byte) Transaction {
	t.Helper()
	st := e.upload(t, bundle)
	final, err := e.sim.WaitJob(testCtx(t), st.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != "OK" || !final.Complete {
		t.Fatalf("job %d: %+v", st.JobID, final)
	}
	tx, ok := e.sim.Transaction(st.JobID)
	if !ok {
		t.Fatalf("transaction %d not stored", st.JobID)
	}
	return tx
}

// getState polls /get_state once.
func (e *env) getState(t *testing.T, id int64) JobState {
	t.Helper()
	resp, body := do(t, http.MethodGet, e.ingest+"/get_state?job_id="+itoa(id), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get_state: %s %s", resp.Status, body)
	}
	var st JobState
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// checkErrorBody requires Pacifica's error JSON with the status of code.
func checkErrorBody(t *testing.T, resp *http.Response, body []byte, code int) map[string]any {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("status %s, want %d; body %s", resp.Status, code, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	for _, k := range []string{"status", "message", "traceback", "version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("error body %s lacks %q", body, k)
		}
	}
	if want := itoa(int64(code)) + " " + http.StatusText(code); m["status"] != want {
		t.Errorf("error status %v, want %q", m["status"], want)
	}
	return m
}
