package proxymod

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/subprocess"
)

//go:embed driver.py
var driverPy []byte

// ModelError is a model script that could not be loaded, lacks its function, or raised.
type ModelError struct {
	File   string // models/<name>.py
	Reason string
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("proxymod model for file '%s' is invalid: %s", e.File, e.Reason)
}

// RunConfig says how to run a job's models.
type RunConfig struct {
	// Python is the interpreter (PROXYMOD_PYTHON); it must have proxymod installed.
	Python string
	// Env are extra KEY=VALUE variables of the child (PROXYMOD_ENV), on top of
	// subprocess.CleanEnv.
	Env []string
	// Dir is the child's working directory (the upload directory); WorkDir holds the
	// driver, its spec and its result (not uploaded).
	Dir, WorkDir string
	// Stdout and Stderr receive the models' output.
	Stdout, Stderr io.Writer
	KillGrace      time.Duration
	// Sandbox confines the interpreter (nil or disabled: it runs with the worker's
	// rights). It never has the network. AttemptDir is the attempt's directory (the only
	// writable place; it holds Dir and WorkDir) and ReadOnly the host paths the
	// interpreter needs (see Interpreter).
	Sandbox    *sandbox.Sandbox
	AttemptDir string
	ReadOnly   []string
}

// RunModels runs the models in event order in one interpreter, each called with the
// configuration paths. A model that fails gives a *ModelError; an interpreter that cannot
// start or dies otherwise gives another error.
func RunModels(ctx context.Context, rc RunConfig, models []Model, downloadDir string, configs []string) error {
	type specModel struct {
		File     string `json:"file"`
		Path     string `json:"path"`
		Function string `json:"function"`
	}
	spec := struct {
		Models  []specModel `json:"models"`
		Configs []string    `json:"configs"`
	}{Configs: configs}
	for _, m := range models {
		spec.Models = append(spec.Models, specModel{File: m.File.Path(),
			Path: filepath.Join(downloadDir, filepath.FromSlash(m.File.Path())), Function: m.Function})
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	driver := filepath.Join(rc.WorkDir, "driver.py")
	specPath := filepath.Join(rc.WorkDir, "spec.json")
	resultPath := filepath.Join(rc.WorkDir, "result.json")
	if err := os.WriteFile(driver, driverPy, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return err
	}
	python := rc.Python
	if python == "" {
		python = "python3"
	}
	attempt := rc.AttemptDir
	if attempt == "" {
		attempt = filepath.Dir(rc.WorkDir)
	}
	_, err = subprocess.Run(ctx, subprocess.Cmd{
		Path: lookPath(python), Args: []string{driver, specPath, resultPath},
		Dir: rc.Dir, Env: subprocess.CleanEnv(rc.WorkDir, rc.Env...),
		Stdout: rc.Stdout, Stderr: rc.Stderr, KillGrace: rc.KillGrace,
		Sandbox: rc.Sandbox,
		Spec:    sandbox.Spec{Dir: attempt, Tmp: filepath.Join(rc.WorkDir, "tmp"), ReadOnly: rc.ReadOnly},
	})
	var ee *subprocess.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode == 3:
		var me ModelError
		rb, rerr := readResult(resultPath)
		if rerr == nil && json.Unmarshal(rb, &me) == nil && me.File != "" {
			return &me
		}
		return fmt.Errorf("the Python interpreter %s failed (%v) without saying which model", python, err)
	case errors.As(err, &ee):
		return fmt.Errorf("the Python interpreter %s failed: %v", python, err)
	}
	return err
}

// readResult reads the driver's result, which the models could have replaced: not through
// a link, and not more than 64 KiB.
func readResult(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("the result is not a regular file")
	}
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// Interpreter asks the Python interpreter where it lives: the program itself (a pyenv or
// virtualenv shim resolves to the real one) and the directories it reads (its prefixes
// and the absolute entries of sys.path, PYTHONPATH included), which a sandbox must show
// it. It runs python with the models' environment, outside any sandbox: PROXYMOD_PYTHON
// is the operator's.
func Interpreter(ctx context.Context, python string, env []string) (exe string, dirs []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "proxymod-interpreter-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(dir)
	const probe = "import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix] + sys.path))"
	var out, errOut strings.Builder
	_, err = subprocess.Run(ctx, subprocess.Cmd{Path: lookPath(python), Args: []string{"-c", probe}, Dir: dir,
		Env: subprocess.CleanEnv(dir, env...), Stdout: &out, Stderr: &errOut})
	if err != nil {
		return "", nil, fmt.Errorf("%s does not run: %v %s", python, err, strings.TrimSpace(errOut.String()))
	}
	var paths []string
	if err := json.Unmarshal([]byte(out.String()), &paths); err != nil || len(paths) < 5 || !filepath.IsAbs(paths[0]) {
		return "", nil, fmt.Errorf("%s did not say where it lives (%q)", python, out.String())
	}
	exe = paths[0]
	for _, p := range paths[1:] {
		if filepath.IsAbs(p) && !slices.Contains(dirs, p) {
			dirs = append(dirs, p)
		}
	}
	return exe, dirs, nil
}

// lookPath resolves a bare interpreter name on the clean PATH the child gets, so that the
// dispatcher's own PATH does not decide which Python runs the models.
func lookPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range strings.Split("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ":") {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// UnmarshalJSON reads the driver's result.
func (e *ModelError) UnmarshalJSON(b []byte) error {
	var v struct {
		File   string `json:"file"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.File, e.Reason = v.File, v.Reason
	return nil
}
