package jsonpath2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestDecodeWithin: a bound on the values' memory refuses dense documents (before decoding
// them when the quick estimate already says so) and gives Decode's value to the others.
func TestDecodeWithin(t *testing.T) {
	t.Parallel()
	list := func(elem string, n int) []byte {
		return []byte("[" + strings.Repeat(elem+",", n-1) + elem + "]")
	}
	sample := readSample(t)
	var distinct strings.Builder
	distinct.WriteString("[")
	for i := range 100000 {
		fmt.Fprintf(&distinct, "%d,", 10000+i)
	}
	distinct.WriteString("0]")
	cases := []struct {
		name    string
		doc     []byte
		factor  int
		refused bool
	}{
		{"sample event within 5x", sample, 5, false},
		{"empty objects", list("{}", 100000), 5, true},
		{"zeros", list("0", 100000), 5, true},
		{"small objects", list(`{"a":0}`, 100000), 5, true},
		{"distinct numbers", []byte(distinct.String()), 5, true},
		{"distinct numbers within 12x", []byte(distinct.String()), 12, false},
		{"equal numbers within 5x", list("12345", 100000), 5, false},
		{"empty strings with escapes", list(`"\n"`, 100000), 5, true},
		{"long strings within 2x", list(`"`+strings.Repeat("x", 200)+`"`, 1000), 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeWithin(tc.doc, tc.factor*len(tc.doc))
			if tc.refused {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := Decode(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := Encode(got)
			b, _ := Encode(want)
			if !bytes.Equal(a, b) {
				t.Errorf("DecodeWithin gives %.200s, Decode %.200s", a, b)
			}
		})
	}
	// The same errors as Decode below the bound.
	if _, err := DecodeWithin([]byte(`[1,`), 1<<20); err == nil || err.Error() != "jsonpath2: decode: unexpected EOF" {
		t.Errorf("truncated document: %v", err)
	}
}

// TestSharedBoxes: equal short strings and numbers share a box, and a number never shares
// the box of a string of the same text.
func TestSharedBoxes(t *testing.T) {
	t.Parallel()
	v, err := Decode([]byte(`["1", 1, "1", 1, 1.0]`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Encode(v)
	if string(got) != `["1",1,"1",1,1.0]` {
		t.Errorf("decoded %s", got)
	}
	for i, want := range []string{"string", "number", "string", "number", "number"} {
		kind := "string"
		if _, ok := v.([]any)[i].(string); !ok {
			kind = "number"
		}
		if kind != want {
			t.Errorf("value %d is a %s, want a %s", i, kind, want)
		}
	}
}

// TestMatchesWithin: the same answer as Matches within the budget, ErrLimit past it, and an
// evaluation error (a zero slice step) is no match rather than an error.
func TestMatchesWithin(t *testing.T) {
	t.Parallel()
	doc, err := Decode(readSample(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		`$["data"][*][?(@["destinationTable"] = "Files")]`,
		`$["data"][*][?(@["key"] = "nothing")]`,
		`$["data"][::0]`,
	} {
		p := MustParse(text)
		ok, steps, err := p.MatchesWithin(doc, MaxSteps)
		if err != nil || ok != p.Matches(doc) {
			t.Errorf("%s: MatchesWithin = %v, %v; Matches = %v", text, ok, err, p.Matches(doc))
		}
		if steps <= 0 {
			t.Errorf("%s: %d steps", text, steps)
		}
		if _, _, err := p.MatchesWithin(doc, steps-1); steps > 1 && !errors.Is(err, ErrLimit) {
			t.Errorf("%s: within %d steps (it takes %d): %v, want ErrLimit", text, steps-1, steps, err)
		}
	}
}
