package scripts

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// Limits of a key/value file written by a script.
const (
	MaxKeyValueFileBytes = 1 << 20
	MaxKeyValues         = 1000
	MaxKeyLength         = 256
	MaxValueLength       = 64 << 10
)

// reservedKeys are the key/values the dispatcher sets on every upload itself.
var reservedKeys = map[string]bool{LineageKey: true, JobIDKey: true, OutputKey: true}

// ReadKeyValues reads the key/value CSV at rel inside root (`key,value` rows, no header,
// as dispatcher-k8s read them). A missing file means no key/values. The file is opened
// through root, so a link that leads outside the job directory is refused; errors name
// the line.
func ReadKeyValues(root *os.Root, rel string) ([][2]string, error) {
	f, err := root.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key/value file %s: %w", rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key/value file %s: %w", rel, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("key/value file %s is not a regular file", rel)
	}
	if st.Size() > MaxKeyValueFileBytes {
		return nil, fmt.Errorf("key/value file %s is %d bytes, more than %d", rel, st.Size(), MaxKeyValueFileBytes)
	}
	return parseKeyValues(io.LimitReader(f, MaxKeyValueFileBytes), rel)
}

func parseKeyValues(r io.Reader, rel string) ([][2]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var out [][2]string
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("key/value file %s: %w", rel, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("key/value file %s line %d: want key,value (%d fields)", rel, line, len(rec))
		}
		k, v := strings.TrimSpace(rec[0]), rec[1]
		switch {
		case k == "":
			return nil, fmt.Errorf("key/value file %s line %d: empty key", rel, line)
		case len(k) > MaxKeyLength || len(v) > MaxValueLength:
			return nil, fmt.Errorf("key/value file %s line %d: key or value too long (at most %d and %d bytes)", rel, line, MaxKeyLength, MaxValueLength)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return nil, fmt.Errorf("key/value file %s line %d: not UTF-8", rel, line)
		case strings.ContainsFunc(k, isControl) || strings.ContainsRune(v, 0):
			return nil, fmt.Errorf("key/value file %s line %d: control characters in the key or a NUL in the value", rel, line)
		case reservedKeys[k]:
			return nil, fmt.Errorf("key/value file %s line %d: key %q is set by the dispatcher", rel, line, k)
		case seen[k]:
			return nil, fmt.Errorf("key/value file %s line %d: key %q given twice", rel, line, k)
		}
		seen[k] = true
		out = append(out, [2]string{k, v})
		if len(out) > MaxKeyValues {
			return nil, fmt.Errorf("key/value file %s: more than %d key/values", rel, MaxKeyValues)
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
