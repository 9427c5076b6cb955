package pacifica

import (
	"archive/tar"
	"context"
	"crypto/sha1" //nolint:gosec
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is what the fake ingest saw of an upload.
type received struct {
	contentType   string
	contentLength int64
	bodyLength    int64
	names         []string
	hashes        map[string]string
	metadata      []map[string]any
}

// fakeIngest answers as pacifica-ingest does: POST /upload, GET /get_state?job_id=N.
type fakeIngest struct {
	mu       sync.Mutex
	got      []received
	states   []string // the states get_state walks through, e.g. "OK:ingest files:50", "OK:ingest metadata:100"
	polls    map[int64]int
	uploadSC int
}

func newFakeIngest(t *testing.T, f *fakeIngest) (*Client, *httptest.Server) {
	t.Helper()
	f.polls = map[int64]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			if f.uploadSC != 0 {
				w.WriteHeader(f.uploadSC)
				_, _ = w.Write([]byte(`{"status": "503 Service Unavailable", "message": "ingest is resting"}`))
				return
			}
			rec := received{contentType: r.Header.Get("Content-Type"), contentLength: r.ContentLength, hashes: map[string]string{}}
			cr := &countReader{r: r.Body}
			tr := tar.NewReader(cr)
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				rec.names = append(rec.names, h.Name)
				hs := sha1.New() //nolint:gosec
				b, _ := io.ReadAll(io.TeeReader(tr, hs))
				rec.hashes[h.Name] = hex.EncodeToString(hs.Sum(nil))
				if h.Name == "metadata.txt" {
					_ = json.Unmarshal(b, &rec.metadata)
				}
			}
			_, _ = io.Copy(io.Discard, cr)
			rec.bodyLength = cr.n
			f.mu.Lock()
			f.got = append(f.got, rec)
			id := int64(1000 + len(f.got))
			f.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"job_id": id, "state": "OK", "task": "UPLOADING",
				"task_percent": "0", "complete": false, "exception": ""})
		case "/get_state":
			var id int64
			fmt.Sscan(r.URL.Query().Get("job_id"), &id)
			f.mu.Lock()
			n := f.polls[id]
			f.polls[id]++
			f.mu.Unlock()
			if id < 1001 {
				w.WriteHeader(404)
				return
			}
			st := strings.SplitN(f.states[min(n, len(f.states)-1)], ":", 4)
			exc := ""
			if len(st) == 4 {
				exc = st[3]
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"job_id": id, "state": st[0], "task": st[1],
				"task_percent": st[2], "complete": false, "exception": exc})
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{UploadURL: srv.URL + "/upload", UploadStatusURL: srv.URL + "/get_state", DownloadURL: srv.URL,
		NotificationsURL: srv.URL, CABundle: "True", IngestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestUploadBundleIsExactlyWhatIngestExpects(t *testing.T) {
	t.Parallel()
	f := &fakeIngest{states: []string{"OK:open tar:0", "OK:ingest files:50.0", "OK:ingest metadata:100.00000"}}
	c, _ := newFakeIngest(t, f)
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 110) + ".csv"
	dir := writeTree(t, map[string]string{"outputs/out.csv": "a,b\n", "stdout.log": "hello\n", "z.bin": "\x00\x01", long: "x"})
	meta := UploadMeta{Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"1234a"`), Instrument: json.RawMessage(`null`),
		KeyValues: []KeyValue{{Key: "Transactions._id", Value: json.RawMessage(`1234`)}, {Key: "k", Value: json.RawMessage(`"v"`)}}}
	id, err := c.Ingest.Upload(context.Background(), dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	if id != 1001 {
		t.Errorf("transaction id %d, want the job_id 1001", id)
	}
	got := f.got[0]
	if got.contentType != "application/octet-stream" || got.contentLength != got.bodyLength || got.contentLength <= 0 {
		t.Errorf("content type %q, Content-Length %d, body %d bytes", got.contentType, got.contentLength, got.bodyLength)
	}
	wantNames := []string{"data/" + long, "data/outputs/out.csv", "data/stdout.log", "data/z.bin", "metadata.txt"}
	if strings.Join(got.names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("tar entries %v, want %v (no directories, metadata.txt last)", got.names, wantNames)
	}
	md := got.metadata
	if len(md) != 4+4 { // submitter, project, 2 key/values, 4 files
		t.Fatalf("metadata has %d entries: %v", len(md), md)
	}
	if md[0]["destinationTable"] != "Transactions.submitter" || md[0]["value"] != float64(10) ||
		md[1]["destinationTable"] != "Transactions.project" || md[1]["value"] != "1234a" ||
		md[2]["destinationTable"] != "TransactionKeyValue" || md[2]["key"] != "Transactions._id" || md[2]["value"] != float64(1234) {
		t.Errorf("metadata head = %v (null instrument must be left out, JSON types kept)", md[:3])
	}
	for _, e := range md[4:] {
		name := "data/" + strings.TrimPrefix(e["subdir"].(string)+"/"+e["name"].(string), "/")
		if e["destinationTable"] != "Files" || e["hashtype"] != "sha1" || e["hashsum"] != got.hashes[name] {
			t.Errorf("file entry %v does not match the tar entry %s (hash %s)", e, name, got.hashes[name])
		}
	}
	if md[5]["subdir"] != "outputs" || md[5]["mimetype"] != "text/csv" || md[6]["subdir"] != "" || md[6]["mimetype"] != "text/plain" ||
		md[7]["mimetype"] != "application/octet-stream" {
		t.Errorf("subdirs/mimetypes: %v", md[5:])
	}
}

func TestUploadFailures(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"a.txt": "a"})
	t.Run("FAILED", func(t *testing.T) {
		t.Parallel()
		f := &fakeIngest{states: []string{"OK:open tar:0", "FAILED:Policy Validation:0:unknown submitter 10"}}
		c, _ := newFakeIngest(t, f)
		_, err := c.Ingest.Upload(context.Background(), dir, UploadMeta{})
		if err == nil || IsRetryable(err) || !strings.Contains(err.Error(), "unknown submitter 10") {
			t.Errorf("FAILED upload: %v (retryable %v), want a permanent error with the exception", err, IsRetryable(err))
		}
	})
	t.Run("5xx is retryable", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeIngest(t, &fakeIngest{uploadSC: 503})
		_, err := c.Ingest.Upload(context.Background(), dir, UploadMeta{})
		if !IsRetryable(err) || !strings.Contains(err.Error(), "ingest is resting") {
			t.Errorf("503: %v", err)
		}
	})
	t.Run("never done times out, retryable", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeIngest(t, &fakeIngest{states: []string{"OK:ingest files:50"}})
		c.Ingest.timeout = 300 * time.Millisecond
		_, err := c.Ingest.Upload(context.Background(), dir, UploadMeta{})
		if !IsRetryable(err) {
			t.Errorf("time-out: %v", err)
		}
	})
	t.Run("connection refused is retryable", func(t *testing.T) {
		t.Parallel()
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		c, err := New(Config{UploadURL: "http://" + addr + "/upload", UploadStatusURL: "http://" + addr + "/get_state",
			DownloadURL: "http://" + addr, NotificationsURL: "http://" + addr})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Ingest.Upload(context.Background(), dir, UploadMeta{})
		if !IsRetryable(err) {
			t.Errorf("connection refused: %v", err)
		}
		if err := c.Cart.Download(context.Background(), goodFiles(), t.TempDir()); !IsRetryable(err) {
			t.Errorf("cartd connection refused: %v", err)
		}
	})
	t.Run("slow server hits the deadline", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		defer srv.Close()
		c, _ := New(Config{UploadURL: srv.URL, UploadStatusURL: srv.URL, DownloadURL: srv.URL, NotificationsURL: srv.URL,
			RequestTimeout: 200 * time.Millisecond})
		_, err := c.Ingest.State(context.Background(), 1)
		if !IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("slow server: %v", err)
		}
	})
	t.Run("links are refused", func(t *testing.T) {
		t.Parallel()
		d := writeTree(t, map[string]string{"a.txt": "a"})
		if err := os.Symlink("/etc/passwd", filepath.Join(d, "link")); err != nil {
			t.Fatal(err)
		}
		c, _ := newFakeIngest(t, &fakeIngest{states: []string{"OK:ingest metadata:100"}})
		if _, err := c.Ingest.Upload(context.Background(), d, UploadMeta{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a symlink in the upload directory: %v", err)
		}
	})
	t.Run("Transactions._id field refused", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeIngest(t, &fakeIngest{states: []string{"OK:ingest metadata:100"}})
		_, err := c.Ingest.Upload(context.Background(), dir, UploadMeta{Fields: []KeyValue{{Key: "_id", Value: json.RawMessage("5")}}})
		if err == nil {
			t.Error("Transactions._id was sent")
		}
	})
}

func TestBundleSizeIsExact(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"a": "", "b/c.csv": strings.Repeat("x", 511), "b/d": strings.Repeat("y", 512), "e": strings.Repeat("z", 513),
		strings.Repeat("n", 99): "1", strings.Repeat("m", 150) + "/" + strings.Repeat("é", 80): "2",
	})
	files, err := BundleFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := hashFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	meta := UploadMeta{KeyValues: []KeyValue{{Key: "k", Value: json.RawMessage(`"v"`)}}}
	want, err := BundleSize(files, meta)
	if err != nil {
		t.Fatal(err)
	}
	n, err := WriteBundle(io.Discard, dir, files, meta)
	if err != nil || n != want {
		t.Errorf("WriteBundle wrote %d bytes (%v), BundleSize said %d", n, err, want)
	}
}

// TestUploadLargeFileMemory uploads a large file (1 GiB; 64 MiB with -short) and checks
// that the bytes allocated while streaming stay small: the bundle is never held in memory.
func TestUploadLargeFileMemory(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: no disk, reads as zeros
		t.Fatal(err)
	}
	f.Close()
	var got int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload" {
			got, _ = io.Copy(io.Discard, r.Body)
			_, _ = w.Write([]byte(`{"job_id": 7, "state": "OK", "task": "UPLOADING", "task_percent": "0"}`))
			return
		}
		_, _ = w.Write([]byte(`{"job_id": 7, "state": "OK", "task": "ingest metadata", "task_percent": "100"}`))
	}))
	defer srv.Close()
	c, _ := New(Config{UploadURL: srv.URL + "/upload", UploadStatusURL: srv.URL + "/get_state", DownloadURL: srv.URL, NotificationsURL: srv.URL})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := c.Ingest.Upload(context.Background(), dir, UploadMeta{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("uploaded %d MiB (server read %d bytes); allocated %.1f MiB in total", size>>20, got, float64(alloc)/(1<<20))
	if got < size {
		t.Errorf("server read %d bytes, want more than %d", got, size)
	}
	if alloc > 64<<20 {
		t.Errorf("allocated %d bytes to upload %d: the bundle is buffered", alloc, size)
	}
}
