package jsonpath2

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, fails only with a *SyntaxError, keeps the text of what it
// accepts, and evaluating what it accepts on a small document never panics. Seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`$`, `$.a[0]`, `$[?(@.a = 1 and not @.b or $.c)]`, `$..[1:-2:3]`,
		`$[?(@.s.substring(0, -1) = "x")]`, `$["a\"b", *, length()]`, `$[?({"a":[1,2.5]} != null)]`} {
		f.Add(s)
	}
	doc, err := Decode([]byte(`{"a":[1,2,{"b":"x"}],"s":"hello","c":{"d":[true,null,1.5e3]},"k":"s","i":-1}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Column < 0 {
				t.Fatalf("Parse(%q) error %#v is not a positioned *SyntaxError", expr, err)
			}
			return
		}
		if p.String() != expr {
			t.Fatalf("String() = %q, want %q", p.String(), expr)
		}
		if _, err := p.matchWithin(100_000, doc); err != nil && !errors.Is(err, ErrZeroStep) && !errors.Is(err, ErrLimit) {
			t.Fatalf("Match(%q): unexpected error %v", expr, err)
		}
	})
}

// FuzzDecode: Decode never panics, agrees with the decoder it replaced (sameAsReference),
// and what it accepts survives Encode and Decode again unchanged. Seeds are in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(readSample(f))
	for _, s := range []string{`{}`, `[1,"a",null,true,{"k":[]}]`, `{"a":1,"a":2}`, `1e400`, `"\u00e9\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsReference(t, data)
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
		b2, err := Encode(v2)
		if err != nil || string(b) != string(b2) {
			t.Fatalf("not stable: %s then %s (%v)", b, b2, err)
		}
	})
}
