// Package scripts reads the script jobs of the Kubernetes dispatcher (pacifica-dispatcher-k8s):
// the executable files of a script directory, each configured by its section of an INI
// file, with that dispatcher's defaults.
package scripts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// DefaultRouterJSONPath is dispatcher-k8s's default filter: the event has the
// TransactionKeyValue do_processing = "True".
const DefaultRouterJSONPath = `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "do_processing" and @["value"] = "True" )] )]`

// Defaults of a script's section.
const (
	DefaultScriptFile      = "run"
	DefaultDownloadTimeout = 180 * time.Second
	DefaultOutputDir       = "output"
	DefaultKeyValueFile    = "kvp.csv"
	DefaultKeyValueParser  = "csv"
)

// OutputDir is a directory a script writes and the dispatcher uploads as a transaction
// with the key/values of its key/value file.
type OutputDir struct {
	Name           string
	Directory      string // relative to the job directory
	KeyValueFile   string // relative to Directory
	KeyValueParser string // csv
}

// Script is one script job kind.
type Script struct {
	// Name is the script's file name in the script directory (its INI section).
	Name string
	// Program is the file to run: the script itself, or <script>/<script_file> when the
	// script is a directory; Entry is the script directory's entry (the file, or the
	// directory), which its sandbox sees read-only.
	Program         string
	Entry           string
	FilterText      string
	Filter          *jsonpath2.Path
	DownloadTimeout time.Duration
	// Timeout bounds one attempt of the script's jobs (INI key script_timeout, in seconds); zero
	// means the service's SCRIPT_TIMEOUT. dispatcher-k8s had no such limit.
	Timeout time.Duration
	// Network lets the script's sandbox use the host's network (INI key allow_network,
	// a configparser boolean, default false).
	Network    bool
	OutputDirs []OutputDir
}

// Load lists the scripts of dir (its non-hidden executable entries, in name order) and
// configures each from the INI file at iniPath (a missing file means every default). Any
// error stops the start and names the script.
func Load(dir, iniPath string) ([]Script, error) {
	// Scripts run in their job directory: a relative SCRIPT_DIR would not be found there.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("script directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("script directory: %w", err)
	}
	ini := &INI{sections: map[string]map[string]string{}, defaults: map[string]string{}}
	if f, err := os.Open(iniPath); err == nil {
		ini, err = ParseINI(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", iniPath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("script configuration: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []Script
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode()&0o111 == 0 {
			continue
		}
		s, err := configure(ini, dir, name, info.IsDir())
		if err != nil {
			return nil, fmt.Errorf("script %q: %w", name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func configure(ini *INI, dir, name string, isDir bool) (Script, error) {
	s := Script{Name: name, Program: filepath.Join(dir, name), Entry: filepath.Join(dir, name)}
	get := func(section, key, def string) (string, error) {
		v, ok, err := ini.Get(section, key)
		if err != nil || !ok {
			return def, err
		}
		return v, nil
	}
	var err error
	if s.FilterText, err = get(name, "router_jsonpath", DefaultRouterJSONPath); err != nil {
		return s, err
	}
	if s.Filter, err = jsonpath2.Parse(s.FilterText); err != nil {
		return s, fmt.Errorf("router_jsonpath does not parse: %w", err)
	}
	file, err := get(name, "script_file", DefaultScriptFile)
	if err != nil {
		return s, err
	}
	if isDir {
		if reason := insideRel(file); reason != "" {
			return s, fmt.Errorf("script_file %q %s", file, reason)
		}
		s.Program = filepath.Join(dir, name, filepath.FromSlash(file))
		if st, err := os.Stat(s.Program); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return s, fmt.Errorf("script_file %s is not an executable file", s.Program)
		}
	}
	if s.DownloadTimeout, err = seconds(ini, name, "download_timeout", DefaultDownloadTimeout); err != nil {
		return s, err
	}
	if s.Timeout, err = seconds(ini, name, "script_timeout", 0); err != nil {
		return s, err
	}
	if s.Network, err = boolean(ini, name, "allow_network", false); err != nil {
		return s, err
	}
	names := []string{DefaultOutputDir}
	if sec := name + ":output_dirs"; ini.Has(sec) {
		names = ini.Keys(sec)
		sort.Strings(names)
	}
	for _, n := range names {
		sec := name + ":" + n
		o := OutputDir{Name: n}
		if o.Directory, err = get(sec, "directory", n); err != nil {
			return s, err
		}
		if o.KeyValueFile, err = get(sec, "key_value_file", DefaultKeyValueFile); err != nil {
			return s, err
		}
		if o.KeyValueParser, err = get(sec, "key_value_parser", DefaultKeyValueParser); err != nil {
			return s, err
		}
		for what, p := range map[string]string{"directory": o.Directory, "key_value_file": o.KeyValueFile} {
			if reason := insideRel(p); reason != "" {
				return s, fmt.Errorf("[%s] %s %q %s", sec, what, p, reason)
			}
		}
		if o.KeyValueParser != "csv" {
			return s, fmt.Errorf("[%s] key_value_parser %q: only csv is supported", sec, o.KeyValueParser)
		}
		if o.Directory == "download" {
			return s, fmt.Errorf("[%s] directory %q is where the event's files are downloaded", sec, o.Directory)
		}
		s.OutputDirs = append(s.OutputDirs, o)
	}
	return s, nil
}

// seconds reads a whole number of seconds > 0 from the script's section.
func seconds(ini *INI, section, key string, def time.Duration) (time.Duration, error) {
	v, ok, err := ini.Get(section, key)
	if err != nil || !ok || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q: want a whole number of seconds > 0", key, v)
	}
	return time.Duration(n) * time.Second, nil
}

// boolean reads a configparser boolean (1/yes/true/on, 0/no/false/off, any case).
func boolean(ini *INI, section, key string, def bool) (bool, error) {
	v, ok, err := ini.Get(section, key)
	if err != nil || !ok || v == "" {
		return def, err
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s %q: want a boolean (true/false, yes/no, on/off, 1/0)", key, v)
}

// insideRel says why p would leave its directory, or "".
func insideRel(p string) string {
	switch {
	case p == "" || p == ".":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return "must be relative"
	case strings.ContainsRune(p, 0):
		return "contains a NUL"
	}
	for _, c := range strings.Split(path.Clean(p), "/") {
		if c == ".." {
			return "must not contain '..'"
		}
	}
	return ""
}

// NotExecutable lists the non-hidden regular files of dir that have no executable bit, in
// name order: Load leaves them out (a script must be executable), though an operator who
// put them there most likely meant them as scripts. A missing dir lists nothing.
func NotExecutable(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("script directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, e.Name()))
		if err == nil && info.Mode().IsRegular() && info.Mode()&0o111 == 0 {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
