package scripts

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// INI is a parsed INI file with Python configparser's rules: sections in brackets, keys
// case-insensitive, "=" or ":" between key and value, whole-line comments starting with "#"
// or ";", indented lines continuing the previous value, a [DEFAULT] section whose keys every
// section inherits, duplicate sections or keys an error, and "%(key)s" / "%%"
// interpolation.
type INI struct {
	sections map[string]map[string]string
	order    []string
	defaults map[string]string
}

// ParseINI reads an INI file; errors name the line.
func ParseINI(r io.Reader) (*INI, error) {
	ini := &INI{sections: map[string]map[string]string{}, defaults: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur map[string]string
	var curName, lastKey string
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			if line == "" {
				lastKey = ""
			}
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if cur == nil || lastKey == "" {
				return nil, fmt.Errorf("line %d: indented line continues no value", n)
			}
			cur[lastKey] += "\n" + line
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: section header %q lacks its ]", n, line)
			}
			curName = line[1 : len(line)-1]
			lastKey = ""
			if curName == "DEFAULT" {
				cur = ini.defaults
				continue
			}
			if _, dup := ini.sections[curName]; dup {
				return nil, fmt.Errorf("line %d: section [%s] given twice", n, curName)
			}
			cur = map[string]string{}
			ini.sections[curName] = cur
			ini.order = append(ini.order, curName)
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %q comes before any [section]", n, line)
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("line %d: want key = value, got %q", n, line)
		}
		key := strings.ToLower(strings.TrimSpace(line[:i]))
		if _, dup := cur[key]; dup && curName != "DEFAULT" {
			return nil, fmt.Errorf("line %d: key %q given twice in [%s]", n, key, curName)
		}
		cur[key] = strings.TrimSpace(line[i+1:])
		lastKey = key
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ini, nil
}

// Has reports whether the section exists.
func (ini *INI) Has(section string) bool { _, ok := ini.sections[section]; return ok }

// Keys returns a section's own keys, in no particular order (callers sort).
func (ini *INI) Keys(section string) []string {
	var out []string
	for k := range ini.sections[section] {
		out = append(out, k)
	}
	return out
}

// Get returns section.key (or the [DEFAULT] value), interpolated.
func (ini *INI) Get(section, key string) (string, bool, error) {
	v, ok := ini.raw(section, strings.ToLower(key))
	if !ok {
		return "", false, nil
	}
	out, err := ini.interpolate(section, v, 0)
	if err != nil {
		return "", true, fmt.Errorf("[%s] %s: %w", section, key, err)
	}
	return out, true, nil
}

func (ini *INI) raw(section, key string) (string, bool) {
	if v, ok := ini.sections[section][key]; ok {
		return v, true
	}
	v, ok := ini.defaults[key]
	return v, ok
}

func (ini *INI) interpolate(section, v string, depth int) (string, error) {
	if depth > 10 {
		return "", fmt.Errorf("interpolation nested too deep")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		switch {
		case strings.HasPrefix(v[i:], "%%"):
			b.WriteByte('%')
			i++
		case strings.HasPrefix(v[i:], "%("):
			end := strings.Index(v[i:], ")s")
			if end < 0 {
				return "", fmt.Errorf("bad interpolation at %q (write %%%% for a literal %%)", v[i:])
			}
			name := strings.ToLower(v[i+2 : i+end])
			ref, ok := ini.raw(section, name)
			if !ok {
				return "", fmt.Errorf("interpolation of unknown key %q", name)
			}
			s, err := ini.interpolate(section, ref, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += end + 1
		default:
			return "", fmt.Errorf("a lone %% at %q (write %%%% for a literal %%)", v[i:])
		}
	}
	return b.String(), nil
}
