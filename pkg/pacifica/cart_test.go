package pacifica

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCartd answers as pacifica-cartd does, with a tar body the test chooses.
type fakeCartd struct {
	mu       sync.Mutex
	tarBody  []byte
	polls    int    // HEADs answered staging before ready
	errorMsg string // non-empty: the cart goes to error
	created  map[string][]map[string]any
	deleted  atomic.Int64
	authSeen []string
	staging  map[string]int
}

func newFakeCartd(t *testing.T, f *fakeCartd) *Client {
	t.Helper()
	f.created, f.staging = map[string][]map[string]any{}, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.authSeen = append(f.authSeen, r.Header.Get("Authorization"))
		uid := strings.TrimPrefix(r.URL.Path, "/")
		_, known := f.created[uid]
		switch r.Method {
		case http.MethodPost:
			var body struct {
				FileIDs []map[string]any `json:"fileids"`
			}
			if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(500)
				return
			}
			f.created[uid] = body.FileIDs
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"message": "Cart Processing has begun"}`))
		case http.MethodHead:
			if !known {
				w.Header().Set("X-Pacifica-Status", "error")
				w.Header().Set("X-Pacifica-Message", "No cart with uid "+uid+" found")
				w.WriteHeader(404)
				return
			}
			switch {
			case f.staging[uid] < f.polls:
				f.staging[uid]++
				w.Header().Set("X-Pacifica-Status", "staging")
			case f.errorMsg != "":
				w.Header().Set("X-Pacifica-Status", "error")
				w.Header().Set("X-Pacifica-Message", f.errorMsg)
				w.WriteHeader(500)
				return
			default:
				w.Header().Set("X-Pacifica-Status", "ready")
			}
			w.Header().Set("X-Pacifica-Message", "")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			if !known {
				w.WriteHeader(404)
				return
			}
			if r.URL.Query().Get("filename") != "data" {
				w.WriteHeader(400)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "attachment; filename=data")
			_, _ = w.Write(f.tarBody)
		case http.MethodDelete:
			if !known {
				w.WriteHeader(404)
				return
			}
			delete(f.created, uid)
			f.deleted.Add(1)
			_, _ = w.Write([]byte(`{"message": "Cart Deleted Successfully"}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{DownloadURL: srv.URL, UploadURL: srv.URL, UploadStatusURL: srv.URL, NotificationsURL: srv.URL,
		CABundle: "True", AuthType: "basic", Username: "u", Password: "p", CartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	csv1 = []byte("year,value\n2010,0.5\n")
	py1  = []byte("def f(*a):\n    pass\n")
)

func goodFiles() []CartFile {
	return []CartFile{
		{ID: 1, Path: "inputs/in.csv", HashType: "sha1", HashSum: sha1hex(csv1), Size: int64(len(csv1))},
		{ID: 3, Path: "models/f.py", HashType: "sha1", HashSum: sha1hex(py1), Size: int64(len(py1))},
	}
}

func goodTar(t *testing.T, top string) []byte {
	return makeTar(t, []tarEntry{
		{name: top + "/", typ: tar.TypeDir}, {name: top + "/inputs/", typ: tar.TypeDir},
		{name: top + "/inputs/in.csv", typ: tar.TypeReg, body: csv1},
		{name: top + "/models/", typ: tar.TypeDir}, {name: top + "/models/f.py", typ: tar.TypeReg, body: py1},
	}, 0)
}

func TestDownloadHappyPath(t *testing.T) {
	t.Parallel()
	for _, top := range []string{"data", "3f1c0e7a-uid"} { // cartd's "bundle" mode names the top dir after the cart
		f := &fakeCartd{polls: 3}
		c := newFakeCartd(t, f)
		f.tarBody = goodTar(t, top)
		dir := t.TempDir()
		if err := c.Cart.Download(context.Background(), goodFiles(), dir); err != nil {
			t.Fatalf("top %s: %v", top, err)
		}
		for p, want := range map[string][]byte{"inputs/in.csv": csv1, "models/f.py": py1} {
			got, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil || string(got) != string(want) {
				t.Errorf("%s = %q, %v", p, got, err)
			}
			if st, _ := os.Stat(filepath.Join(dir, p)); st.Mode().Perm() != 0o644 {
				t.Errorf("%s mode %v", p, st.Mode())
			}
		}
		if f.deleted.Load() != 1 {
			t.Error("the cart was not deleted after the download")
		}
		for _, a := range f.authSeen {
			if a != "Basic dTpw" {
				t.Errorf("a call carried Authorization %q, want basic credentials on every call", a)
			}
		}
	}
}

