package service

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

// extraModel adds a second model, models/evil.py, a copy of the genuine one's entry with
// field set to v.
func extraModel(field string, v any) func(m map[string]any) {
	return func(m map[string]any) {
		f := map[string]any{}
		for k, x := range fileEntry(m, model) {
			f[k] = x
		}
		f["name"] = "evil.py"
		f[field] = v
		addEntries(f)(m)
	}
}

// inputs2 gives config_2 an INPUTS section (config_1's belongs to the route's filter), with
// key set to v.
func inputs2(key, v string) func(m map[string]any) {
	return func(m map[string]any) {
		in := map[string]string{"in_dir": "inputs/", "in_file_one": "in_file_one.csv", "in_file_two": "in_file_two.csv"}
		in[key] = v
		for _, k := range []string{"in_dir", "in_file_one", "in_file_two"} {
			setKV("proxymod.config_2.INPUTS."+k, in[k])(m)
		}
	}
}

const model = "loose_coupling.py"

func failedWith(mention ...string) hostileWant {
	return hostileWant{code: http.StatusAccepted, state: "failed", errHas: mention}
}

// noINIEcho checks that a configuration error naming the header an uploader gave does not
// show it as an INI section in what the failed run uploads (stderr.log, upload-stdout.log,
// the dispatcher.error key/value), where a reader or a parser would take it for one.
func noINIEcho(header string) func(t *testing.T, e *hostileEnv, r *hostileResult) {
	return func(t *testing.T, e *hostileEnv, r *hostileResult) {
		t.Helper()
		files := e.resultFiles(t, r.jobs[0])
		texts := map[string]string{}
		for _, name := range []string{"stderr.log", "upload-stdout.log"} {
			b, err := os.ReadFile(files[name])
			if err != nil {
				t.Errorf("the failed run's %s: %v", name, err)
			}
			texts[name] = string(b)
		}
		tx, _ := e.s.sim.Transaction(*r.jobs[0].TransactionID)
		texts[proxymod.ErrorKey] = keyValue(tx, proxymod.ErrorKey)
		for name, text := range texts {
			if !strings.Contains(text, "unknown header") {
				t.Errorf("%s does not name the problem: %q", name, text)
			}
			if strings.Contains(text, "header ["+header+"]") || strings.Contains(text, "\n["+header+"]") {
				t.Errorf("%s shows the header in INI form: %q", name, text)
			}
		}
	}
}

