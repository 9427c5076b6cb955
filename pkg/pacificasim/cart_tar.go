package pacificasim

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"time"
)

// tarEntry is one file of a cart download.
type tarEntry struct {
	name string // cleaned path inside the cart
	file *archivedFile
}

// cartEntries resolves the files of a ready cart; a path asked for twice keeps the last.
func (s *Sim) cartEntries(c *cart) ([]tarEntry, error) {
	byName := map[string]int{}
	var out []tarEntry
	for _, f := range c.files {
		p, err := cartPath(f.path)
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(f.id, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.id, err)
		}
		af, ok := s.archived(id)
		if !ok {
			return nil, fmt.Errorf("file %d is not in the archive", id)
		}
		if i, seen := byName[p]; seen {
			out[i].file = af
			continue
		}
		byName[p] = len(out)
		out = append(out, tarEntry{name: p, file: af})
	}
	return out, nil
}

// writeCartTar writes the cart as Python's tarfile.add writes cartd's cart directory: the top
// directory, then each directory's children sorted by name, directories before their
// content, every directory with an entry of its own, names of directories ending in "/".
func writeCartTar(w io.Writer, top string, entries []tarEntry, now time.Time) error {
	children := map[string][]string{} // directory ("" = top) → child names
	files := map[string]*archivedFile{}
	dirs := map[string]bool{"": true}
	for _, e := range entries {
		files[e.name] = e.file
		child := e.name
		for {
			parent := path.Dir(child)
			if parent == "." {
				parent = ""
			}
			if !contains(children[parent], path.Base(child)) {
				children[parent] = append(children[parent], path.Base(child))
			}
			if dirs[parent] {
				break
			}
			dirs[parent] = true
			child = parent
		}
	}
	tw := tar.NewWriter(w)
	var walk func(dir string) error
	walk = func(dir string) error {
		name := top + "/"
		if dir != "" {
			name = top + "/" + dir + "/"
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
		kids := children[dir]
		sort.Strings(kids)
		for _, k := range kids {
			p := k
			if dir != "" {
				p = dir + "/" + k
			}
			if dirs[p] {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if err := writeTarFile(tw, top+"/"+p, files[p]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	return tw.Close()
}

func writeTarFile(tw *tar.Writer, name string, af *archivedFile) error {
	f, err := os.Open(af.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: st.Size(), ModTime: af.mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
