package scripts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKeyValues(t *testing.T) {
	for name, c := range map[string]struct {
		body, want, err string
	}{
		"the example script's":  {body: "do_processing,False\n", want: "do_processing=False"},
		"quoted, blank lines":   {body: "a,1\n\n\"b c\",\"x, y\"\r\n", want: "a=1 b c=x, y"},
		"value kept as written": {body: "a, spaced \n", want: "a= spaced "},
		"three fields":          {body: "a,b,c\n", err: "line 1: want key,value (3 fields)"},
		"one field":             {body: "a,1\nlonely\n", err: "line 2: want key,value (1 fields)"},
		"empty key":             {body: ",v\n", err: "line 1: empty key"},
		"key twice":             {body: "a,1\na,2\n", err: `line 2: key "a" given twice`},
		"lineage key":           {body: "Transactions._id,5\n", err: "is set by the dispatcher"},
		"job id key":            {body: "dispatcher.job_id,x\n", err: "is set by the dispatcher"},
		"control in key":        {body: "\"a\nb\",1\n", err: "control characters"},
		"NUL in value":          {body: "a,x\x00y\n", err: "NUL"},
		"not UTF-8":             {body: "a,\xff\n", err: "not UTF-8"},
		"bad quoting":           {body: "a,\"open\n", err: "key/value file kvp.csv"},
		"too many":              {body: manyRows(MaxKeyValues + 1), err: "more than 1000 key/values"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "kvp.csv"), []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			kvs, err := ReadKeyValues(root, "kvp.csv")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range kvs {
				got = append(got, kv[0]+"="+kv[1])
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), c.want)
			}
		})
	}
}

func manyRows(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "key%d,v\n", i)
	}
	return b.String()
}

func TestReadKeyValuesOutsideOrMissing(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(outside, []byte("secret,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "kvp.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if kvs, err := ReadKeyValues(root, "kvp.csv"); err == nil {
		t.Errorf("a link out of the job directory was read: %v", kvs)
	}
	if kvs, err := ReadKeyValues(root, "missing.csv"); err != nil || kvs != nil {
		t.Errorf("a missing file: %v %v, want no key/values", kvs, err)
	}
	if _, err := ReadKeyValues(root, "d"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}
