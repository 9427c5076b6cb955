package worker

import (
	"io/fs"
	"os"
	"path/filepath"
)

// removeAll removes a job's directory. A child may have taken the rights away from
// directories it made (chmod 000; in a user namespace the dispatcher's own user owns them):
// when a first try fails, every directory is opened up for its owner - each as the walk
// reaches it, before the walk reads it - and it tries again.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
