package pacifica

import (
	"archive/tar"
	"crypto/sha1" //nolint:gosec // Pacifica's default hash type
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// UploadMeta is the metadata of an upload: the transaction's fields (JSON types kept; nil
// or null fields are left out) and its key/values. Transactions._id is never sent:
// ingest assigns it.
type UploadMeta struct {
	Submitter, Project, Instrument json.RawMessage
	// Fields are other Transactions.* fields, e.g. {"description", "\"...\""}.
	Fields    []KeyValue
	KeyValues []KeyValue
	// IdentityKeys are not uploaded: they name the keys of KeyValues that tell this upload
	// from the job's other uploads (an output's name, a failed run's mark), besides
	// JobIDKey. UploadOnce uses them to recognise, in Pacifica metadata, an upload of an
	// earlier attempt: a transaction is that upload when it has the same values for them,
	// and has none of those the upload does not carry.
	IdentityKeys []string
}

// KeyValue is a key with a JSON value.
type KeyValue struct {
	Key   string
	Value json.RawMessage
}

// BundleFile is a file of an upload directory.
type BundleFile struct {
	Rel     string // slash-separated path under the directory
	Size    int64
	ModTime time.Time
	SHA1    string // filled by the hashing pass
}

// BundleFiles lists the regular files under dir, sorted; a link, device or other special
// file is an error (it would upload something other than the directory's own content).
func BundleFiles(dir string) ([]BundleFile, error) {
	var out []BundleFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("upload: %s is not a regular file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, BundleFile{Rel: filepath.ToSlash(rel), Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

// hashFiles fills the SHA1 of every file, checking that sizes did not change.
func hashFiles(dir string, files []BundleFile) error {
	for i := range files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(files[i].Rel)))
		if err != nil {
			return err
		}
		h := sha1.New() //nolint:gosec
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		if n != files[i].Size {
			return fmt.Errorf("upload: %s changed while uploading (%d bytes, was %d)", files[i].Rel, n, files[i].Size)
		}
		files[i].SHA1 = hex.EncodeToString(h.Sum(nil))
	}
	return nil
}

// metadataJSON is metadata.txt: the transaction fields, the key/values, then one Files
// entry per file in tar order.
func metadataJSON(files []BundleFile, meta UploadMeta) ([]byte, error) {
	var entries []any
	field := func(table string, v json.RawMessage) {
		if len(v) == 0 || string(v) == "null" {
			return
		}
		entries = append(entries, map[string]any{"destinationTable": table, "value": v})
	}
	field("Transactions.submitter", meta.Submitter)
	field("Transactions.project", meta.Project)
	field("Transactions.instrument", meta.Instrument)
	for _, f := range meta.Fields {
		if f.Key == "_id" {
			return nil, errors.New("upload: Transactions._id is assigned by ingest and must not be sent")
		}
		field("Transactions."+f.Key, f.Value)
	}
	for _, kv := range meta.KeyValues {
		v := kv.Value
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		entries = append(entries, map[string]any{"destinationTable": "TransactionKeyValue", "key": kv.Key, "value": v})
	}
	for _, f := range files {
		sub, name := path.Split(f.Rel)
		t := f.ModTime.UTC().Format("2006-01-02T15:04:05")
		entries = append(entries, map[string]any{"destinationTable": "Files", "name": name,
			"subdir": strings.TrimSuffix(sub, "/"), "size": f.Size, "hashtype": "sha1", "hashsum": f.SHA1,
			"mimetype": MimeType(name), "ctime": t, "mtime": t})
	}
	return json.Marshal(entries)
}

// tarHeader is the header of a file of the bundle.
func tarHeader(name string, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{Name: name, Size: size, Mode: 0o644, ModTime: mtime.UTC().Truncate(time.Second),
		Typeflag: tar.TypeReg}
}

// WriteBundle writes the upload bundle of dir: one tar entry per file under data/ (no
// directory entries), then metadata.txt. files must come from BundleFiles with their
// hashes filled (Upload does both). It returns the number of bytes written.
func WriteBundle(w io.Writer, dir string, files []BundleFile, meta UploadMeta) (int64, error) {
	md, err := metadataJSON(files, meta)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	for _, f := range files {
		if err := tw.WriteHeader(tarHeader("data/"+f.Rel, f.Size, f.ModTime)); err != nil {
			return cw.n, err
		}
		in, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Rel)))
		if err != nil {
			return cw.n, err
		}
		n, err := io.Copy(tw, io.LimitReader(in, f.Size))
		in.Close()
		if err != nil {
			return cw.n, err
		}
		if n != f.Size {
			return cw.n, fmt.Errorf("upload: %s shrank while uploading", f.Rel)
		}
	}
	if err := tw.WriteHeader(tarHeader("metadata.txt", int64(len(md)), metadataTime(files))); err != nil {
		return cw.n, err
	}
	if _, err := tw.Write(md); err != nil {
		return cw.n, err
	}
	if err := tw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// BundleSize is the exact size of what WriteBundle writes: each header's encoded size
// (written alone to a counter), the contents padded to 512-byte blocks, and the two
// end-of-archive blocks. No file content is read.
func BundleSize(files []BundleFile, meta UploadMeta) (int64, error) {
	md, err := metadataJSON(files, meta)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range files {
		n, err := headerSize(tarHeader("data/"+f.Rel, f.Size, f.ModTime))
		if err != nil {
			return 0, err
		}
		total += n + padded(f.Size)
	}
	n, err := headerSize(tarHeader("metadata.txt", int64(len(md)), metadataTime(files)))
	if err != nil {
		return 0, err
	}
	return total + n + padded(int64(len(md))) + 1024, nil
}

func headerSize(h *tar.Header) (int64, error) {
	cw := &countWriter{w: io.Discard}
	if err := tar.NewWriter(cw).WriteHeader(h); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func padded(n int64) int64 { return (n + 511) / 512 * 512 }

// metadataTime is metadata.txt's time: the newest file's, so that the bundle (and its
// size) depends only on the files.
func metadataTime(files []BundleFile) time.Time {
	t := time.Unix(0, 0)
	for _, f := range files {
		if f.ModTime.After(t) {
			t = f.ModTime
		}
	}
	return t
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mimeTypes maps extensions to the types Pacifica's metadata accepts; anything else is
// application/octet-stream. The table is built in, never read from the machine.
var mimeTypes = map[string]string{
	".csv": "text/csv", ".py": "text/x-python", ".txt": "text/plain", ".log": "text/plain",
	".ini": "text/plain", ".cfg": "text/plain", ".md": "text/markdown", ".json": "application/json",
	".xml": "application/xml", ".yaml": "application/yaml", ".yml": "application/yaml",
	".html": "text/html", ".tar": "application/x-tar", ".gz": "application/gzip", ".zip": "application/zip",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".tif": "image/tiff",
	".tiff": "image/tiff", ".svg": "image/svg+xml", ".pdf": "application/pdf", ".nc": "application/x-netcdf",
	".h5": "application/x-hdf5", ".hdf5": "application/x-hdf5", ".sh": "application/x-sh",
}

// MimeType returns the upload mimetype of a file name.
func MimeType(name string) string {
	if t, ok := mimeTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
