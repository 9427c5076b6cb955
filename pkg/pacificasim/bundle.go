package pacificasim

import (
	"archive/tar"
	"crypto/sha1" //nolint:gosec // Pacifica's default hash type, computed while the upload streams in
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// maxMetadata bounds the size of a bundle's metadata.txt, the one entry kept in memory.
const maxMetadata = 64 << 20

// metadataName is the name of the metadata entry at the root of a bundle.
const metadataName = "metadata.txt"

// bundle is an upload as it was read: its file entries, written to disk, and its metadata.
type bundle struct {
	entries      map[string]*bundleEntry // by tar name; a repeated name keeps the last entry
	metadata     []byte
	hasMetadata  bool
	lastName     string // name of the last regular entry
	openErr      error  // the tar could not be read: the job fails at "open tar"
	bytesWritten int64
}

// bundleEntry is a regular file of the bundle, staged on disk.
type bundleEntry struct {
	name string
	path string // staged copy
	size int64
	sha1 string
}

// bodyReader remembers the error of the request body, to tell a broken connection from a
// broken tar.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// readBundle reads an upload as a stream: each regular entry is written under dir while it
// is hashed (sha1) and measured, metadata.txt is kept in memory. A tar that cannot be read
// is recorded in bundle.openErr, the rest of the body drained; the error return is for the
// request body or the disk failing.
func readBundle(body io.Reader, dir string) (*bundle, error) {
	br := &bodyReader{r: body}
	b := &bundle{entries: map[string]*bundleEntry{}}
	tr := tar.NewReader(br)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if br.n == 0 {
				b.openErr = errors.New("empty file")
			}
			break
		}
		if err != nil {
			if br.err != nil {
				return nil, fmt.Errorf("read upload: %w", br.err)
			}
			b.openErr = err
			break
		}
		if hdr.Typeflag != tar.TypeReg {
			continue // directories, links and the like carry no data ingest looks at
		}
		b.lastName = hdr.Name
		if hdr.Name == metadataName {
			data, err := io.ReadAll(io.LimitReader(tr, maxMetadata+1))
			if err != nil {
				if br.err != nil {
					return nil, fmt.Errorf("read upload: %w", br.err)
				}
				b.openErr = err
				break
			}
			if len(data) > maxMetadata {
				b.openErr = fmt.Errorf("%s is larger than %d bytes", metadataName, maxMetadata)
				break
			}
			b.metadata, b.hasMetadata = data, true
			continue
		}
		e, err := stageEntry(tr, hdr.Name, filepath.Join(dir, strconv.Itoa(n)))
		if err != nil {
			if br.err != nil {
				return nil, fmt.Errorf("read upload: %w", br.err)
			}
			var pe *os.PathError
			if errors.As(err, &pe) {
				return nil, err
			}
			b.openErr = err
			break
		}
		b.entries[hdr.Name] = e
		b.bytesWritten += e.size
	}
	if b.openErr != nil {
		if _, err := io.Copy(io.Discard, br); err != nil {
			return nil, fmt.Errorf("read upload: %w", err)
		}
	}
	return b, nil
}

// stageEntry copies the current tar entry to path, hashing it on the way.
func stageEntry(r io.Reader, name, path string) (*bundleEntry, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	h := sha1.New() //nolint:gosec // Pacifica's default hash type
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return &bundleEntry{name: name, path: path, size: n, sha1: hex.EncodeToString(h.Sum(nil))}, nil
}
