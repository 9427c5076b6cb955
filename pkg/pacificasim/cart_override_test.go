package pacificasim

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestCartOverrideStuckAndCraftedTar(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tx := e.ingestOK(t, bundleOf(t, txEntries, upFile{subdir: "a", name: "foo.txt", body: "foo\n"}))

	e.sim.SetCartOverride(CartOverride{Stuck: true})
	const stuck = "0c1a2f0e-8a4e-4b8e-9a57-0123456789ab"
	e.createCart(t, stuck, cartReq(t, tx.Files...))
	time.Sleep(50 * time.Millisecond) // ten staging delays
	if code, status, _ := e.head(t, stuck); code != http.StatusNoContent || status != cartStaging {
		t.Errorf("stuck cart: HEAD %d %q, want 204 staging", code, status)
	}

	var got CartContent
	e.sim.SetCartOverride(CartOverride{Tar: func(w io.Writer, c CartContent) error {
		got = c
		tw := tar.NewWriter(w)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: c.Top + "/a/foo.txt", Linkname: "/etc/passwd"}); err != nil {
			return err
		}
		return tw.Close()
	}})
	const crafted = "1c1a2f0e-8a4e-4b8e-9a57-0123456789ab"
	e.createCart(t, crafted, cartReq(t, tx.Files...))
	if code, status, _ := e.waitCart(t, crafted); code != http.StatusNoContent || status != cartReady {
		t.Fatalf("cart created after Stuck was cleared: %d %q, want ready", code, status)
	}
	resp, body := do(t, http.MethodGet, e.cartd+"/"+crafted+"?filename=data", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %s", resp.Status)
	}
	if len(got.Files) != 1 || got.Top != "data" || got.Files[0].Path != "a/foo.txt" || got.Files[0].Size != 4 {
		t.Errorf("the crafted tar's function got %+v", got)
	}
	if f, err := got.Files[0].Open(); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "foo\n" {
			t.Errorf("archived content %q", b)
		}
	}
	tr := tar.NewReader(bytes.NewReader(body))
	h, err := tr.Next()
	if err != nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/passwd" {
		t.Errorf("download is not the crafted tar: %+v %v", h, err)
	}

	e.sim.SetCartOverride(CartOverride{})
	_, body = do(t, http.MethodGet, e.cartd+"/"+crafted+"?filename=data", "", nil)
	if items := readTar(t, body); len(items) != 3 || items[2].body != "foo\n" {
		t.Errorf("after the override is cleared: %v", items)
	}
}

func TestFaultBodyAndPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.sim.SetFault(ServiceIngest, Fault{Status: http.StatusOK, Body: "<html>not json</html>", Path: "/get_state", Count: 1})
	// Another path is neither hit nor counted.
	resp, body := do(t, http.MethodGet, e.ingest+"/nowhere", "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound)
	resp, body = do(t, http.MethodGet, e.ingest+"/get_state?job_id=1", "", nil)
	if resp.StatusCode != http.StatusOK || string(body) != "<html>not json</html>" {
		t.Errorf("faulty get_state: %s %q", resp.Status, body)
	}
	resp, body = do(t, http.MethodGet, e.ingest+"/get_state?job_id=1", "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound) // the one-request fault is spent
}
