package pacifica

import (
	"archive/tar"
	"bytes"
	"crypto/sha1" //nolint:gosec
	"encoding/hex"
	"testing"
	"time"
)

func sha1hex(b []byte) string {
	h := sha1.Sum(b) //nolint:gosec
	return hex.EncodeToString(h[:])
}

// tarEntry is one entry of a test tar stream.
type tarEntry struct {
	name     string
	typ      byte
	body     []byte
	size     int64 // when set, announces a size different from len(body)
	linkname string
}

func makeTar(t *testing.T, entries []tarEntry, truncate int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		size := int64(len(e.body))
		if e.typ != tar.TypeReg {
			size = 0
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Size: size, Mode: 0o644, ModTime: time.Unix(1e9, 0), Linkname: e.linkname}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if size > 0 {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if truncate > 0 {
		b = b[:truncate]
	}
	return b
}
