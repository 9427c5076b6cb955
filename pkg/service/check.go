package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/scripts"
)

// LoadAll is Load for `dispatcher config check`: a variable that does not parse is
// reported and taken at its default, and loading goes on, so that the error lists every
// problem at once rather than the first. It unsets such variables while it loads and
// sets them back before it returns: it is not for a process whose other goroutines read
// the environment.
func LoadAll() (Config, error) {
	var errs []error
	unset := map[string]string{}
	defer func() {
		for k, v := range unset {
			_ = os.Setenv(k, v)
		}
	}()
	for {
		var c Config
		err := envconfig.Process("", &c)
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			if _, seen := unset[pe.KeyName]; !seen {
				errs = append(errs, fmt.Errorf("configuration: %s=%q: %v", pe.KeyName, pe.Value, pe.Err))
				unset[pe.KeyName] = pe.Value
				_ = os.Unsetenv(pe.KeyName)
				continue
			}
		}
		if err != nil {
			return c, errors.Join(append(errs, fmt.Errorf("configuration: %w", err))...)
		}
		errs = append(errs, c.readSecretFiles(), c.Validate())
		return c, errors.Join(errs...)
	}
}

// CheckHost reports what of the configuration will not work on this machine, every
// problem at once, and notes what it found working. For workers (ROLE all or worker):
// PROXYMOD_PYTHON runs (asked where it lives, as the sandbox needs; the note names the
// interpreter the sandbox would run), DATA_DIR exists or can be created and is writable.
// For all: the files of SCRIPT_DIR that are not executable, which are no scripts.
func (c Config) CheckHost(ctx context.Context) (problems []error, notes []string) {
	if c.Role != RoleReceiver {
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		exe, _, err := proxymod.Interpreter(pctx, c.ProxymodPython, c.ProxymodEnv)
		cancel()
		if err != nil {
			problems = append(problems, fmt.Errorf("configuration: PROXYMOD_PYTHON: %v", err))
		} else {
			notes = append(notes, "proxymod models run with "+exe)
		}
		if err := writableDir(c.DataDir); err != nil {
			problems = append(problems, fmt.Errorf("configuration: DATA_DIR: %v", err))
		}
	}
	if names, err := scripts.NotExecutable(c.ScriptDir); err != nil {
		problems = append(problems, fmt.Errorf("configuration: SCRIPT_DIR: %v", err))
	} else if len(names) > 0 {
		problems = append(problems, notExecutableError(c.ScriptDir, names))
	}
	return problems, notes
}

func notExecutableError(dir string, names []string) error {
	return fmt.Errorf("configuration: SCRIPT_DIR %s: %s not executable, so not a script (chmod +x to make it one, or "+
		"remove it or hide it with a leading dot)", dir, strings.Join(names, ", ")+map[bool]string{true: " is", false: " are"}[len(names) == 1])
}

// writableDir checks that dir is a directory this process can write, or can be created.
func writableDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		f, err := os.CreateTemp(dir, ".config-check-*")
		if err != nil {
			return fmt.Errorf("%s is not writable: %v", dir, err)
		}
		f.Close()
		return os.Remove(f.Name())
	case !missing(err):
		return err
	}
	// Missing: the nearest existing parent must be a directory it can write.
	parent := filepath.Dir(filepath.Clean(dir))
	for {
		st, err := os.Stat(parent)
		if err == nil && !st.IsDir() {
			return fmt.Errorf("%s does not exist and cannot be created: %s is not a directory", dir, parent)
		}
		if err == nil {
			break
		}
		if !missing(err) || parent == filepath.Dir(parent) {
			return fmt.Errorf("%s does not exist and cannot be created: %v", dir, err)
		}
		parent = filepath.Dir(parent)
	}
	d, err := os.MkdirTemp(parent, ".config-check-*")
	if err != nil {
		return fmt.Errorf("%s does not exist and cannot be created: %v", dir, err)
	}
	return os.Remove(d)
}

// missing reports whether a path's error says it does not exist (or that a parent is not
// a directory, so that it cannot).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
