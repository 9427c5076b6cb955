package pacificasim

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzParseCartRequest feeds cart request bodies: a parse never panics, and an accepted
// request written back as JSON (ids as strings) reads back the same.
func FuzzParseCartRequest(f *testing.F) {
	f.Add([]byte(`{"fileids": [{"id": 34, "path": "a/b/foo.txt", "hashtype": "sha1", "hashsum": "f1d2"}]}`))
	f.Add([]byte(`{"fileids": [{"id": "34", "path": "x", "hashtype": "md5", "hashsum": ""}], "bundle": true}`))
	f.Add([]byte(`{"fileids": [{"id": 1.0}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		files, err := parseCartRequest(body)
		if err != nil {
			return
		}
		ids := []map[string]string{}
		for _, fl := range files {
			ids = append(ids, map[string]string{"id": fl.id, "path": fl.path, "hashtype": fl.hashType, "hashsum": fl.hashSum})
		}
		again, err := json.Marshal(map[string]any{"fileids": ids})
		if err != nil {
			t.Fatal(err)
		}
		files2, err := parseCartRequest(again)
		if err != nil || !slices.Equal(files, files2) {
			t.Fatalf("%s read back as %v (%v), want %v", again, files2, err, files)
		}
	})
}

// FuzzParseMetadata feeds metadata.txt contents through the checks of an ingest job: none
// panics, and an accepted list holds only objects with a destinationTable.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`[{"destinationTable": "Transactions.submitter", "value": 10},
		{"destinationTable": "TransactionKeyValue", "key": "k", "value": 1.5},
		{"destinationTable": "Files", "name": "a", "subdir": "b/", "size": 1, "hashtype": "sha1",
		 "hashsum": "x", "mimetype": "text/csv", "ctime": 1, "mtime": null}]`))
	f.Add([]byte(`[{"destinationTable": "Transactions._id", "value": -1}]`))
	f.Add([]byte(`{"destinationTable": "Files"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, err := parseMetadata(data)
		if err != nil {
			return
		}
		for _, o := range meta {
			if _, ok := table(o); !ok {
				t.Fatal("an entry without destinationTable was accepted")
			}
		}
		_, _ = transactionFields(meta)
		files, err := fileEntries(meta)
		if err != nil {
			return
		}
		for _, fl := range files {
			if fl.size < 0 || !strings.HasPrefix(fl.tarName(), "data") {
				t.Fatalf("file entry %+v", fl)
			}
		}
		_, _ = checkIngestMetadata(meta, files)
		if _, err := ingestEvent(1, meta, nil, "2020-05-13T15:16:18"); err != nil {
			t.Fatalf("building the event of accepted metadata: %v", err)
		}
	})
}

// FuzzParseEventMatch feeds /eventmatch bodies: a parse never panics and keeps only
// strings in the string fields.
func FuzzParseEventMatch(f *testing.F) {
	f.Add([]byte(`{"name": "n", "jsonpath": "$", "target_url": "http://x", "extensions": {"a": 1},
		"auth": {"type": "basic", "basic": {"username": "u", "password": "p"}}, "disabled": null}`))
	f.Add([]byte(`{"uuid": "u", "user": "u", "created": "c", "updated": "u", "deleted": null, "version": "v"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := parseEventMatch(body)
		if err != nil {
			return
		}
		if b.ext != nil && b.ext[0] != '{' || b.auth != nil && b.auth[0] != '{' {
			t.Fatalf("extensions %s or auth %s is not an object", b.ext, b.auth)
		}
	})
}

// FuzzReadBundle feeds uploads to the streaming bundle reader: it never panics, and every
// entry it keeps is on disk with the size it reports.
func FuzzReadBundle(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"data/a/b.txt", "hello"}, {"metadata.txt", "[]"}} {
		_ = tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body))})
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		b, err := readBundle(bytes.NewReader(data), dir)
		if err != nil {
			t.Fatalf("readBundle from memory failed as if the body or disk broke: %v", err)
		}
		for name, e := range b.entries {
			st, err := os.Stat(e.path)
			if err != nil || st.Size() != e.size {
				t.Fatalf("entry %q: staged copy %v, size %d", name, err, e.size)
			}
		}
	})
}
