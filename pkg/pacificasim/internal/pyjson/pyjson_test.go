package pyjson

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestReformat(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"separators and key order", `{"b":1,"a":[true,false,null],"c":{}}`, `{"b": 1, "a": [true, false, null], "c": {}}`},
		{"numbers keep their text", `[1.50, -0, 1e3, 12345678901234567890]`, `[1.50, -0, 1e3, 12345678901234567890]`},
		{"non-ASCII escaped lower-case", `"é€"`, `"\u00e9\u20ac"`},
		{"astral plane as a surrogate pair", `"😀"`, `"\ud83d\ude00"`},
		{"controls and quotes", `"a\"b\\c\n\t\u0001\u007f/"`, `"a\"b\\c\n\t\u0001\u007f/"`},
		{"HTML characters stay", `"<&>"`, `"<&>"`},
		{"repeated key: first place, last value", `{"a": 1, "b": 2, "a": 3}`, `{"a": 3, "b": 2}`},
		{"empty containers", `[[], {}]`, `[[], {}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Reformat([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Reformat(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"trailing data", `{} {}`},
		{"unterminated", `[1, 2`},
		{"bad literal", `nul`},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if v, err := Decode([]byte(tc.in)); err == nil {
				t.Errorf("Decode(%.40q) = %v, want an error", tc.in, v)
			}
		})
	}
}

func TestObjectSetAndClone(t *testing.T) {
	t.Parallel()
	o := &Object{}
	o.Set("a", json.Number("1"))
	o.Set("b", []any{"x"})
	c := o.Clone()
	c.Set("a", json.Number("2"))
	c.Set("z", nil)
	c.Values[1].([]any)[0] = "y"
	if got, _ := Marshal(o); string(got) != `{"a": 1, "b": ["x"]}` {
		t.Errorf("the original changed through its clone: %s", got)
	}
	if got, _ := Marshal(c); string(got) != `{"a": 2, "b": ["y"], "z": null}` {
		t.Errorf("clone %s", got)
	}
}

func TestMarshalGo(t *testing.T) {
	t.Parallel()
	got, err := MarshalGo(struct {
		A string          `json:"a"`
		B json.RawMessage `json:"b"`
		C *string         `json:"c"`
	}{"<é>", json.RawMessage(`{"x":[1,2]}`), nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a": "<\u00e9>", "b": {"x": [1, 2]}, "c": null}`; string(got) != want {
		t.Errorf("MarshalGo = %s, want %s", got, want)
	}
	if _, err := Marshal(json.Number(`"1"`)); err == nil {
		t.Error("Marshal accepted a json.Number that is not a number")
	}
}

// FuzzDecode checks that Decode accepts what encoding/json finds valid (within MaxDepth)
// and nothing else, and that writing is stable: reading back Marshal's output gives the
// same output.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a": [1, "é", null, true]}`, `[]`, `"\ud83d\ude00"`, `{"a":1,"a":2}`, `1e`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			if json.Valid(data) && !strings.Contains(err.Error(), "deeper") {
				t.Fatalf("Decode rejected valid JSON %q: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		for _, c := range out {
			if c >= 0x80 {
				t.Fatalf("Marshal wrote a non-ASCII byte: %q", out)
			}
		}
		v2, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode of Marshal output %q: %v", out, err)
		}
		out2, err := Marshal(v2)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("unstable: %q then %q (%v)", out, out2, err)
		}
	})
}