func TestCartErrors(t *testing.T) {
	t.Parallel()
	f := &fakeCartd{errorMsg: "Failed to pull file(Failed to pull with error: File hash does not match provided hash)"}
	c := newFakeCartd(t, f)
	err := c.Cart.Download(context.Background(), goodFiles(), t.TempDir())
	var pe *Error
	if !errors.As(err, &pe) || pe.Temporary || !strings.Contains(err.Error(), "File hash does not match") {
		t.Errorf("cart in error: %v (retryable %v), want a permanent error with cartd's message", err, IsRetryable(err))
	}
	if _, err := c.Cart.Status(context.Background(), "unknown"); !errors.As(err, &pe) || pe.StatusCode != 404 || !strings.Contains(err.Error(), "No cart with uid unknown found") {
		t.Errorf("unknown cart: %v", err)
	}
	if err := c.Cart.Delete(context.Background(), "unknown"); err == nil {
		t.Error("deleting an unknown cart succeeded")
	}
}

func TestCartNeverReadyTimesOut(t *testing.T) {
	t.Parallel()
	f := &fakeCartd{polls: 1 << 30}
	c := newFakeCartd(t, f)
	c.Cart.timeout = 300 * time.Millisecond
	err := c.Cart.Download(context.Background(), goodFiles(), t.TempDir())
	if !IsRetryable(err) || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("never-ready cart: %v, want a retryable time-out", err)
	}
}

func TestHostileTarStreams(t *testing.T) {
	t.Parallel()
	big := append(append([]byte{}, csv1...), 'x')
	cases := []struct {
		name    string
		entries []tarEntry
		trunc   int
		mention string
	}{
		{"dotdot entry", []tarEntry{{name: "data/../../evil", typ: tar.TypeReg, body: csv1}}, 0, "escapes"},
		{"dotdot inside", []tarEntry{{name: "data/inputs/../../../evil", typ: tar.TypeReg, body: csv1}}, 0, "escapes"},
		{"absolute", []tarEntry{{name: "/etc/evil", typ: tar.TypeReg, body: csv1}}, 0, ""},
		{"symlink", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeSymlink, linkname: "/etc/passwd"}}, 0, "links and devices"},
		{"hardlink", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeLink, linkname: "/etc/passwd"}}, 0, "links and devices"},
		{"char device", []tarEntry{{name: "data/dev", typ: tar.TypeChar}}, 0, "links and devices"},
		{"fifo", []tarEntry{{name: "data/fifo", typ: tar.TypeFifo}}, 0, "links and devices"},
		{"larger than announced", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: big}}, 0, "bytes, want"},
		{"wrong hash", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: []byte("year,value\n2010,0.6\n")},
			{name: "data/models/f.py", typ: tar.TypeReg, body: py1}}, 0, "does not match"},
		{"unexpected file", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: csv1},
			{name: "data/extra.sh", typ: tar.TypeReg, body: py1}}, 0, "not asked for"},
		{"missing file", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: csv1}}, 0, "missing from the cart"},
		{"duplicate file", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: csv1},
			{name: "data/inputs/in.csv", typ: tar.TypeReg, body: csv1}}, 0, "twice"},
		{"truncated", []tarEntry{{name: "data/inputs/in.csv", typ: tar.TypeReg, body: csv1},
			{name: "data/models/f.py", typ: tar.TypeReg, body: py1}}, 700, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeCartd{}
			c := newFakeCartd(t, f)
			f.tarBody = makeTar(t, tc.entries, tc.trunc)
			parent := t.TempDir()
			dir := filepath.Join(parent, "download")
			err := c.Cart.Download(context.Background(), goodFiles(), dir)
			if err == nil {
				t.Fatal("a hostile cart was extracted")
			}
			if tc.mention != "" && !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			assertOnlyInside(t, parent, dir)
		})
	}
}

func TestSymlinkPlantedInTarget(t *testing.T) {
	t.Parallel()
	f := &fakeCartd{}
	c := newFakeCartd(t, f)
	f.tarBody = goodTar(t, "data")
	parent := t.TempDir()
	dir := filepath.Join(parent, "download")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "inputs")); err != nil {
		t.Fatal(err)
	}
	if err := c.Cart.Download(context.Background(), goodFiles(), dir); err == nil {
		t.Error("extracted through a symlink planted in the target")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("a file was written outside the target through the link: %v", entries)
	}
}

// assertOnlyInside checks that parent holds nothing but dir (and what is inside it).
func assertOnlyInside(t *testing.T, parent, dir string) {
	t.Helper()
	_ = filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == parent || p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return nil
		}
		t.Errorf("%s was written outside the target directory", p)
		return nil
	})
}
