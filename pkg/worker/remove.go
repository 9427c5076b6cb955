package worker

import (
	"io/fs"
	"os"
	"path/filepath"
)

// removeAll removes a job's directory. A child may have taken the rights away from
// directories it made (chmod 000, the dispatcher's own user in a user namespace owns them):
// when a first try fails, every directory is opened up for its owner and it tries again.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, werr error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
			if werr != nil {
				// Opened up only now: walk it again.
				_ = filepath.WalkDir(p, func(q string, e fs.DirEntry, _ error) error {
					if e != nil && e.IsDir() {
						_ = os.Chmod(q, 0o700)
					}
					return nil
				})
				return fs.SkipDir
			}
		}
		return nil
	})
	return os.RemoveAll(dir)
}
