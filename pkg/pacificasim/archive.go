package pacificasim

import (
	"crypto/md5"  //nolint:gosec // Pacifica clients may ask for md5 sums
	"crypto/sha1" //nolint:gosec // Pacifica's default hash type
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Directories under Config.DataDir.
const (
	archiveDir = "archive" // archived files, one per file id
	stagingDir = "staging" // uploads being ingested, one directory per job
)

// archivedFile is a file of the archive, kept on disk under its id.
type archivedFile struct {
	id    int64
	path  string // on disk
	size  int64
	mtime time.Time
}

func (s *Sim) archivePath(id int64) string {
	return filepath.Join(s.dataDir, archiveDir, strconv.FormatInt(id, 10))
}

// archived returns the archived file of id.
func (s *Sim) archived(id int64) (*archivedFile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.archive[id]
	return f, ok
}

// newHash returns the hash Python's hashlib.new(name) would for the names Pacifica uses.
func newHash(name string) (hash.Hash, error) {
	switch name {
	case "sha1":
		return sha1.New(), nil //nolint:gosec // Pacifica's default hash type
	case "md5":
		return md5.New(), nil //nolint:gosec // asked for by the client
	case "sha224":
		return sha256.New224(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	default:
		return nil, fmt.Errorf("unsupported hash type %q", name)
	}
}

// hashFile returns the hex digest of the file at path with the hash type name.
func hashFile(path, name string) (string, error) {
	h, err := newHash(name)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
