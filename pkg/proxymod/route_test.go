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

// edit replaces exactly one occurrence of old in s, failing the test when old is absent,
// so that a variation cannot silently stop testing what it names.
func edit(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("sample event has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestRouteOnSampleAndVariations(t *testing.T) {
	t.Parallel()
	sample := sampleEventText(t)
	kv := func(key string) string { return `"key": "` + key + `"` }
	cases := []struct {
		name  string
		event func(string) string
		match bool
	}{
		{"sample event", func(s string) string { return s }, true},
		{"source is a URL", func(s string) string {
			return edit(t, s, `"source": "/pacifica/metadata/ingest"`, `"source": "http://metadata.pacifica.org/transactions?_id=1234"`)
		}, true},
		{"no source at all", func(s string) string { return edit(t, s, `"source": "/pacifica/metadata/ingest"`, `"sourceX": 1`) }, true},
		{"subdirs without trailing slash", func(s string) string {
			s = strings.ReplaceAll(s, `"subdir": "inputs/"`, `"subdir": "inputs"`)
			return strings.ReplaceAll(s, `"subdir": "models/"`, `"subdir": "models"`)
		}, true},
		{"in_dir without trailing slash", func(s string) string { return edit(t, s, `"value": "inputs/"`, `"value": "inputs"`) }, true},
		{"both without trailing slash", func(s string) string {
			s = edit(t, s, `"value": "inputs/"`, `"value": "inputs"`)
			return strings.ReplaceAll(s, `"subdir": "inputs/"`, `"subdir": "inputs"`)
		}, true},
		{"junk entries in data", func(s string) string {
			return edit(t, s, `"data": [`, `"data": [1, "x", null, [], {"destinationTable": "NothingReally", "metaID": 7},`)
		}, true},
		{"extra files", func(s string) string {
			return edit(t, s, `"data": [`, `"data": [{"destinationTable": "Files", "_id": 9, "name": "x.bin", "subdir": "", "mimetype": "application/octet-stream"},`)
		}, true},
		{"configs_count empty string is still present", func(s string) string { return edit(t, s, `"value": "3"`, `"value": ""`) }, true},

		{"wrong task", func(s string) string { return edit(t, s, `"value": "advance"`, `"value": "retreat"`) }, false},
		{"wrong version", func(s string) string { return edit(t, s, `"value": "v0.0.1"`, `"value": "v0.0.2"`) }, false},
		{"task key in other case", func(s string) string { return edit(t, s, kv("proxymod.task"), kv("proxymod.Task")) }, false},
		{"missing configs_count", func(s string) string { return edit(t, s, kv("proxymod.configs_count"), kv("proxymod.configs")) }, false},
		{"missing config_1 runtime", func(s string) string {
			return edit(t, s, kv("proxymod.config_1.PROJECT.runtime"), kv("proxymod.config_1.PROJECT.runtimes"))
		}, false},
		{"missing config_1 out_dir", func(s string) string {
			return edit(t, s, kv("proxymod.config_1.OUTPUTS.out_dir"), kv("proxymod.config_2.OUTPUTS.out_dirs"))
		}, false},
		{"value key missing", func(s string) string {
			return edit(t, s, `"key": "proxymod.config_1.PROJECT.failure",
      "value": "0"`, `"key": "proxymod.config_1.PROJECT.failure"`)
		}, false},
		{"csv in the wrong subdir", func(s string) string { return edit(t, s, `"subdir": "inputs/"`, `"subdir": "other/"`) }, false},
		{"csv name differs from the key/value", func(s string) string {
			return edit(t, s, `"name": "in_file_two.csv"`, `"name": "in_file_2.csv"`)
		}, false},
		{"csv with another mimetype", func(s string) string {
			return edit(t, s, `"mimetype": "text/csv",
      "mtime": "Thu Aug 30 15:19:40 PST 2018",
      "name": "in_file_one.csv"`, `"mimetype": "text/plain",
      "mtime": "Thu Aug 30 15:19:40 PST 2018",
      "name": "in_file_one.csv"`)
		}, false},
		{"no python file in models/", func(s string) string { return strings.ReplaceAll(s, `"subdir": "models/"`, `"subdir": "scripts/"`) }, false},
		{"python files with another mimetype", func(s string) string {
			return strings.ReplaceAll(s, `"mimetype": "text/x-python"`, `"mimetype": "text/plain"`)
		}, false},
		{"missing eventID", func(s string) string { return edit(t, s, `"eventID": "C234-1234-1234"`, `"eventid": "C234-1234-1234"`) }, false},
		{"orm event", func(s string) string {
			return edit(t, s, `"eventType": "org.pacifica.metadata.ingest"`, `"eventType": "org.pacifica.metadata.orm"`)
		}, false},
		{"in_dir with two more slashes", func(s string) string { return edit(t, s, `"value": "inputs/"`, `"value": "inputs///"`) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := jsonpath2.Decode([]byte(tc.event(sample)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Route().Match(doc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.match && len(got) != 1 {
				t.Errorf("got %d matches, want exactly the event", len(got))
			}
			if !tc.match && len(got) != 0 {
				t.Errorf("matched, want no match")
			}
		})
	}
}

func TestRouteIsTheEmbeddedText(t *testing.T) {
	t.Parallel()
	if Route().String() != RouteText || !strings.HasPrefix(strings.TrimSpace(RouteText), "$[?(") {
		t.Errorf("Route() is not the embedded route text")
	}
}
