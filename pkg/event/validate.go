package event

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// hashLengths are the hash types a file may carry, with the length of their hex digest.
var hashLengths = map[string]int{
	"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
}

// splitDir splits a subdir into its components, dropping empty ones and "." (so "a//b/"
// and "./a/b" are "a/b"). It does not judge them: validate does.
func splitDir(subdir string) []string {
	var out []string
	for _, c := range strings.Split(subdir, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// Validate runs the checks of ParseIngest on an Ingest made another way (for example from
// Pacifica's metadata): file paths that stay inside their directory, one file per path,
// hashes that can be checked, key/values without line breaks. Errors wrap ErrInvalid.
func (in *Ingest) Validate() error { return in.validate() }

// validate protects everything downstream from the event's data: file paths that would
// leave the job's directory, files that would overwrite each other, hashes that cannot be
// checked, and key/values that would inject lines into a configuration file.
func (in *Ingest) validate() error {
	paths := map[string]int64{}
	for _, f := range in.Files {
		if err := validateFile(f); err != nil {
			return err
		}
		p := f.Path()
		if other, dup := paths[p]; dup {
			return fmt.Errorf("%w: file %q (Files._id %d): the same path as Files._id %d", ErrInvalid, p, f.ID, other)
		}
		paths[p] = f.ID
	}
	for _, kv := range in.KeyValues {
		if err := validateKeyValue(kv); err != nil {
			return err
		}
	}
	return nil
}

func validateFile(f File) error {
	bad := func(format string, args ...any) error {
		shown := f.Name
		if f.Subdir != "" {
			shown = strings.TrimSuffix(f.Subdir, "/") + "/" + f.Name
		}
		return fmt.Errorf("%w: file %q (Files._id %d): %s", ErrInvalid, shown, f.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case f.Name == "" || f.Name == "." || f.Name == "..":
		return bad("name %q is not a file name", f.Name)
	case strings.Contains(f.Name, "/"):
		return bad("name contains a slash")
	case strings.Contains(f.Name, `\`):
		return bad("name contains a backslash")
	case hasControl(f.Name):
		return bad("name contains a control character")
	case strings.HasPrefix(f.Subdir, "/"):
		return bad("subdir is absolute")
	case strings.Contains(f.Subdir, `\`):
		return bad("subdir contains a backslash")
	case hasControl(f.Subdir):
		return bad("subdir contains a control character")
	case f.Size < 0:
		return bad("negative size %d", f.Size)
	case f.ID < 0:
		return bad("negative Files._id")
	}
	for _, c := range splitDir(f.Subdir) {
		if c == ".." {
			return bad("subdir escapes the data directory")
		}
	}
	n, ok := hashLengths[strings.ToLower(f.HashType)]
	if !ok {
		return bad("unsupported hashtype %q (want md5, sha1, sha224, sha256, sha384 or sha512)", f.HashType)
	}
	if _, err := hex.DecodeString(f.HashSum); err != nil || len(f.HashSum) != n {
		return bad("hashsum is not a %s digest (%d hex digits)", strings.ToLower(f.HashType), n)
	}
	return nil
}

func validateKeyValue(kv KeyValue) error {
	if what := controlIn(kv.Key); what != "" {
		return fmt.Errorf("%w: key/value %q: key contains %s", ErrInvalid, kv.Key, what)
	}
	if kv.Value.IsString() {
		if what := controlIn(kv.Value.String()); what != "" {
			return fmt.Errorf("%w: key/value %q: value contains %s", ErrInvalid, kv.Key, what)
		}
	}
	return nil
}

func hasControl(s string) bool { return controlIn(s) != "" }

// controlIn names the first character of s that could inject lines or truncate text: a
// line break, NUL, or another control character (TAB is allowed).
func controlIn(s string) string {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return "a line break"
		case r == 0:
			return "a NUL character"
		case r == '\t':
		case unicode.IsControl(r):
			return fmt.Sprintf("the control character %U", r)
		}
	}
	return ""
}
