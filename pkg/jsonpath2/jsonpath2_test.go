package jsonpath2

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run evaluates expr on the JSON document and returns the matches as compact JSON.
func run(t *testing.T, expr, doc string) (string, error) {
	t.Helper()
	p, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%s): %v", expr, err)
	}
	d, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("Decode(%s): %v", doc, err)
	}
	got, err := p.Match(d)
	if err != nil {
		return "", err
	}
	b, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

func TestSemantics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, doc, want string
	}{
		// §2.1 nodes
		{"root alone", `$`, `{"a":1}`, `[{"a":1}]`},
		{"root null", `$`, `null`, `[null]`},
		{"key", `$.a`, `{"a":1}`, `[1]`},
		{"key null value", `$["a"]`, `{"a":null}`, `[null]`},
		{"missing key", `$.b`, `{"a":1}`, `[]`},
		{"key on array", `$.a`, `[1]`, `[]`},
		{"union order", `$["b","a"]`, `{"a":1,"b":2}`, `[2,1]`},
		{"union then chain", `$["a","b"].c`, `{"a":{"c":1},"b":{"c":2}}`, `[1,2]`},
		{"chain depth-first", `$[*][*]`, `[[1,2],[3]]`, `[1,2,3]`},
		// §2.2 subscripts
		{"index", `$[1]`, `[1,2,3]`, `[2]`},
		{"negative index", `$[-1]`, `[1,2,3]`, `[3]`},
		{"negative index wraps once", `$[-4]`, `[1,2,3]`, `[]`},
		{"index past end", `$[3]`, `[1,2,3]`, `[]`},
		{"huge index", `$[99999999999999999999]`, `[1,2,3]`, `[]`},
		{"index on object", `$[0]`, `{"0":1}`, `[]`},
		{"wildcard object key order", `$.*`, `{"b":1,"a":2}`, `[1,2]`},
		{"wildcard array", `$[*]`, `[1,[2],{"a":3}]`, `[1,[2],{"a":3}]`},
		{"wildcard string", `$[*]`, `"abc"`, `[]`},
		{"filter on object tests the object", `$[?(@.a = 1)]`, `{"a":1}`, `[{"a":1}]`},
		{"filter on array tests the array", `$[?(@.a = 1)]`, `[{"a":1}]`, `[]`},
		{"filter after wildcard", `$[*][?(@.a = 1)]`, `[{"a":1},{"a":2}]`, `[{"a":1}]`},
		{"filter on data object values", `$.data[*][?(@.k = 1)]`, `{"data":{"x":{"k":1},"y":{"k":2}}}`, `[{"k":1}]`},
		{"path subscript string", `$[$.k]`, `{"k":"a","a":5}`, `[5]`},
		{"path subscript int", `$.arr[$.i]`, `{"i":1,"arr":[7,8]}`, `[8]`},
		{"path subscript bool", `$.arr[$.b]`, `{"b":true,"arr":[7,8]}`, `[8]`},
		{"path subscript float skipped", `$.arr[$.f]`, `{"f":1.0,"arr":[7,8]}`, `[]`},
		{"path subscript current", `$[*][@.k]`, `[{"k":"v","v":3}]`, `[3]`},
		// slices
		{"slice", `$[1:3]`, `[0,1,2,3,4]`, `[1,2]`},
		{"slice open", `$[:2]`, `[0,1,2,3,4]`, `[0,1]`},
		{"slice step", `$[::2]`, `[0,1,2,3,4]`, `[0,2,4]`},
		{"slice all", `$[:]`, `[0,1,2]`, `[0,1,2]`},
		{"slice reverse is empty", `$[::-1]`, `[0,1,2,3,4]`, `[]`},
		{"slice wraps twice", `$[2:-9:-1]`, `[0,1,2,3,4]`, `[2,1,0,4,3,2]`},
		{"slice descending", `$[3:0:-1]`, `[0,1,2,3,4]`, `[3,2,1]`},
		{"slice negative start clamps", `$[-9:2]`, `[0,1,2,3,4]`, `[0,1]`},
		{"slice huge end", `$[1:99999999999999999999]`, `[0,1,2]`, `[1,2]`},
		{"slice huge start descending", `$[99999999999999999999:0:-2]`, `[0,1,2,3,4]`, `[3,1]`},
		{"slice on object", `$[0:1]`, `{"a":1}`, `[]`},
		{"slice on string", `$[0:1]`, `"abc"`, `[]`},
		// recursive descent
		{"descent wildcard", `$..*`, `{"a":{"b":1},"c":[2,{"d":3}]}`, `[{"b":1},[2,{"d":3}],1,2,{"d":3},3]`},
		{"descent key", `$..a`, `{"a":1,"b":{"a":2,"c":[{"a":3}]}}`, `[1,2,3]`},
		{"descent filter includes root", `$..[?(@.a)]`, `{"a":1,"b":{"a":2}}`, `[{"a":1,"b":{"a":2}},{"a":2}]`},
		{"descent twice", `$..a..b`, `{"a":{"x":{"b":1}}}`, `[1]`},
		// §2.3 functions
		{"length array", `$.length()`, `[1,2,3]`, `[3]`},
		{"length string code points", `$.length()`, `"héllo"`, `[5]`},
		{"length object", `$.length()`, `{"a":1}`, `[]`},
		{"length with argument", `$.length(1)`, `[1]`, `[]`},
		{"keys object", `$.keys()`, `{"b":1,"a":2}`, `[["b","a"]]`},
		{"keys array", `$.keys()`, `["x","y"]`, `[[0,1]]`},
		{"values object", `$.values()`, `{"b":1,"a":2}`, `[[1,2]]`},
		{"values array", `$.values()`, `[1]`, `[[1]]`},
		{"entries", `$.entries()`, `{"a":1}`, `[[["a",1]]]`},
		{"entries array", `$[entries()]`, `[5]`, `[[[0,5]]]`},
		{"charAt", `$.charAt(1)`, `"hello"`, `["e"]`},
		{"charAt negative", `$.charAt(-1)`, `"hello"`, `["o"]`},
		{"charAt out of range", `$.charAt(9)`, `"hello"`, `[]`},
		{"charAt string arg", `$.charAt("1")`, `"hello"`, `[]`},
		{"substring python slicing", `$.substring(-3)`, `"hello"`, `["llo"]`},
		{"substring two", `$.substring(1,3)`, `"hello"`, `["el"]`},
		{"substring clamps", `$.substring(2,99)`, `"hello"`, `["llo"]`},
		{"substring bad arg", `$.substring(1,"x")`, `"hello"`, `[]`},
		{"function cartesian product", `$.s.charAt($.i[*])`, `{"s":"abc","i":[0,2]}`, `["a","c"]`},
		{"function result subscripted", `$.keys()[0]`, `{"x":1}`, `["x"]`},
		{"function in filter", `$[?(@.length() = 2)]`, `[1,2]`, `[[1,2]]`},
		// §2.4 existence
		{"exists empty string", `$[?(@.a)]`, `{"a":""}`, `[{"a":""}]`},
		{"exists zero", `$[?(@.a)]`, `{"a":0}`, `[{"a":0}]`},
		{"exists false", `$[?(@.a)]`, `{"a":false}`, `[{"a":false}]`},
		{"exists null", `$[?(@.a)]`, `{"a":null}`, `[{"a":null}]`},
		{"exists missing", `$[?(@.a)]`, `{"b":1}`, `[]`},
		{"literal truthiness 0", `$[?(0)]`, `{"a":1}`, `[]`},
		{"literal truthiness 1", `$[?(1)]`, `{"a":1}`, `[{"a":1}]`},
		{"literal truthiness empty string", `$[?("")]`, `1`, `[]`},
		{"literal truthiness empty list", `$[?([])]`, `1`, `[]`},
		{"literal truthiness list", `$[?([0])]`, `1`, `[1]`},
		{"literal truthiness null", `$[?(null)]`, `1`, `[]`},
		{"literal truthiness 0.0", `$[?(0.0)]`, `1`, `[]`},
		// comparisons
		{"any pair", `$[?(@.a[*] = 3)]`, `{"a":[1,2,3]}`, `[{"a":[1,2,3]}]`},
		{"first left value quirk", `$[?($["a"][*] = $["b"][*])]`, `{"a":[1,2,3],"b":[3]}`, `[]`},
		{"first left value quirk reversed", `$[?($["b"][*] = $["a"][*])]`, `{"a":[1,2,3],"b":[3]}`, `[{"a":[1,2,3],"b":[3]}]`},
		{"empty side makes != false", `$[?(@.missing != "x")]`, `{"a":1}`, `[]`},
		{"not of missing =", `$[?(not @.missing = "x")]`, `{"a":1}`, `[{"a":1}]`},
		{"both missing", `$[?(@.a = @.b)]`, `{}`, `[]`},
		{"no coercion", `$[?(@.a = 1)]`, `{"a":"1"}`, `[]`},
		{"exact big ints", `$[?(@.a = 9007199254740992)]`, `{"a":9007199254740993}`, `[]`},
		{"big ints equal", `$[?(@.a = 9007199254740993)]`, `{"a":9007199254740993}`, `[{"a":9007199254740993}]`},
		{"int equals float", `$[?(1 = 1.0)]`, `1`, `[1]`},
		{"bool is number", `$[?(@.a = 1)]`, `{"a":true}`, `[{"a":true}]`},
		{"number is bool", `$[?(@.a = true)]`, `{"a":1}`, `[{"a":1}]`},
		{"false is zero", `$[?(@.a = 0)]`, `{"a":false}`, `[{"a":false}]`},
		{"true is 1.0", `$[?(true = 1.0)]`, `1`, `[1]`},
		{"true is not the string True", `$[?(@.a = "True")]`, `{"a":true}`, `[]`},
		{"null equals null", `$[?(@.a = null)]`, `{"a":null}`, `[{"a":null}]`},
		{"null is not false", `$[?(@.a = false)]`, `{"a":null}`, `[]`},
		{"case sensitive", `$[?(@.a = "abc")]`, `{"a":"ABC"}`, `[]`},
		{"array equality", `$[?(@.a = [1,2])]`, `{"a":[1,2]}`, `[{"a":[1,2]}]`},
		{"array equality bool", `$[?(@.a = [1,true])]`, `{"a":[1,1]}`, `[{"a":[1,1]}]`},
		{"object equality ignores order", `$[?(@.a = {"y":2,"x":1})]`, `{"a":{"x":1,"y":2}}`, `[{"a":{"x":1,"y":2}}]`},
		{"object equality key set", `$[?(@.a = {"x":1})]`, `{"a":{"x":1,"y":2}}`, `[]`},
		{"less than", `$[*][?(@ < 2)]`, `[1,2,3]`, `[1]`},
		{"greater equal", `$[*][?(@ >= 2)]`, `[1,2,3]`, `[2,3]`},
		{"strings never ordered", `$[*][?(@ < "b")]`, `["a","c"]`, `[]`},
		{"bool ordered as number", `$[*][?(@ > 0)]`, `[true,false]`, `[true]`},
		{"float ordering", `$[*][?(@ > 1.5)]`, `[1,2,1.75]`, `[2,1.75]`},
		{"!= pairwise", `$[?(@.a[*] != 1)]`, `{"a":[1,2]}`, `[{"a":[1,2]}]`},
		{"raw string literal", `$[?(@.a = "a\"b")]`, `{"a":"a\"b"}`, `[]`},
		{"raw string literal matches raw text", `$[?(@.a = "a\\b")]`, `{"a":"a\\\\b"}`, `[{"a":"a\\\\b"}]`},
		{"raw key", `$["a\"b"]`, `{"a\\\"b":1}`, `[1]`},
		// precedence: and loosest, then or, then not
		{"or binds tighter than and", `$[?(@.a or @.b and @.c)]`, `{"a":1}`, `[]`},
		{"and of or", `$[?(@.a and @.b or @.c)]`, `{"a":1,"c":1}`, `[{"a":1,"c":1}]`},
		{"not binds tighter than and", `$[?(not @.a and @.b)]`, `{"b":1}`, `[{"b":1}]`},
		{"not of comparison", `$[?(not @.x = 2)]`, `{"x":1}`, `[{"x":1}]`},
		{"not not", `$[?(not not @.x)]`, `{"x":1}`, `[{"x":1}]`},
		{"parentheses", `$[?((@.a or @.b) and @.c)]`, `{"b":1,"c":1}`, `[{"b":1,"c":1}]`},
		{"dollar inside filter is the root", `$.x[?(@.k = $.want)]`, `{"want":2,"x":{"k":2}}`, `[{"k":2}]`},
		{"whitespace everywhere", "$ . a [ 0 ]", `{"a":[5]}`, `[5]`},
		{"1and@", `$[?(1and@.a)]`, `{"a":1}`, `[{"a":1}]`},
		{"contains is a key in 0.4.5", `$.contains`, `{"contains":1}`, `[1]`},
		{"multi-line", "$[?(\n@.a = 1\n)]", `{"a":1}`, `[{"a":1}]`},
		{"duplicate key last value first place", `$.*`, `{"a":1,"b":2,"a":3}`, `[3,2]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, tc.expr, tc.doc)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Errorf("%s on %s = %s, want %s", tc.expr, tc.doc, got, tc.want)
			}
		})
	}
}

func TestZeroStepIsAMatchTimeError(t *testing.T) {
	t.Parallel()
	p, err := Parse(`$[::0]`)
	if err != nil {
		t.Fatalf("a zero step parses in the Python library: %v", err)
	}
	if _, err := p.Match([]any{}); !errors.Is(err, errZeroStep) {
		t.Errorf("Match = %v, want the zero step error", err)
	}
	if p.Matches([]any{}) {
		t.Error("Matches is true despite the error")
	}
	// On a non-array the slice does not apply, so no error.
	if _, err := p.Match("x"); err != nil {
		t.Errorf("Match on a string: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr string
		line, col  int
	}{
		{"must start with $ (x07)", `@.a`, 1, 0},
		{"single quotes (x06)", `$['a']`, 1, 2},
		{"double equals", `$[?(@.a == 1)]`, 1, 9},
		{"&&", `$[?(@.a && @.b)]`, 1, 8},
		{"lone !", `$[?(!@.a)]`, 1, 4},
		{"plus number (g12)", `$[+1]`, 1, 2},
		{"non-ASCII id (g13)", `$.é`, 1, 2},
		{"bad escape (x23)", `$["\q"]`, 1, 2},
		{"empty brackets", `$[]`, 1, 2},
		{"bare word in brackets", `$[foo]`, 1, 5},
		{"float index", `$[1.5]`, 1, 2},
		{"exponent index", `$[1e2]`, 1, 2},
		{"unknown function", `$.foo()`, 1, 2},
		{"descent alone", `$..`, 1, 3},
		{"three dots", `$...a`, 1, 3},
		{"chained comparison", `$[?(@.a = 1 = 2)]`, 1, 12},
		{"parenthesised operand", `$[?((@.a) = 1)]`, 1, 10},
		{"keyword as key", `$.and`, 1, 2},
		{"unterminated string", `$["a]`, 1, 2},
		{"trailing garbage", `$.a b`, 1, 4},
		{"leading zero", `$[01]`, 1, 3},
		{"second line", "$[?(@.a\n = = 1)]", 2, 3},
		{"contains is not an operator in 0.4.5", `$[?(@.a contains "x")]`, 1, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tc.expr, err)
			}
			if se.Line != tc.line || se.Column != tc.col {
				t.Errorf("Parse(%q): error at %d:%d (%v), want %d:%d", tc.expr, se.Line, se.Column, err, tc.line, tc.col)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("error %q does not start with the position", err)
			}
		})
	}
}

