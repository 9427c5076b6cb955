package scripts

// The output directories of a script run: what is collected from them after the run, and
// the metadata of their uploads.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// Output is one output directory of a run and its upload.
type Output struct {
	Name          string `json:"name"`
	Directory     string `json:"directory"`
	Files         int    `json:"files"`
	KeyValues     int    `json:"key_values"`
	TransactionID *int64 `json:"transaction_id,omitempty"`
}

// upload is an output directory checked and ready to go.
type upload struct {
	out Output
	dir string
	kvs [][2]string
}

// collect checks the output directories the script left: each must still be a real
// directory inside the job directory (no link on the way), its files regular files, its
// key/value file well-formed.
func (h *Handler) collect(jobDir string, s Script) ([]upload, error) {
	root, err := os.OpenRoot(jobDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []upload
	for _, o := range s.OutputDirs {
		if err := realDir(root, o.Directory); err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		dir := filepath.Join(jobDir, filepath.FromSlash(o.Directory))
		files, err := pacifica.BundleFiles(dir)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		kvs, err := ReadKeyValues(root, path.Join(o.Directory, o.KeyValueFile))
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		out = append(out, upload{dir: dir, kvs: kvs,
			out: Output{Name: o.Name, Directory: o.Directory, Files: len(files), KeyValues: len(kvs)}})
	}
	return out, nil
}

// realDir checks that every component of rel is a directory, not a link.
func realDir(root *os.Root, rel string) error {
	p := ""
	for _, c := range strings.Split(rel, "/") {
		p = path.Join(p, c)
		st, err := root.Lstat(p)
		if err != nil {
			return fmt.Errorf("directory %s: %w", rel, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory (the script left a %s there)", p, kindOf(st.Mode()))
		}
	}
	return nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "link"
	case m.IsRegular():
		return "file"
	}
	return "special file"
}

// uploadMeta is the metadata of an output's upload: the key/value file's rows, then what
// every result carries (Job.ResultMeta) and the output's name.
func uploadMeta(in *event.Ingest, j *worker.Job, u upload) pacifica.UploadMeta {
	// An earlier attempt's upload of this output is told by the output's name
	// (pacifica.IngestClient.UploadOnce).
	m := j.ResultMeta(in, OutputKey)
	kvs := make([]pacifica.KeyValue, 0, len(u.kvs)+len(m.KeyValues)+1)
	for _, kv := range u.kvs {
		kvs = append(kvs, pacifica.KeyValue{Key: kv[0], Value: mustJSON(kv[1])})
	}
	m.KeyValues = append(append(kvs, m.KeyValues...), pacifica.KeyValue{Key: OutputKey, Value: mustJSON(u.out.Name)})
	return m
}
