package proxymod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

func sampleEventText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// variation is an edit of the sample event's text.
type variation func(t *testing.T, s string) string

// replace replaces every occurrence of old, failing the test when there is none, so that a
// variation cannot silently stop testing what it names.
func replace(old, new string) variation {
	return func(t *testing.T, s string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("the sample event has no %q", old)
		}
		return strings.ReplaceAll(s, old, new)
	}
}

// replaceOnce replaces the first occurrence of old only.
func replaceOnce(old, new string) variation {
	return func(t *testing.T, s string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("the sample event has no %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func all(vs ...variation) variation {
	return func(t *testing.T, s string) string {
		for _, v := range vs {
			s = v(t, s)
		}
		return s
	}
}

// kv is a TransactionKeyValue entry of the sample, key and value as its text has them.
func kv(key, value string) string {
	return `"key": "` + key + `",
      "value": ` + value
}

// prepend adds entries at the start of data.
func prepend(entries string) variation { return replaceOnce(`"data": [`, `"data": [`+entries+`,`) }

func TestRoute(t *testing.T) {
	t.Parallel()
	sample := sampleEventText(t)
	type tc struct {
		name  string
		edit  variation
		match bool
	}
	cases := []tc{
		{"the sample event", func(_ *testing.T, s string) string { return s }, true},
		{"source is a URL", replace(`"source": "/pacifica/metadata/ingest"`, `"source": "http://metadata.pacifica.org/transactions?_id=1234"`), true},
		{"no source at all", replace(`"source": "/pacifica/metadata/ingest"`, `"sourceless": true`), true},
		{"an empty eventID is still an id", replace(`"eventID": "C234-1234-1234"`, `"eventID": ""`), true},

		// Directories with and without a trailing slash.
		{"subdirs without trailing slash", all(replace(`"subdir": "inputs/"`, `"subdir": "inputs"`), replace(`"subdir": "models/"`, `"subdir": "models"`)), true},
		{"in_dir without trailing slash", replace(`"value": "inputs/"`, `"value": "inputs"`), true},
		{"both without trailing slash", all(replace(`"value": "inputs/"`, `"value": "inputs"`), replace(`"subdir": "inputs/"`, `"subdir": "inputs"`)), true},
		{"one CSV with the slash, one without", replaceOnce(`"subdir": "inputs/"`, `"subdir": "inputs"`), true},
		{"nested in_dir", all(replace(`"value": "inputs/"`, `"value": "data/in"`), replace(`"subdir": "inputs/"`, `"subdir": "data/in/"`)), true},
		{"CSVs at the top with in_dir /", all(replace(`"value": "inputs/"`, `"value": "/"`), replace(`"subdir": "inputs/"`, `"subdir": ""`)), true},
		{"CSVs at the top with in_dir empty", all(replace(`"value": "inputs/"`, `"value": ""`), replace(`"subdir": "inputs/"`, `"subdir": ""`)), true},
		{"in_dir with two more slashes", replace(`"value": "inputs/"`, `"value": "inputs///"`), false},
		{"subdir with two slashes, in_dir with none", all(replace(`"value": "inputs/"`, `"value": "inputs"`), replace(`"subdir": "inputs/"`, `"subdir": "inputs//"`)), false},
		{"in_dir spelled ./inputs/", replace(`"value": "inputs/"`, `"value": "./inputs/"`), false},
		{"CSVs in another directory", replace(`"subdir": "inputs/"`, `"subdir": "other/"`), false},
		{"one CSV in another directory", replaceOnce(`"subdir": "inputs/"`, `"subdir": "input/"`), false},
		{"CSVs in a subdirectory of in_dir", replace(`"subdir": "inputs/"`, `"subdir": "inputs/x/"`), false},
		{"directory case differs", replace(`"subdir": "inputs/"`, `"subdir": "Inputs/"`), false},

		// Extra and unusual content.
		{"junk entries in data", prepend(`1, "x", null, [], {}, {"destinationTable": "NothingReally", "metaID": 7}, {"destinationTable": "FileKeyValue", "key": "k", "value": "v", "file_id": 1}`), true},
		{"extra Files", prepend(`{"destinationTable": "Files", "_id": 9, "name": "readme.txt", "subdir": "", "mimetype": "text/plain"}, {"destinationTable": "Files", "_id": 10, "name": "x.csv", "subdir": "other", "mimetype": "text/csv"}`), true},
		{"a decoy duplicate key/value before the real one", prepend(`{"destinationTable": "TransactionKeyValue", "key": "proxymod.task", "value": "retreat"}`), true},
		{"data is an object", func(t *testing.T, s string) string {
			doc, err := jsonpath2.Decode([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			o := doc.(*jsonpath2.Object)
			data, _ := o.Get("data")
			obj := jsonpath2.NewObject()
			for i, e := range data.([]any) {
				obj.Set(string(rune('a'+i)), e)
			}
			o.Set("data", obj)
			b, err := jsonpath2.Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}, true},
		{"configs_count as a number", replace(kv("proxymod.configs_count", `"3"`), kv("proxymod.configs_count", `3`)), true},
		{"configs_count empty", replace(kv("proxymod.configs_count", `"3"`), kv("proxymod.configs_count", `""`)), true},
		{"runtime null", replace(kv("proxymod.config_1.PROJECT.runtime", `"2"`), kv("proxymod.config_1.PROJECT.runtime", `null`)), true},
		{"failure 0", replace(kv("proxymod.config_1.PROJECT.failure", `"0"`), kv("proxymod.config_1.PROJECT.failure", `0`)), true},
		{"out_dir false", replace(kv("proxymod.config_1.OUTPUTS.out_dir", `"outputs/"`), kv("proxymod.config_1.OUTPUTS.out_dir", `false`)), true},

		// What makes an event no proxymod job.
		{"wrong task", replace(`"value": "advance"`, `"value": "retreat"`), false},
		{"task value in another case", replace(`"value": "advance"`, `"value": "Advance"`), false},
		{"wrong version", replace(`"value": "v0.0.1"`, `"value": "v0.0.2"`), false},
		{"task key in another case", replace(`"key": "proxymod.task"`, `"key": "proxymod.Task"`), false},
		{"task in another table", replace(`"destinationTable": "TransactionKeyValue",
      "key": "proxymod.task"`, `"destinationTable": "FileKeyValue",
      "key": "proxymod.task"`), false},
		{"missing configs_count", replace(`"key": "proxymod.configs_count"`, `"key": "proxymod.configs"`), false},
		{"a key/value without its value key", replace(`"key": "proxymod.config_1.PROJECT.failure",
      "value": "0"`, `"key": "proxymod.config_1.PROJECT.failure"`), false},
		{"CSV named differently from the key/value", replace(`"name": "in_file_two.csv"`, `"name": "in_file_2.csv"`), false},
		{"key/value naming another CSV", replace(`"value": "in_file_one.csv"`, `"value": "in_file_1.csv"`), false},
		{"CSV with another mimetype", replaceOnce(`"mimetype": "text/csv"`, `"mimetype": "text/plain"`), false},
		{"CSV not in Files", replaceOnce(`"destinationTable": "Files",
      "hashsum": "319137b6d37fb22967ba03e604e655ccff41f3c1"`, `"destinationTable": "Filez",
      "hashsum": "319137b6d37fb22967ba03e604e655ccff41f3c1"`), false},
		{"no python file in models/", replace(`"subdir": "models/"`, `"subdir": "scripts/"`), false},
		{"python files in a subdirectory of models/", replace(`"subdir": "models/"`, `"subdir": "models/sub/"`), false},
		{"python files with another mimetype", replace(`"mimetype": "text/x-python"`, `"mimetype": "text/plain"`), false},
		{"missing eventID", replace(`"eventID": "C234-1234-1234"`, `"eventid": "C234-1234-1234"`), false},
		{"orm event", replace(`"eventType": "org.pacifica.metadata.ingest"`, `"eventType": "org.pacifica.metadata.orm"`), false},
		{"the event inside a list", func(_ *testing.T, s string) string { return "[" + s + "]" }, false},
		{"no data", replace(`"data": [`, `"notdata": [`), false},
	}
	for _, key := range []string{"PROJECT.runtime", "PROJECT.failure", "INPUTS.in_dir", "INPUTS.in_file_one", "INPUTS.in_file_two", "OUTPUTS.out_dir"} {
		cases = append(cases,
			tc{"missing config_1 " + key, replace(`"key": "proxymod.config_1.`+key+`"`, `"key": "proxymod.config_9.`+key+`"`), false},
			tc{"config_1 " + key + " key in another case", replace(`"key": "proxymod.config_1.`+key+`"`, `"key": "proxymod.config_1.`+strings.ToLower(key)+`"`), false},
		)
	}
	// The two CSVs and the python files can be anywhere in data.
	cases = append(cases, tc{"files before the key/values", func(t *testing.T, s string) string {
		doc, err := jsonpath2.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		o := doc.(*jsonpath2.Object)
		data, _ := o.Get("data")
		entries := data.([]any)
		reordered := append(append([]any{}, entries[len(entries)-5:]...), entries[:len(entries)-5]...)
		o.Set("data", reordered)
		b, err := jsonpath2.Encode(o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(strings.SplitAfter(string(b), `"data":[`)[1], `{"_id":1,`) {
			t.Fatal("reordering failed")
		}
		return string(b)
	}, true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			text := c.edit(t, sample)
			doc, err := jsonpath2.Decode([]byte(text))
			if err != nil {
				t.Fatalf("the variation is not JSON: %v", err)
			}
			got, err := Route().Match(doc)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.match && (len(got) != 1 || got[0] != doc):
				t.Errorf("got %d matches, want exactly the event", len(got))
			case !c.match && len(got) != 0:
				t.Errorf("matched, want no match")
			}
			if Route().Matches(doc) != c.match {
				t.Errorf("Matches = %v, want %v", !c.match, c.match)
			}
		})
	}
}

func TestRouteIsTheEmbeddedText(t *testing.T) {
	t.Parallel()
	if RouteName != "proxymod" {
		t.Errorf("RouteName = %q", RouteName)
	}
	if Route() != Route() {
		t.Error("Route parses the text again on every call")
	}
	if Route().String() != RouteText || !strings.HasPrefix(RouteText, "$[?(") {
		t.Errorf("Route() is not the embedded route text: %.40q", Route().String())
	}
	if strings.Contains(RouteText, "source") {
		t.Error("the route looks at the event's source")
	}
}
