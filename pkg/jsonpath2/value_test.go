package jsonpath2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, msg string }{
		{"invalid JSON", `{"a":}`, "invalid character"},
		{"trailing data", `{"a":1} x`, "data after the JSON value"},
		{"two values", `1 2`, "data after the JSON value"},
		{"trailing bracket", `[1]]`, "data after the JSON value"},
		{"invalid UTF-8", "[\"a\xff\"]", "invalid UTF-8 at offset 3"},
		{"empty", ``, "unexpected EOF"},
		{"only space", "  \n", "unexpected EOF"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nesting deeper than 512"},
		{"too deep in objects", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), "nesting deeper than 512"},
		{"truncated", `{"a":[1,2`, "unexpected EOF"},
		{"leading zero", `01`, "data after"},
		{"single quotes", `{'a':1}`, "invalid character"},
		{"unquoted key", `{a:1}`, "invalid character"},
		{"trailing comma", `[1,]`, "invalid character"},
		{"NaN", `NaN`, "invalid character"},
		{"bad escape", `"\q"`, "invalid character"},
		{"raw control character", "\"a\tb\"", "invalid character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := Decode([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Decode(%q) = %v, want an error", tc.doc, v)
			}
			if !strings.HasPrefix(err.Error(), "jsonpath2: decode: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Decode(%q): %v, want an error mentioning %q", tc.doc, err, tc.msg)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	t.Parallel()
	v, err := Decode([]byte(` {"z":1, "a":[1.50,-0,1e400,"\u00e9\n",true,false,null], "m":{}, "z":2} `))
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*Object)
	if !ok {
		t.Fatalf("Decode gave %T, want *Object", v)
	}
	if got := strings.Join(o.Keys(), ","); got != "z,a,m" {
		t.Errorf("keys %s, want z,a,m (document order, duplicate at its first place)", got)
	}
	if z, _ := o.Get("z"); z != json.Number("2") {
		t.Errorf("z = %#v, want the last value json.Number(\"2\")", z)
	}
	a, _ := o.Get("a")
	want := []any{json.Number("1.50"), json.Number("-0"), json.Number("1e400"), "é\n", true, false, nil}
	arr, ok := a.([]any)
	if !ok || len(arr) != len(want) {
		t.Fatalf("a = %#v", a)
	}
	for i := range want {
		if arr[i] != want[i] {
			t.Errorf("a[%d] = %#v, want %#v", i, arr[i], want[i])
		}
	}
	if m, _ := o.Get("m"); m.(*Object).Len() != 0 {
		t.Errorf("m = %v, want an empty object", m)
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Decode([]byte(deep)); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	o := NewObject()
	o.Set("b", json.Number("1.50"))
	o.Set("a", []any{nil, true, "<&>\"\\\x01\u2028é😀", 3, int64(-4), 0.5})
	o.Set("b", json.Number("-0"))
	o.Set("e", NewObject())
	o.Set("l", []any{})
	got, err := Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":-0,"a":[null,true,"<&>\"\\\u0001` + "\u2028é😀" + `",3,-4,0.5],"e":{},"l":[]}`
	if string(got) != want {
		t.Errorf("Encode = %s\nwant     %s", got, want)
	}
	if !json.Valid(got) {
		t.Errorf("Encode wrote invalid JSON: %s", got)
	}
	for _, bad := range []any{map[string]any{}, json.Number("1x"), json.Number(""), 1.0 / zero(), struct{}{}} {
		if b, err := Encode([]any{bad}); err == nil {
			t.Errorf("Encode(%#v) = %s, want an error", bad, b)
		}
	}
	cycle := NewObject()
	cycle.Set("self", cycle)
	if _, err := Encode(cycle); err == nil {
		t.Error("Encode of a cycle succeeded")
	}
	if b, _ := Encode("\xff"); string(b) != `"`+"\ufffd"+`"` {
		t.Errorf("invalid UTF-8 encodes as %s, want U+FFFD", b)
	}
}

func zero() float64 { return 0 }

func TestRoundTripKeepsOrderAndNumberText(t *testing.T) {
	t.Parallel()
	in := `{"z":1,"a":[1.50,-0,1E+400,"é"],"m":{"y":{},"x":[]},"n":123456789012345678901234567890}`
	b, err := Encode(mustDecode(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != in {
		t.Errorf("Encode(Decode(x)) = %s, want %s", b, in)
	}
	sample := readSample(t)
	b, err = Encode(mustDecode(t, string(sample)))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, sample); err != nil {
		t.Fatal(err)
	}
	if string(b) != compact.String() {
		t.Errorf("the sample event does not round-trip:\n%s\n%s", b, compact.String())
	}
}

func TestObject(t *testing.T) {
	t.Parallel()
	o := NewObject()
	if o.Len() != 0 || len(o.Keys()) != 0 {
		t.Fatal("a new object is not empty")
	}
	if _, ok := o.Get("x"); ok {
		t.Error("Get on an empty object found a key")
	}
	o.Set("x", nil)
	if v, ok := o.Get("x"); !ok || v != nil {
		t.Errorf("Get(x) = %v, %v; want a present null", v, ok)
	}
	// Past the size where the object keeps an index, lookups and order still hold.
	for i := range 40 {
		o.Set(fmt.Sprintf("k%d", i), i)
	}
	o.Set("k2", "again")
	if o.Len() != 41 {
		t.Errorf("Len = %d, want 41", o.Len())
	}
	keys := o.Keys()
	if keys[0] != "x" || keys[3] != "k2" || keys[40] != "k39" {
		t.Errorf("keys out of order: %v", keys)
	}
	if v, _ := o.Get("k2"); v != "again" {
		t.Errorf("k2 = %v, want the value set last", v)
	}
	if v, _ := o.Get("k39"); v != 39 {
		t.Errorf("k39 = %v, want 39", v)
	}
	if _, ok := o.Get("k40"); ok {
		t.Error("Get found a key never set")
	}
	keys[0] = "changed"
	if o.Keys()[0] != "x" {
		t.Error("Keys does not return a copy")
	}
	if vals := o.Values(); len(vals) != 41 || vals[3] != "again" {
		t.Errorf("Values = %v", vals)
	}
}
