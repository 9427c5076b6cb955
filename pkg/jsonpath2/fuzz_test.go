package jsonpath2

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{`$`, `$.a[0]`, `$[?(@.a = 1 and not @.b or $.c)]`, `$..[1:-2:3]`,
		`$[?(@.s.substring(0, -1) = "x")]`, `$["a\"b", *, length()]`, `$[?({"a":[1,2.5]} != null)]`} {
		f.Add(s)
	}
	doc, _ := Decode([]byte(`{"a":[1,2,{"b":"x"}],"s":"hello","c":{"d":[true,null,1.5]}}`))
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Parse(expr)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", expr, err)
			}
			return
		}
		if p.String() != expr {
			t.Fatalf("String() = %q, want %q", p.String(), expr)
		}
		_, _ = p.Match(doc) // must not panic
	})
}

func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{`{}`, `[1,"a",null,true,{"k":[]}]`, `{"a":1,"a":2}`, `1e400`, `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		b, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
		v2, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(v)) = %v for %s", err, b)
		}
		b2, _ := Encode(v2)
		if string(b) != string(b2) {
			t.Fatalf("not stable: %s then %s", b, b2)
		}
	})
}

func BenchmarkMatchFilesOfSample(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	p := MustParse(`$[?($["data"][*][?(@["destinationTable"] = "Files" and @["mimetype"] = "text/x-python")])]`)
	b.ReportAllocs()
	for b.Loop() {
		if !p.Matches(doc) {
			b.Fatal("no match")
		}
	}
}