func pathCases() []hostileCase {
	return []hostileCase{
		// Files entries (an extra model besides the genuine one, so that the route still
		// matches): refused at intake, never run.
		{name: "path/subdir ../", deliver: edited(extraModel("subdir", "../../../../../../hostile-escape/")),
			want: failedWith("invalid event", "subdir escapes the data directory")},
		{name: "path/subdir ./ then ../", deliver: edited(extraModel("subdir", "models/./../../../")),
			want: failedWith("invalid event", "subdir escapes")},
		{name: "path/subdir absolute", deliver: edited(extraModel("subdir", "/etc/")), want: failedWith("subdir is absolute")},
		{name: "path/subdir backslashes", deliver: edited(extraModel("subdir", `models\..\..\..\`)), want: failedWith("subdir contains a backslash")},
		{name: "path/subdir NUL", deliver: edited(extraModel("subdir", "models\x00/")), want: failedWith("subdir contains a control character")},
		{name: "path/name ../", deliver: edited(extraModel("name", "../../hostile-escape.py")), want: failedWith("name contains a slash")},
		{name: "path/name ..", deliver: edited(extraModel("name", "..")), want: failedWith("is not a file name")},
		{name: "path/name empty", deliver: edited(extraModel("name", "")), want: failedWith("is not a file name")},
		{name: "path/name absolute", deliver: edited(extraModel("name", "/etc/passwd")), want: failedWith("name contains a slash")},
		{name: "path/name NUL", deliver: edited(extraModel("name", "evil.py\x00.txt")), want: failedWith("control character")},
		{name: "path/name backslashes", deliver: edited(extraModel("name", `..\..\hostile-escape.py`)), want: failedWith("backslash")},
		{name: "path/name line break", deliver: edited(extraModel("name", "a\nb.py")), want: failedWith("control character")},
		{name: "path/two files one path", deliver: edited(extraModel("name", model)), want: failedWith("the same path as Files._id")},
		{name: "path/negative size", deliver: edited(extraModel("size", -1)), want: failedWith("negative size")},
		{name: "path/bad hashsum", deliver: edited(extraModel("hashsum", "../../etc")), want: failedWith("hashsum is not a sha1 digest")},
		{name: "path/unknown hashtype", deliver: edited(extraModel("hashtype", "crc32")), want: failedWith("unsupported hashtype")},
		// A model named as no Python function can be.
		{name: "path/model name not an identifier", deliver: func(e *hostileEnv) delivery {
			_, ev := e.source(map[string]string{"loose_coupling": quickModel, "os.system": quickModel}, nil)
			return delivery{contentType: jsonCT, body: ev}
		},
			want: failedWith("proxymod model for file 'models/os.system.py' is invalid: the file name must be <python identifier>.py")},
		// Configuration values: refused by the plan, with the logs uploaded.
		{name: "path/in_dir ../", deliver: confirmed(inputs2("in_dir", "../../../../hostile-escape")),
			want: failedWith("proxymod configuration 'config_2' is invalid: INPUTS.in_dir", "must not contain '..'")},
		{name: "path/in_dir absolute", deliver: confirmed(inputs2("in_dir", "/etc")),
			want: failedWith("INPUTS.in_dir \"/etc\" must be a relative path")},
		{name: "path/out_dir ../ inside", deliver: confirmed(setKV("proxymod.config_2.OUTPUTS.out_dir", "outputs/../../../../hostile-escape")),
			want: failedWith("OUTPUTS.out_dir", "must not contain '..'")},
		{name: "path/out_dir absolute", deliver: confirmed(setKV("proxymod.config_2.OUTPUTS.out_dir", "/tmp/hostile-escape")),
			want: failedWith("OUTPUTS.out_dir", "must be a relative path")},
		{name: "path/out_dir leading backslash", deliver: confirmed(setKV("proxymod.config_2.OUTPUTS.out_dir", `\tmp\hostile-escape`)),
			want: failedWith("OUTPUTS.out_dir", "must be a relative path")},
		{name: "path/out_dir NUL", deliver: edited(setKV("proxymod.config_2.OUTPUTS.out_dir", "out\x00")),
			want: failedWith("invalid event", "NUL")},
		{name: "path/in_file_one ../", deliver: confirmed(inputs2("in_file_one", "../in_file_one.csv")),
			want: failedWith("INPUTS.in_file_one", "must not contain '..'")},
		{name: "path/in_file_two absolute", deliver: confirmed(inputs2("in_file_two", "/etc/passwd")),
			want: failedWith("INPUTS.in_file_two", "must be a relative path")},
		{name: "path/in_file_one a path", deliver: confirmed(inputs2("in_file_one", "inputs/in_file_one.csv")),
			want: failedWith("INPUTS.in_file_one", "must be a file name, not a path")},
		{name: "path/in_file_one not in the upload", deliver: confirmed(inputs2("in_file_one", "passwd")),
			want: failedWith("proxymod input file 'inputs/passwd' (config_2.INPUTS.in_file_one) is not in the upload")},
		// Backslashes are ordinary characters on Linux: a directory of that name inside the upload.
		{name: "path/out_dir backslashes inside", slow: true, deliver: confirmed(setKV("proxymod.config_2.OUTPUTS.out_dir", `outputs\..\..\hostile-escape`)),
			want: hostileWant{code: http.StatusAccepted, state: "succeeded"}},
	}
}

// crafted makes cartd serve the tar that write builds from the cart's real files.
func crafted(write func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error) func(e *hostileEnv) func() {
	return func(e *hostileEnv) func() {
		e.s.sim.SetCartOverride(pacificasim.CartOverride{Tar: func(w io.Writer, c pacificasim.CartContent) error {
			tw := tar.NewWriter(w)
			if err := write(e, tw, c); err != nil {
				return err
			}
			return tw.Close()
		}})
		return func() { e.s.sim.SetCartOverride(pacificasim.CartOverride{}) }
	}
}

// realFile writes the real content of f under name, changed by alter when given.
func realFile(tw *tar.Writer, name string, f pacificasim.CartContentFile, alter func([]byte) []byte) error {
	b, err := os.ReadFile(f.Archive)
	if err != nil {
		return err
	}
	if alter != nil {
		b = alter(b)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}

// genuine writes the cart's files as cartd would, but for the file at skip.
func genuine(tw *tar.Writer, c pacificasim.CartContent, skip string) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: c.Top + "/", Mode: 0o755}); err != nil {
		return err
	}
	for _, f := range c.Files {
		if f.Path == skip {
			continue
		}
		if err := realFile(tw, c.Top+"/"+f.Path, f, nil); err != nil {
			return err
		}
	}
	return nil
}

// withEntry serves the genuine files and one more entry first.
func withEntry(h tar.Header, body string, replace string) func(e *hostileEnv) func() {
	return crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
		hdr := h
		hdr.Name = strings.ReplaceAll(hdr.Name, "TOP", c.Top)
		hdr.Name = strings.ReplaceAll(hdr.Name, "ROOT", e.root)
		hdr.Linkname = strings.ReplaceAll(hdr.Linkname, "ROOT", e.root)
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(body))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
		if body != "" {
			if _, err := tw.Write([]byte(body)); err != nil {
				return err
			}
		}
		return genuine(tw, c, replace)
	})
}

func tarCases() []hostileCase {
	const mp = "models/loose_coupling.py"
	tc := func(name string, setup func(e *hostileEnv) func(), mention ...string) hostileCase {
		return hostileCase{name: "tar/" + name, setup: setup, deliver: edited(), want: failedWith(append([]string{"cartd"}, mention...)...)}
	}
	return []hostileCase{
		tc("entry ../", withEntry(tar.Header{Typeflag: tar.TypeReg, Name: "TOP/../../../../../../hostile-escape"}, "x", ""), "escapes the target directory"),
		tc("entry ../ inside", withEntry(tar.Header{Typeflag: tar.TypeReg, Name: "TOP/models/../../../victim.txt"}, "x", ""), "escapes the target directory"),
		tc("directory ../", withEntry(tar.Header{Typeflag: tar.TypeDir, Name: "TOP/../../../hostile-escape/"}, "", ""), "escapes the target directory"),
		tc("entry absolute", withEntry(tar.Header{Typeflag: tar.TypeReg, Name: "TOP/ROOT/victim.txt"}, "x", ""), "not a relative path"),
		tc("entry absolute as top", withEntry(tar.Header{Typeflag: tar.TypeReg, Name: "ROOT/victim.txt"}, "x", ""), "not asked for"),
		tc("symlink in place of the model", withEntry(tar.Header{Typeflag: tar.TypeSymlink, Name: "TOP/" + mp, Linkname: "ROOT/victim.txt"}, "", mp),
			"links and devices are refused"),
		tc("symlink directory then a file through it", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: c.Top + "/models", Linkname: e.root}); err != nil {
				return err
			}
			return genuine(tw, c, "")
		}), "links and devices are refused"),
		tc("hardlink to a victim", withEntry(tar.Header{Typeflag: tar.TypeLink, Name: "TOP/" + mp, Linkname: "ROOT/victim.txt"}, "", mp),
			"links and devices are refused"),
		tc("character device", withEntry(tar.Header{Typeflag: tar.TypeChar, Name: "TOP/" + mp, Devmajor: 1, Devminor: 3}, "", mp),
			"links and devices are refused"),
		tc("block device", withEntry(tar.Header{Typeflag: tar.TypeBlock, Name: "TOP/models/disk", Devmajor: 8, Devminor: 0}, "", ""),
			"links and devices are refused"),
		tc("fifo", withEntry(tar.Header{Typeflag: tar.TypeFifo, Name: "TOP/" + mp}, "", mp), "links and devices are refused"),
		tc("a file not asked for", withEntry(tar.Header{Typeflag: tar.TypeReg, Name: "TOP/models/evil.py"}, "import os\n", ""), "a file that was not asked for"),
		tc("long name with ../", withEntry(tar.Header{Typeflag: tar.TypeReg,
			Name: "TOP/" + strings.Repeat("a/", 60) + strings.Repeat("../", 70) + "hostile-escape"}, "x", ""), "escapes the target directory"),
		tc("size larger than announced", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: c.Top + "/", Mode: 0o755}); err != nil {
				return err
			}
			for _, f := range c.Files {
				var alter func([]byte) []byte
				if f.Path == mp {
					alter = func(b []byte) []byte {
						return append(b, []byte("\nimport os; os.system('touch /hostile-escape')\n")...)
					}
				}
				if err := realFile(tw, c.Top+"/"+f.Path, f, alter); err != nil {
					return err
				}
			}
			return nil
		}), "bytes, want"),
		tc("same size, other content", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			for _, f := range c.Files {
				var alter func([]byte) []byte
				if f.Path == mp {
					alter = func(b []byte) []byte { return bytes.ToUpper(b) }
				}
				if err := realFile(tw, c.Top+"/"+f.Path, f, alter); err != nil {
					return err
				}
			}
			return nil
		}), "does not match the expected"),
		tc("the same file twice", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			if err := genuine(tw, c, ""); err != nil {
				return err
			}
			return realFile(tw, c.Top+"/"+c.Files[0].Path, c.Files[0], nil)
		}), "the same file twice"),
		tc("a file missing", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			return genuine(tw, c, mp)
		}), "missing from the cart"),
		tc("a terabyte announced", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: c.Top + "/" + mp, Mode: 0o644, Size: 1 << 40}); err != nil {
				return err
			}
			_, err := tw.Write(bytes.Repeat([]byte("x"), 4096))
			return err
		}), "1099511627776 bytes, want"),
		tc("empty tar", crafted(func(e *hostileEnv, tw *tar.Writer, c pacificasim.CartContent) error {
			return nil
		}), "missing from the cart"),
		{name: "tar/garbage bytes", setup: func(e *hostileEnv) func() {
			e.s.sim.SetCartOverride(pacificasim.CartOverride{Tar: func(w io.Writer, c pacificasim.CartContent) error {
				_, err := w.Write(bytes.Repeat([]byte("garbage!"), 1000))
				return err
			}})
			return func() { e.s.sim.SetCartOverride(pacificasim.CartOverride{}) }
		}, deliver: edited(), want: failedWith("cartd", "reading the tar stream")},
		{name: "tar/truncated stream", setup: func(e *hostileEnv) func() {
			e.s.sim.SetCartOverride(pacificasim.CartOverride{Tar: func(w io.Writer, c pacificasim.CartContent) error {
				var buf bytes.Buffer
				tw := tar.NewWriter(&buf)
				if err := genuine(tw, c, ""); err != nil {
					return err
				}
				_ = tw.Close()
				// Cut inside the first file's content (after the top directory's header and
				// the file's): the stream ends where no tar may end.
				_, err := w.Write(buf.Bytes()[:2*512+40])
				return err
			}})
			return func() { e.s.sim.SetCartOverride(pacificasim.CartOverride{}) }
		}, deliver: edited(), want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{"cartd", "unexpected EOF"},
			check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
				if r.jobs[0].Attempts != 3 {
					t.Errorf("a cut stream (maybe the network) is retried: %d attempts, want 3 (JOB_MAX_ATTEMPTS)", r.jobs[0].Attempts)
				}
			}}},
	}
}

func iniCases() []hostileCase {
	return []hostileCase{
		{name: "ini/value with a line break and a section", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime", "1\n[OUTPUTS]\nout_dir = /tmp/hostile-escape")),
			want: failedWith("invalid event", "value contains a line break")},
		{name: "ini/value with CR", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime", "1\r[X]")), want: failedWith("line break")},
		{name: "ini/value with U+2028", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime", "1\u2028[X]")), want: failedWith("line break")},
		{name: "ini/value with U+0085", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime", "1\u0085[X]")), want: failedWith("line break")},
		{name: "ini/value with vertical tab", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime", "1\v[X]")), want: failedWith("control character")},
		{name: "ini/key with a line break", deliver: edited(setKV("proxymod.config_1.PROJECT.runtime\n[OUTPUTS]\nout_dir", "/tmp")),
			want: failedWith("invalid event", "key contains a line break")},
		{name: "ini/key with =", deliver: confirmed(setKV("proxymod.config_1.PROJECT.runtime = 9", "1")),
			want: failedWith(`proxymod configuration 'config_1' is invalid: unknown key "runtime = 9" in PROJECT`)},
		{name: "ini/header with brackets", deliver: confirmed(setKV("proxymod.config_1.[OUTPUTS].out_dir", "/tmp")),
			want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{`unknown header "[OUTPUTS]"`}, check: noINIEcho("[OUTPUTS]")}},
		{name: "ini/header DEFAULT", deliver: confirmed(setKV("proxymod.config_1.DEFAULT.out_dir", "/tmp")),
			want: hostileWant{code: http.StatusAccepted, state: "failed", errHas: []string{`unknown header "DEFAULT"`}, check: noINIEcho("DEFAULT")}},
		{name: "ini/key with ]", deliver: confirmed(setKV("proxymod.config_1.OUTPUTS.out_dir]", "x")), want: failedWith(`unknown key "out_dir]" in OUTPUTS`)},
		// % is written as given; the stand-in reads without interpolation (like configobj with
		// interpolation off), so the model sees it literally.
		{name: "ini/% interpolation in out_dir", slow: true, deliver: func(e *hostileEnv) delivery {
			_, ev := e.source(map[string]string{"loose_coupling": ""}, map[string]string{"proxymod.config_1.OUTPUTS.out_dir": "outputs/%(runtime)s%%"})
			return delivery{contentType: jsonCT, body: ev}
		}, want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
			files := e.resultFiles(t, r.jobs[0])
			ini, _ := os.ReadFile(files["config_1.ini"])
			if !strings.Contains(string(ini), "out_dir = outputs/%(runtime)s%%\n") {
				t.Errorf("config_1.ini is not as given:\n%s", ini)
			}
			found := false
			for p := range files {
				found = found || strings.HasPrefix(p, "outputs/%(runtime)s%%/")
			}
			if !found {
				t.Errorf("no output under the literal directory: %v", keys(files))
			}
		}}},
		{name: "ini/% interpolation in runtime", slow: true, deliver: func(e *hostileEnv) delivery {
			_, ev := e.source(map[string]string{"loose_coupling": ""}, map[string]string{"proxymod.config_1.PROJECT.runtime": "%(failure)s"})
			return delivery{contentType: jsonCT, body: ev}
		}, want: failedWith("proxymod model for file 'models/loose_coupling.py' is invalid: ValueError: invalid literal for int()")},
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, filepath.ToSlash(k))
	}
	return out
}
