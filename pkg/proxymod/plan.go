package proxymod

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
)

// headers are the allowed configuration headers and their keys (those proxymod reads; the old dispatcher's list).
var headers = map[string][]string{
	"PROJECT": {"runtime", "failure"},
	"INPUTS":  {"in_dir", "in_file_one", "in_file_two"},
	"OUTPUTS": {"out_dir"},
}

// Entry is one key = value line of a configuration.
type Entry struct{ Key, Value string }

// Section is one [HEADER] of a configuration with its entries in arrival order.
type Section struct {
	Header  string
	Entries []Entry
}

// Config is one model configuration (config_N), its sections in arrival order.
type Config struct {
	ID       string
	Sections []Section
}

// Get returns the value of HEADER.key.
func (c Config) Get(header, key string) (string, bool) {
	for _, s := range c.Sections {
		if s.Header == header {
			for _, e := range s.Entries {
				if e.Key == key {
					return e.Value, true
				}
			}
		}
	}
	return "", false
}

// Model is a model script: a text/x-python file under models/.
type Model struct {
	File     event.File
	Function string // the function named after the file
}

// Plan is what a proxymod job does: the configurations in config order, the model scripts
// in event order, and the input files to download.
type Plan struct {
	Configs []Config
	Models  []Model
	Inputs  []event.File
}

// Files returns every file the job downloads: the models, then the inputs.
func (p *Plan) Files() []event.File {
	out := make([]event.File, 0, len(p.Models)+len(p.Inputs))
	for _, m := range p.Models {
		out = append(out, m.File)
	}
	return append(out, p.Inputs...)
}

// PlanError is a proxymod job that cannot run as given; the message is for the scientist.
type PlanError struct{ Msg string }

func (e *PlanError) Error() string { return e.Msg }

func planErr(format string, args ...any) error { return &PlanError{Msg: fmt.Sprintf(format, args...)} }

// NewPlan builds and validates a job's plan from an ingest event, with the error messages
// of the old dispatcher where it had them (pacifica-dispatcher-proxymod).
func NewPlan(in *event.Ingest) (*Plan, error) {
	countV, ok := in.Lookup("proxymod.configs_count")
	if !ok {
		return nil, planErr("proxymod.configs_count is missing")
	}
	n, err := strconv.Atoi(strings.TrimSpace(countV.String()))
	if err != nil || n < 1 {
		return nil, planErr("proxymod.configs_count must be a positive integer, not %q", countV.String())
	}
	const maxConfigs = 1000
	if n > maxConfigs {
		return nil, planErr("proxymod.configs_count %d is more than %d", n, maxConfigs)
	}

	byID := map[string]*Config{}
	for _, kv := range in.KeyValues {
		parts := strings.Split(kv.Key, ".")
		if len(parts) != 4 || parts[0] != "proxymod" {
			continue
		}
		id, header, key := parts[1], parts[2], parts[3]
		c := byID[id]
		if c == nil {
			c = &Config{ID: id}
			byID[id] = c
		}
		if _, dup := c.Get(header, key); dup {
			continue // the first occurrence wins
		}
		i := sectionIndex(c, header)
		if i < 0 {
			c.Sections = append(c.Sections, Section{Header: header})
			i = len(c.Sections) - 1
		}
		c.Sections[i].Entries = append(c.Sections[i].Entries, Entry{Key: key, Value: kv.Value.String()})
	}

	p := &Plan{}
	for i := 1; i <= n; i++ {
		id := "config_" + strconv.Itoa(i)
		c, ok := byID[id]
		if !ok {
			return nil, planErr("proxymod configuration '%s' not found", id)
		}
		if reason := checkConfig(*c); reason != "" {
			return nil, planErr("proxymod configuration '%s' is invalid: %s", id, reason)
		}
		p.Configs = append(p.Configs, *c)
	}

	for _, f := range in.Files {
		if f.MimeType == "text/x-python" && f.Dir() == "models" {
			fn := strings.TrimSuffix(f.Name, ".py")
			if !strings.HasSuffix(f.Name, ".py") || !isIdentifier(fn) {
				return nil, planErr("proxymod model for file '%s' is invalid: the file name must be <python identifier>.py, naming its function", f.Path())
			}
			p.Models = append(p.Models, Model{File: f, Function: fn})
		}
	}
	if len(p.Models) == 0 {
		return nil, planErr("no proxymod model: the upload has no text/x-python file in models/")
	}

	seen := map[string]bool{}
	for _, c := range p.Configs {
		dir, ok := c.Get("INPUTS", "in_dir")
		if !ok {
			continue
		}
		for _, key := range []string{"in_file_one", "in_file_two"} {
			name, _ := c.Get("INPUTS", key)
			want := path.Join(cleanDir(dir), name)
			if seen[want] {
				continue
			}
			f, ok := findFile(in.Files, want)
			if !ok {
				return nil, planErr("proxymod input file '%s' (%s.INPUTS.%s) is not in the upload", want, c.ID, key)
			}
			seen[want] = true
			p.Inputs = append(p.Inputs, f)
		}
	}
	return p, nil
}