func TestValidExpressionsParse(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`$`, `$.a.b`, `$["a"]["b"]`, `$[0,1,"x",*]`, `$[-0]`, `$[1:]`, `$[:-1]`, `$[1::2]`, `$[::]`,
		`$[?(@)]`, `$[?($)]`, `$[?(@.a = {"k": [1, 2.5e-3, true, false, null, {}]})]`, `$[length()]`,
		`$.a.length()`, `$[?(@.x.substring(0, @.n) = "ab")]`, `$[12345678901234567890123]`,
		`$[?(@["a"] != -1.5E+10)]`, `$[?(not (@.a or @.b))]`, `$..[0]`, `$..*`, `$[$.a, @.b]`,
	} {
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"invalid JSON":   `{"a":}`,
		"trailing data":  `{"a":1} x`,
		"two values":     `1 2`,
		"invalid UTF-8":  "\"\xff\"",
		"empty":          ``,
		"too deep":       strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		"truncated":      `{"a":[1,2`,
		"leading zero":   `01`,
		"single quotes":  `{'a':1}`,
		"unquoted key":   `{a:1}`,
		"trailing comma": `[1,]`,
	}
	for name, doc := range bad {
		if _, err := Decode([]byte(doc)); err == nil {
			t.Errorf("%s: Decode(%q) succeeded", name, doc)
		}
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Decode([]byte(deep)); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
	v, err := Decode([]byte(`{"z":1,"a":[1.50,-0,1e400,"\u00e9"],"m":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"z":1,"a":[1.50,-0,1e400,"é"],"m":{}}` {
		t.Errorf("Encode(Decode(x)) = %s: key order or number text lost", b)
	}
}

// The four Pacifica expressions of JSONPATH2.md §4 on the sample event.
func TestPacificaExpressions(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	sample := string(raw)
	a := `$[?(@["cloudEventsVersion"] = "0.1" and @["eventType"] = "org.pacifica.metadata.ingest")]`
	c := `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "do_processing" and @["value"] = "True" )] )]`
	doProcessing := `{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "True"}, `
	count := func(expr, doc string) int {
		t.Helper()
		p := MustParse(expr)
		d, err := Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Match(d)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	withData := func(prefix string) string { return strings.Replace(sample, `"data": [`, `"data": [`+prefix, 1) }
	checks := []struct {
		name      string
		expr, doc string
		want      int
	}{
		{"(a) on the event", a, sample, 1},
		{"(a) on a list of the event", a, "[" + sample + "]", 0},
		{"(a) on null", a, `null`, 0},
		{"(a) numeric version", a, strings.Replace(sample, `"0.1"`, `0.1`, 1), 0},
		{"(c) on the proxymod event", c, sample, 0},
		{"(c) with do_processing", c, withData(doProcessing), 1},
		{"(c) with two do_processing", c, withData(doProcessing + doProcessing), 1},
		{"(c) with boolean true", c, withData(`{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": true}, `), 0},
		{"(c) with lowercase true", c, withData(`{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "true"}, `), 0},
		{"(d) over the whole event", `$[*][?(@["destinationTable"] = "Files")]`, sample, 0},
	}
	for _, ch := range checks {
		if got := count(ch.expr, ch.doc); got != ch.want {
			t.Errorf("%s: %d matches, want %d", ch.name, got, ch.want)
		}
	}
	// (d) over event["data"] gives the 5 Files records in order.
	ev, _ := Decode(raw)
	data, _ := ev.(*Object).Get("data")
	got, err := MustParse(`$[*][?(@["destinationTable"] = "Files")]`).Match(data)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		id, _ := f.(*Object).Get("_id")
		b, _ := Encode(id)
		ids = append(ids, string(b))
	}
	if strings.Join(ids, ",") != "1,2,3,4,5" {
		t.Errorf("(d) over data = files %v, want 1,2,3,4,5 in order", ids)
	}
}

func TestDeepDocumentDoesNotOverflow(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, MaxDepth-1) + "1" + strings.Repeat("}", MaxDepth-1)
	d, err := Decode([]byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	got, err := MustParse(`$..a`).Match(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxDepth-1 {
		t.Errorf("$..a found %d values, want %d", len(got), MaxDepth-1)
	}
}
