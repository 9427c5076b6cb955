package proxymod

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
)

// FuzzPlanConfigs feeds key/values to the plan: whatever they hold, a plan that is built
// writes configurations that are exactly its sections and key = value lines (no injected
// line, section or key), whose paths stay inside the download and upload directories.
func FuzzPlanConfigs(f *testing.F) {
	f.Add("config_1", "PROJECT", "runtime", "2", "OUTPUTS", "out_dir", "outputs/")
	f.Add("config_1", "INPUTS", "in_dir", "../x", "OUTPUTS", "out_dir", "/tmp")
	f.Add("config_1", "PROJECT", "runtime", "1\n[OUTPUTS]\nout_dir = /etc", "OUTPUTS", "out_dir", "o")
	f.Add("config_1", "PROJECT", "runtime = 3", "%(failure)s", "OUTPUTS", "out_dir", `..\..`)
	f.Fuzz(func(t *testing.T, id, h1, k1, v1, h2, k2, v2 string) {
		kv := func(k, v string) map[string]any {
			return map[string]any{"destinationTable": "TransactionKeyValue", "key": k, "value": v}
		}
		data := []any{
			kv("proxymod.configs_count", "1"),
			kv("proxymod.config_1.PROJECT.runtime", "1"), kv("proxymod.config_1.PROJECT.failure", "0"),
			kv("proxymod."+id+"."+h1+"."+k1, v1), kv("proxymod."+id+"."+h2+"."+k2, v2),
			kv("proxymod.config_1.OUTPUTS.out_dir", "outputs/"),
			map[string]any{"destinationTable": "Files", "_id": 1, "name": "m.py", "subdir": "models", "size": 1,
				"hashtype": "sha1", "hashsum": strings.Repeat("0", 40), "mimetype": "text/x-python"},
		}
		b, _ := json.Marshal(data)
		in, err := event.ParseIngest(b)
		if err != nil {
			return // refused at intake
		}
		p, err := NewPlan(in)
		if err != nil {
			return
		}
		top := t.TempDir()
		dl, up, cd := filepath.Join(top, "download"), filepath.Join(top, "upload"), filepath.Join(top, "run")
		if err := os.MkdirAll(up, 0o755); err != nil {
			t.Fatal(err)
		}
		paths, err := WriteConfigs(p, dl, up, cd)
		if err != nil {
			t.Fatalf("a valid plan's configurations cannot be written: %v", err)
		}
		for i, c := range p.Configs {
			text, err := os.ReadFile(paths[i])
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
			want := 0
			for _, s := range c.Sections {
				want += 1 + len(s.Entries)
			}
			if len(lines) != want {
				t.Fatalf("%s.ini has %d lines, want %d (sections and entries):\n%s", c.ID, len(lines), want, text)
			}
			for _, l := range lines {
				if strings.HasPrefix(l, "[") {
					if _, ok := headers[strings.Trim(l, "[]")]; !ok || !strings.HasSuffix(l, "]") {
						t.Fatalf("%s.ini: unexpected section line %q", c.ID, l)
					}
					continue
				}
				k, v, ok := strings.Cut(l, " = ")
				if !ok || strings.ContainsAny(k, "=:[]") {
					t.Fatalf("%s.ini: unexpected line %q", c.ID, l)
				}
				if k == "in_dir" && !strings.HasPrefix(filepath.Clean(v)+"/", dl+"/") {
					t.Fatalf("in_dir %q leaves the download directory", v)
				}
				if k == "out_dir" && !strings.HasPrefix(filepath.Clean(v)+"/", up+"/") {
					t.Fatalf("out_dir %q leaves the upload directory", v)
				}
			}
		}
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && p != top && !strings.HasPrefix(p, dl) && !strings.HasPrefix(p, up) && !strings.HasPrefix(p, cd) {
				t.Errorf("written outside the job's directories: %s", p)
			}
			return nil
		})
	})
}
