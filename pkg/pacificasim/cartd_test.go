package pacificasim

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// cartReq builds the body of a cart request for the files of tx, with paths subdir/name.
func cartReq(t *testing.T, files ...File) []byte {
	t.Helper()
	var ids []map[string]any
	for _, f := range files {
		p := f.Name
		if f.Subdir != "" {
			p = f.Subdir + "/" + f.Name
		}
		ids = append(ids, map[string]any{"id": f.ID, "path": p, "hashtype": f.HashType, "hashsum": f.HashSum})
	}
	b, err := json.Marshal(map[string]any{"fileids": ids})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// head polls HEAD /<uid> once.
func (e *env) head(t *testing.T, uid string) (code int, status, msg string) {
	t.Helper()
	resp, _ := do(t, http.MethodHead, e.cartd+"/"+uid, "", nil)
	return resp.StatusCode, resp.Header.Get("X-Pacifica-Status"), resp.Header.Get("X-Pacifica-Message")
}

// waitCart polls HEAD until the cart leaves staging.
func (e *env) waitCart(t *testing.T, uid string) (code int, status, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, status, msg = e.head(t, uid)
		if status != cartStaging || time.Now().After(deadline) {
			return code, status, msg
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) createCart(t *testing.T, uid string, body []byte) {
	t.Helper()
	resp, b := do(t, http.MethodPost, e.cartd+"/"+uid, "application/json", body)
	if resp.StatusCode != http.StatusCreated || string(b) != `{"message": "Cart Processing has begun"}` {
		t.Fatalf("create cart: %s %s", resp.Status, b)
	}
}

type tarItem struct {
	name string
	dir  bool
	body string
}

func readTar(t *testing.T, data []byte) []tarItem {
	t.Helper()
	var out []tarItem
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("download is not a tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarItem{name: h.Name, dir: h.Typeflag == tar.TypeDir, body: string(b)})
	}
}

func TestCartdLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{StagingDelay: 50 * time.Millisecond, Now: func() time.Time { return fixedNow }})
	tx := e.ingestOK(t, bundleOf(t, txEntries,
		upFile{subdir: "a/b", name: "foo.txt", body: "foo\n"},
		upFile{subdir: "a", name: "bar.txt", body: "bar"},
		upFile{name: "top.txt", body: "top"}))
	const uid = "2c1a2f0e-8a4e-4b8e-9a57-0123456789ab"
	e.createCart(t, uid, cartReq(t, tx.Files...))

	// Right after creation the cart is staging: HEAD 204, GET 202.
	if code, status, msg := e.head(t, uid); code != http.StatusNoContent || status != "staging" || msg != "" {
		t.Errorf("HEAD while staging: %d %q %q, want 204 staging \"\"", code, status, msg)
	}
	resp, body := do(t, http.MethodGet, e.cartd+"/"+uid+"?filename=data", "", nil)
	if resp.StatusCode != http.StatusAccepted || string(body) != "The cart is not ready for download." {
		t.Errorf("GET while staging: %s %q", resp.Status, body)
	}

	if code, status, msg := e.waitCart(t, uid); code != http.StatusNoContent || status != "ready" || msg != "" {
		t.Fatalf("HEAD once staged: %d %q %q, want 204 ready \"\"", code, status, msg)
	}

	tests := []struct {
		name, query, disposition, top string
	}{
		{"filename data", "?filename=data", "attachment; filename=data", "data"},
		{"filename with .tar", "?filename=results.tar", "attachment; filename=results.tar", "results"},
		{"no filename", "", "attachment; filename=data_2020_05_13_15_16_18.tar", "data_2020_05_13_15_16_18"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodGet, e.cartd+"/"+uid+tc.query, "", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET: %s %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := resp.Header.Get("Content-Disposition"); cd != tc.disposition {
				t.Errorf("Content-Disposition %q, want %q", cd, tc.disposition)
			}
			top := tc.top
			want := []tarItem{
				{name: top + "/", dir: true},
				{name: top + "/a/", dir: true},
				{name: top + "/a/b/", dir: true},
				{name: top + "/a/b/foo.txt", body: "foo\n"},
				{name: top + "/a/bar.txt", body: "bar"},
				{name: top + "/top.txt", body: "top"},
			}
			got := readTar(t, body)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tar entries\n got %v\nwant %v", got, want)
			}
		})
	}

	resp, body = do(t, http.MethodDelete, e.cartd+"/"+uid, "", nil)
	if resp.StatusCode != http.StatusOK || string(body) != `{"message": "Cart Deleted Successfully"}` {
		t.Errorf("DELETE: %s %s", resp.Status, body)
	}
	resp, body = do(t, http.MethodDelete, e.cartd+"/"+uid, "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound)
	if code, status, msg := e.head(t, uid); code != http.StatusNotFound || status != "error" ||
		msg != "No cart with uid "+uid+" found" {
		t.Errorf("HEAD after delete: %d %q %q", code, status, msg)
	}
}

func TestCartdUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	if code, status, msg := e.head(t, "nope"); code != http.StatusNotFound || status != "error" ||
		msg != "No cart with uid nope found" {
		t.Errorf("HEAD unknown: %d %q %q", code, status, msg)
	}
	resp, body := do(t, http.MethodGet, e.cartd+"/nope?filename=data", "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound)
	resp, body = do(t, http.MethodDelete, e.cartd+"/nope", "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound)
}

func TestCartdBadRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tests := []struct{ name, body string }{
		{"not JSON", `{"fileids": [`},
		{"not an object", `[1]`},
		{"no fileids", `{"files": []}`},
		{"fileids not a list", `{"fileids": {}}`},
		{"entry not an object", `{"fileids": [3]}`},
		{"entry without hashsum", `{"fileids": [{"id": 1, "path": "a", "hashtype": "sha1"}]}`},
		{"id a float", `{"fileids": [{"id": 1.5, "path": "a", "hashtype": "sha1", "hashsum": "x"}]}`},
		{"path a number", `{"fileids": [{"id": 1, "path": 2, "hashtype": "sha1", "hashsum": "x"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, e.cartd+"/bad", "application/json", []byte(tc.body))
			checkErrorBody(t, resp, body, http.StatusInternalServerError)
		})
	}
	if code, _, _ := e.head(t, "bad"); code != http.StatusNotFound {
		t.Errorf("a rejected request made a cart: HEAD %d", code)
	}
}

func TestCartdStagingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tx := e.ingestOK(t, bundleOf(t, txEntries, upFile{subdir: "in", name: "x.csv", body: "1,2\n"}))
	good := tx.Files[0]
	wrongHash := good
	wrongHash.HashSum = sha1hex("something else")
	unknown := good
	unknown.ID = 999
	upper := good
	upper.HashType = "md5"
	tests := []struct {
		name string
		file File
		msg  string
	}{
		{"hash mismatch", wrongHash, "Failed to pull file(Failed to pull with error: File hash does not match provided hash)"},
		{"md5 asked, sha1 given", upper, "Failed to pull file(Failed to pull with error: File hash does not match provided hash)"},
		{"unknown file id", unknown, "Failed to pull file(Failed to pull with error: 404 Client Error: Not Found for url: http://127.0.0.1:8080/999)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			uid := "err-" + tc.name
			e.createCart(t, uid, cartReq(t, tc.file))
			code, status, msg := e.waitCart(t, uid)
			if code != http.StatusInternalServerError || status != "error" || msg != tc.msg {
				t.Errorf("HEAD: %d %q %q, want 500 error %q", code, status, msg, tc.msg)
			}
			// cartd answers a cart in error like one that is not ready.
			resp, body := do(t, http.MethodGet, e.cartd+"/"+uid+"?filename=data", "", nil)
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("GET a cart in error: %s %s", resp.Status, body)
			}
		})
	}

	t.Run("path outside the cart", func(t *testing.T) {
		t.Parallel()
		const uid = "escape"
		e.createCart(t, uid, []byte(`{"fileids": [{"id": `+itoa(good.ID)+`, "path": "../escape.csv", "hashtype": "sha1", "hashsum": "`+good.HashSum+`"}]}`))
		code, status, msg := e.waitCart(t, uid)
		if code != http.StatusInternalServerError || status != "error" || !strings.Contains(msg, "invalid path") {
			t.Errorf("HEAD: %d %q %q, want 500 error about the path", code, status, msg)
		}
	})

	t.Run("newest POST wins", func(t *testing.T) {
		t.Parallel()
		const uid = "newest"
		e.createCart(t, uid, cartReq(t, wrongHash))
		e.createCart(t, uid, cartReq(t, good))
		if code, status, msg := e.waitCart(t, uid); code != http.StatusNoContent || status != "ready" {
			t.Errorf("HEAD: %d %q %q, want the second cart, ready", code, status, msg)
		}
	})
}