func sectionIndex(c *Config, header string) int {
	for i, s := range c.Sections {
		if s.Header == header {
			return i
		}
	}
	return -1
}

// checkConfig returns why a configuration is invalid, or "".
func checkConfig(c Config) string {
	for _, s := range c.Sections {
		keys, ok := headers[s.Header]
		if !ok {
			// The uploader's text is quoted, never shown as an INI section: the message
			// reaches stderr.log, upload-stdout.log and the dispatcher.error key/value.
			return fmt.Sprintf("unknown header %s (allowed: PROJECT, INPUTS, OUTPUTS)", quoted(s.Header))
		}
		for _, e := range s.Entries {
			if !contains(keys, e.Key) {
				return fmt.Sprintf("unknown key %s in %s", quoted(e.Key), s.Header)
			}
		}
	}
	for _, s := range c.Sections {
		for _, k := range headers[s.Header] {
			if _, ok := c.Get(s.Header, k); !ok {
				return fmt.Sprintf("%s.%s is missing", s.Header, k)
			}
		}
	}
	for _, s := range c.Sections {
		for _, e := range s.Entries {
			if strings.ContainsAny(e.Value, "\r\n\x00") {
				return fmt.Sprintf("%s.%s holds a line break or NUL", s.Header, e.Key)
			}
		}
	}
	for _, k := range []struct{ h, k string }{{"INPUTS", "in_dir"}, {"OUTPUTS", "out_dir"}, {"INPUTS", "in_file_one"}, {"INPUTS", "in_file_two"}} {
		v, ok := c.Get(k.h, k.k)
		if !ok {
			continue
		}
		if reason := relativeInside(v); reason != "" {
			return fmt.Sprintf("%s.%s %q %s", k.h, k.k, v, reason)
		}
	}
	if v, ok := c.Get("INPUTS", "in_file_one"); ok && strings.Contains(v, "/") {
		return fmt.Sprintf("INPUTS.in_file_one %q must be a file name, not a path", v)
	}
	if v, ok := c.Get("INPUTS", "in_file_two"); ok && strings.Contains(v, "/") {
		return fmt.Sprintf("INPUTS.in_file_two %q must be a file name, not a path", v)
	}
	return ""
}

// quoted is an uploader's name as a message shows it: Go-quoted (no line break, control
// character or bracket form of its own) and cut past 64 bytes.
func quoted(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// relativeInside says why a path from the configuration would leave its directory.
func relativeInside(p string) string {
	switch {
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\"):
		return "must be a relative path"
	case strings.ContainsRune(p, 0):
		return "contains a NUL"
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "must not contain '..'"
		}
	}
	return ""
}

func cleanDir(d string) string {
	d = path.Clean("/" + d)
	return strings.TrimPrefix(d, "/")
}

func findFile(files []event.File, p string) (event.File, bool) {
	for _, f := range files {
		if f.Path() == p && f.MimeType == "text/csv" {
			return f, true
		}
	}
	for _, f := range files {
		if f.Path() == p {
			return f, true
		}
	}
	return event.File{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isIdentifier reports whether s is an ASCII Python identifier and not a keyword.
func isIdentifier(s string) bool {
	if s == "" || pyKeywords[s] {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

var pyKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`False None True and as assert async await break class continue def del elif
		else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield`) {
		m[k] = true
	}
	return m
}()
