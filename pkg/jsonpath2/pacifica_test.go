package jsonpath2

import (
	"strings"
	"testing"
)

// The expressions Pacifica's subscriptions use on the sample event and its variations.
// Expression (b), the old proxymod route, is covered by the route of package proxymod,
// whose tests check the same claims.
func TestPacificaExpressions(t *testing.T) {
	t.Parallel()
	sample := string(readSample(t))
	const (
		a = `$[?(@["cloudEventsVersion"] = "0.1" and @["eventType"] = "org.pacifica.metadata.ingest")]`
		c = `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue"
		                     and @["key"] = "do_processing" and @["value"] = "True" )] )]`
		d = `$[*][?(@["destinationTable"] = "Files")]`
	)
	edit := func(old, new string) string {
		if !strings.Contains(sample, old) {
			t.Fatalf("the sample event has no %q", old)
		}
		return strings.Replace(sample, old, new, 1)
	}
	withData := func(entries string) string { return edit(`"data": [`, `"data": [`+entries) }
	doProcessing := `{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "True"}, `
	data := func(doc string) string {
		b, err := Encode(mustGet(t, mustDecode(t, doc), "data"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, expr, doc string
		want            int    // number of matches
		wantIs          string // when set, the matches as compact JSON
	}{
		{"(a) gives [event]", a, sample, 1, ""},
		{"(a) on [event] gives []", a, "[" + sample + "]", 0, ""},
		{"(a) on null gives []", a, `null`, 0, ""},
		{"(a) wrong version", a, edit(`"cloudEventsVersion": "0.1"`, `"cloudEventsVersion": "0.2"`), 0, ""},
		{"(a) numeric version", a, edit(`"cloudEventsVersion": "0.1"`, `"cloudEventsVersion": 0.1`), 0, ""},
		{"(a) missing eventType", a, edit(`"eventType": "org.pacifica.metadata.ingest"`, `"type": "org.pacifica.metadata.ingest"`), 0, ""},
		{"(c) gives [] on the proxymod event", c, sample, 0, ""},
		{"(c) with do_processing = True", c, withData(doProcessing), 1, ""},
		{"(c) still once with two such entries", c, withData(doProcessing + doProcessing), 1, ""},
		{"(c) not with boolean true", c, withData(`{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": true}, `), 0, ""},
		{"(c) not with \"true\"", c, withData(`{"destinationTable": "TransactionKeyValue", "key": "do_processing", "value": "true"}, `), 0, ""},
		{"(d) over data gives the 5 Files in order", d, data(sample), 5, ""},
		{"(d) over the whole event gives []", d, sample, 0, ""},
		{"(d) skips scalars and nested lists", d, `[1, "Files", null, [{"destinationTable": "Files"}], {"destinationTable": "Files", "_id": 9}]`, 1,
			`[{"destinationTable":"Files","_id":9}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := MustParse(tc.expr).Match(mustDecode(t, tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d matches, want %d", len(got), tc.want)
			}
			b, _ := Encode(got)
			if tc.wantIs != "" && string(b) != tc.wantIs {
				t.Errorf("matches %s, want %s", b, tc.wantIs)
			}
			if tc.want == 1 && strings.HasPrefix(tc.expr, "$[?(") && !strings.Contains(string(b), `"eventID":"C234-1234-1234"`) {
				t.Errorf("the match is not the event itself: %.80s…", b)
			}
		})
	}
	// (d) yields the records themselves, in document order.
	got, err := MustParse(d).Match(mustDecode(t, data(sample)))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		b, _ := Encode(mustGet(t, f, "_id"))
		ids = append(ids, string(b))
	}
	if strings.Join(ids, ",") != "1,2,3,4,5" {
		t.Errorf("(d) gives files %v, want 1,2,3,4,5", ids)
	}
}

// The Python library's answers to comparisons of mixed types, each on a small document.
func TestSpecificQuestions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		question, expr, doc, want string
	}{
		{"1. a root filter tests the root as it is and yields it once", `$[?(@.k = 1)]`, `{"k":1}`, `[{"k":1}]`},
		{"1. a root filter is not applied to a list's elements", `$[?(@.k = 1)]`, `[{"k":1}]`, `[]`},
		{"2. a filter on an object does not iterate its values", `$.o[?(@.k = 1)]`, `{"o":{"x":{"k":1}}}`, `[]`},
		{"2. [*] first iterates object values", `$.o[*][?(@.k = 1)]`, `{"o":{"x":{"k":1}}}`, `[{"k":1}]`},
		{"2. [*] first iterates array elements", `$.o[*][?(@.k = 1)]`, `{"o":[{"k":1},{"k":2}]}`, `[{"k":1}]`},
		{"3. existence: \"\", 0, false and null all count", `$[*][?(@.v)]`, `[{"v":""},{"v":0},{"v":false},{"v":null},{"w":1}]`, `[{"v":""},{"v":0},{"v":false},{"v":null}]`},
		{"3. only a bare literal uses truthiness", `$[*][?(0)]`, `[{"v":1}]`, `[]`},
		{"4. = against a sub-query: any value matches", `$.f[*][?(@.n = $.names[*])]`, `{"names":["a","b"],"f":[{"n":"b"},{"n":"c"}]}`, `[{"n":"b"}]`},
		{"4. subject to the first-left-value quirk", `$[?(@.l[*] = @.r[*])]`, `{"l":[1,2],"r":[2]}`, `[]`},
		{"5. no string/number coercion", `$[*][?(@ = 1)]`, `["1",1,1.0,true,"true"]`, `[1,1.0,true]`},
		{"5. int, float and bool order as one numeric type", `$[*][?(@ >= 1)]`, `[0,true,1.5,false,"2"]`, `[true,1.5]`},
		{"6. or binds tighter than and", `$[*][?(@.a or @.b and @.c)]`, `[{"a":1},{"a":1,"c":1},{"c":1}]`, `[{"a":1,"c":1}]`},
		{"6. not binds tighter than both", `$[*][?(not @.a or @.b)]`, `[{"a":1},{"b":1},{}]`, `[{"b":1},{}]`},
	}
	for _, tc := range cases {
		t.Run(tc.question, func(t *testing.T) {
			t.Parallel()
			got, err := matchJSON(t, tc.expr, tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s on %s = %s, want %s", tc.expr, tc.doc, got, tc.want)
			}
		})
	}
}

func mustGet(tb testing.TB, v any, key string) any {
	tb.Helper()
	o, ok := v.(*Object)
	if !ok {
		tb.Fatalf("%T is not an object", v)
	}
	got, ok := o.Get(key)
	if !ok {
		tb.Fatalf("no key %q", key)
	}
	return got
}
