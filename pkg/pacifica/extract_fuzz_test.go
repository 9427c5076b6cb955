package pacifica

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractTar feeds arbitrary streams to the cart extractor: it must never panic, never
// write outside its directory, never leave anything but regular files and directories, and
// when it succeeds, hold exactly the files asked for with their content.
func FuzzExtractTar(f *testing.F) {
	body := []byte("year,value\n2010,1\n")
	want := []CartFile{{ID: 1, Path: "inputs/a.csv", HashType: "sha1", HashSum: sha1hex(body), Size: int64(len(body))}}
	seed := func(entries []tarEntry) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.linkname}
			if e.typ == tar.TypeReg {
				h.Size = int64(len(e.body))
			}
			_ = tw.WriteHeader(h)
			_, _ = tw.Write(e.body)
		}
		_ = tw.Close()
		return buf.Bytes()
	}
	f.Add(seed([]tarEntry{{name: "data/", typ: tar.TypeDir}, {name: "data/inputs/", typ: tar.TypeDir}, {name: "data/inputs/a.csv", typ: tar.TypeReg, body: body}}))
	f.Add(seed([]tarEntry{{name: "data/../../escape", typ: tar.TypeReg, body: body}}))
	f.Add(seed([]tarEntry{{name: "data/inputs", typ: tar.TypeSymlink, linkname: "/"}, {name: "data/inputs/a.csv", typ: tar.TypeReg, body: body}}))
	f.Add(seed([]tarEntry{{name: "data/inputs/a.csv", typ: tar.TypeLink, linkname: "../../victim"}}))
	f.Add(seed([]tarEntry{{name: "/abs/inputs/a.csv", typ: tar.TypeReg, body: body}}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		// os.MkdirTemp, not t.TempDir: it keeps the fuzzing workers fast.
		top, err := os.MkdirTemp("", "fuzz-extract-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(top)
		victim := filepath.Join(top, "victim")
		if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(top, "job", "download")
		err = extractTar(bytes.NewReader(stream), want, dir)
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, werr error) error {
			switch {
			case werr != nil:
				t.Errorf("%s: %v", p, werr)
			case p == top || p == filepath.Join(top, "job") || p == victim:
			case !strings.HasPrefix(p, dir):
				t.Errorf("written outside the directory: %s", p)
			case !d.IsDir() && !d.Type().IsRegular():
				t.Errorf("%s is a %v, not a regular file", p, d.Type())
			}
			return nil
		})
		if b, _ := os.ReadFile(victim); string(b) != "victim" {
			t.Error("the file next to the directory was changed")
		}
		if err == nil {
			got, rerr := os.ReadFile(filepath.Join(dir, "inputs", "a.csv"))
			if rerr != nil || !bytes.Equal(got, body) {
				t.Errorf("extraction succeeded without the file asked for: %v", rerr)
			}
		}
	})
}
