//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LimitError is a run stopped by one of its limits.
type LimitError struct {
	// Limit names it: "CPU time", "file size" or "disk quota".
	Limit string
	// Detail says what the limit was, and what was used where it is known.
	Detail string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limit exceeded: %s", e.Limit, e.Detail)
}

// ExitLimit tells from a sandboxed child's exit status (bubblewrap exits with 128 + the
// signal when its child was killed) whether a resource limit stopped it.
func (s *Sandbox) ExitLimit(code int) *LimitError {
	l := s.Limits()
	switch {
	case code == 128+int(syscall.SIGXCPU) && l.CPUTime > 0:
		return &LimitError{Limit: "CPU time", Detail: fmt.Sprintf("a process used %s of CPU (SIGXCPU)", l.CPUTime)}
	case code == 128+int(syscall.SIGXFSZ) && l.FileSize > 0:
		return &LimitError{Limit: "file size", Detail: fmt.Sprintf("a file reached %s (SIGXFSZ)", FormatBytes(l.FileSize))}
	}
	return nil
}

// Hint reads a failed child's last output for the limits that do not kill it but make its
// calls fail (memory, processes), and says which limit was probably reached ("" if none).
func (s *Sandbox) Hint(stderrTail string) string {
	l := s.Limits()
	t := strings.ToLower(stderrTail)
	switch {
	case l.Memory > 0 && (strings.Contains(stderrTail, "MemoryError") || strings.Contains(t, "cannot allocate memory") ||
		strings.Contains(t, "out of memory") || strings.Contains(t, "xmalloc")):
		return fmt.Sprintf("the memory limit (%s of address space per process) was probably reached", FormatBytes(l.Memory))
	case l.FileSize > 0 && strings.Contains(t, "file too large"):
		// Python ignores SIGXFSZ, and so do the programs it starts: their writes fail.
		return fmt.Sprintf("the file size limit (%s) was probably reached", FormatBytes(l.FileSize))
	case l.Processes > 0 && (strings.Contains(t, "resource temporarily unavailable") || strings.Contains(t, "can't start new thread") ||
		strings.Contains(t, "fork: retry")):
		return fmt.Sprintf("the process limit (%d processes and threads) was probably reached", l.Processes)
	}
	return ""
}

// Usage returns the disk space used under dir: the blocks of every file and directory,
// without following links. A directory the walk may not read is opened up for its owner
// first (a child may have taken its own rights away); one that stays unreadable is an
// error.
func Usage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			if d != nil && d.IsDir() && errors.Is(err, fs.ErrPermission) {
				if cerr := os.Chmod(p, 0o700); cerr == nil {
					sub, serr := Usage(p)
					total += sub
					if serr != nil {
						return serr
					}
					return fs.SkipDir
				}
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// FormatBytes writes n in binary units ("1.5 GiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}
