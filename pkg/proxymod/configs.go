package proxymod

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// INI renders a configuration as the user gave it: a [HEADER] line, then key = value lines,
// per header, in arrival order.
func (c Config) INI() string {
	var b strings.Builder
	for _, s := range c.Sections {
		fmt.Fprintf(&b, "[%s]\n", s.Header)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s = %s\n", e.Key, e.Value)
		}
	}
	return b.String()
}

// Absolute returns the copy of the configuration the models read: INPUTS.in_dir is the
// directory of the downloaded inputs, OUTPUTS.out_dir the output directory inside the upload
// directory. Both stay inside their directories (NewPlan checked the relative paths).
func (c Config) Absolute(downloadDir, uploadDir string) Config {
	out := Config{ID: c.ID}
	for _, s := range c.Sections {
		ns := Section{Header: s.Header}
		for _, e := range s.Entries {
			switch {
			case s.Header == "INPUTS" && e.Key == "in_dir":
				e.Value = filepath.Join(downloadDir, filepath.FromSlash(cleanDir(e.Value)))
			case s.Header == "OUTPUTS" && e.Key == "out_dir":
				e.Value = filepath.Join(uploadDir, filepath.FromSlash(cleanDir(e.Value)))
			}
			ns.Entries = append(ns.Entries, e)
		}
		out.Sections = append(out.Sections, ns)
	}
	return out
}

// WriteConfigs writes <uploadDir>/<id>.ini as given and <configDir>/<id>.ini with absolute
// paths, and returns the absolute copies' paths in config order.
func WriteConfigs(p *Plan, downloadDir, uploadDir, configDir string) ([]string, error) {
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(p.Configs))
	for _, c := range p.Configs {
		if err := os.WriteFile(filepath.Join(uploadDir, c.ID+".ini"), []byte(c.INI()), 0o644); err != nil {
			return nil, fmt.Errorf("writing %s.ini: %w", c.ID, err)
		}
		abs := filepath.Join(configDir, c.ID+".ini")
		if err := os.WriteFile(abs, []byte(c.Absolute(downloadDir, uploadDir).INI()), 0o644); err != nil {
			return nil, fmt.Errorf("writing the absolute copy of %s.ini: %w", c.ID, err)
		}
		if out, ok := c.Get("OUTPUTS", "out_dir"); ok {
			if err := os.MkdirAll(filepath.Join(uploadDir, filepath.FromSlash(cleanDir(out))), 0o755); err != nil {
				return nil, err
			}
		}
		paths = append(paths, abs)
	}
	return paths, nil
}
