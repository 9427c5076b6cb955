package event

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// sampleData returns the data list of the sample event as raw JSON.
func sampleData(t testing.TB) []byte {
	t.Helper()
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(sample(t), &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

func TestParsePacificaSample(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json", "", "application/cloudevents+json", "application/json; charset=utf-8"} {
		evs, err := Parse(header("Content-Type", ct), sample(t))
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		if len(evs) != 1 {
			t.Fatalf("got %d events", len(evs))
		}
		ev := evs[0]
		if ev.Mode != ModePacifica || ev.ID() != "C234-1234-1234" || ev.Source() != "/pacifica/metadata/ingest" ||
			ev.Type() != "org.pacifica.metadata.ingest" || ev.TimeText() != "2018-08-30T15:20:00Z" {
			t.Errorf("event = mode %s id %q source %q type %q time %q", ev.Mode, ev.ID(), ev.Source(), ev.Type(), ev.TimeText())
		}
		if tm, ok := ev.Time(); !ok || !tm.Equal(time.Date(2018, 8, 30, 15, 20, 0, 0, time.UTC)) {
			t.Errorf("Time() = %v, %v", tm, ok)
		}
		if string(ev.Document()) != string(sample(t)) {
			t.Error("Document() of a Pacifica event is not its original bytes")
		}
		if string(ev.Data()) != string(sampleData(t)) {
			t.Error("Data() is not the data list verbatim")
		}
	}
}

func TestIngestViewOfSample(t *testing.T) {
	t.Parallel()
	in, err := ParseIngest(sampleData(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(in.Transaction.ID.Raw()) != "-1" || string(in.Transaction.Submitter.Raw()) != "-1" ||
		string(in.Transaction.Project.Raw()) != "-1" || string(in.Transaction.Instrument.Raw()) != "-1" {
		t.Errorf("transaction = %+v", in.Transaction)
	}
	if id, ok := in.Transaction.ID.Int64(); !ok || id != -1 {
		t.Errorf("Transaction.ID.Int64() = %d, %v", id, ok)
	}
	if len(in.KeyValues) != 15 {
		t.Errorf("%d key/values, want 15", len(in.KeyValues))
	}
	v, ok := in.Lookup("proxymod.configs_count")
	if !ok || !v.IsString() || v.String() != "3" || string(v.Raw()) != `"3"` {
		t.Errorf("configs_count = %s (string %v), want the string \"3\"", v.Raw(), v.IsString())
	}
	if len(in.Files) != 5 {
		t.Fatalf("%d files, want 5", len(in.Files))
	}
	f := in.Files[0]
	if f.ID != 1 || f.Name != "in_file_one.csv" || f.Subdir != "inputs/" || f.Dir() != "inputs" ||
		f.Path() != "inputs/in_file_one.csv" || f.Size != 180 || f.HashType != "sha1" ||
		f.HashSum != "319137b6d37fb22967ba03e604e655ccff41f3c1" || f.MimeType != "text/csv" ||
		f.CTime != "Thu Aug 30 15:19:40 PST 2018" {
		t.Errorf("first file = %+v", f)
	}
	if in.Files[4].Path() != "models/tight_coupling.py" {
		t.Errorf("files out of event order: %+v", in.Files[4])
	}
}

func TestCloudEvents10Forms(t *testing.T) {
	t.Parallel()
	data := string(sampleData(t))
	structured := `{"specversion":"1.0","id":"C234-1234-1234","source":"/pacifica/metadata/ingest",` +
		`"type":"org.pacifica.metadata.ingest","time":"2018-08-30T15:20:00Z","datacontenttype":"application/json","data":` + data + `}`
	v03 := strings.Replace(structured, `"specversion":"1.0"`, `"specversion":"0.3"`, 1)
	cases := []struct {
		name string
		h    http.Header
		body string
		n    int
		mode Mode
	}{
		{"structured", header("Content-Type", "application/cloudevents+json"), structured, 1, ModeStructured},
		{"structured 0.3", header("Content-Type", "application/cloudevents+json"), v03, 1, ModeStructured},
		{"structured as application/json", header("Content-Type", "application/json"), structured, 1, ModeStructured},
		{"binary", header("Content-Type", "application/json", "Ce-Specversion", "1.0", "Ce-Id", "C234-1234-1234",
			"Ce-Source", "/pacifica/metadata/ingest", "Ce-Type", "org.pacifica.metadata.ingest", "Ce-Time", "2018-08-30T15:20:00Z"),
			data, 1, ModeBinary},
		{"batch of two", header("Content-Type", "application/cloudevents-batch+json"), "[" + structured + "," + structured + "]", 2, ModeBatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs, err := Parse(tc.h, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.n {
				t.Fatalf("%d events, want %d", len(evs), tc.n)
			}
			for _, ev := range evs {
				if ev.Mode != tc.mode || ev.ID() != "C234-1234-1234" || ev.Source() != "/pacifica/metadata/ingest" ||
					ev.Type() != "org.pacifica.metadata.ingest" || ev.TimeText() != "2018-08-30T15:20:00Z" {
					t.Errorf("event = %s %q %q %q %q", ev.Mode, ev.ID(), ev.Source(), ev.Type(), ev.TimeText())
				}
				in, err := ParseIngest(ev.Data())
				if err != nil || len(in.Files) != 5 {
					t.Errorf("data does not carry the sample's files: %v", err)
				}
				doc, err := jsonpath2.Decode(ev.Document())
				if err != nil {
					t.Fatalf("Document() is not JSON: %v", err)
				}
				o := doc.(*jsonpath2.Object)
				for _, k := range []string{"cloudEventsVersion", "eventType", "source", "eventID", "eventTime", "extensions", "contentType", "data"} {
					if _, ok := o.Get(k); !ok {
						t.Errorf("Document() lacks %s", k)
					}
				}
				if v, _ := o.Get("cloudEventsVersion"); v != "0.1" {
					t.Errorf("Document() cloudEventsVersion = %v", v)
				}
			}
		})
	}
}

func TestMalformedAndUnsupported(t *testing.T) {
	t.Parallel()
	js := header("Content-Type", "application/json")
	cases := []struct {
		name    string
		h       http.Header
		body    string
		want    error
		mention string
	}{
		{"not JSON", js, `{"a":`, ErrMalformed, "not a JSON object"},
		{"a list", js, `[1]`, ErrMalformed, "not a JSON object"},
		{"a string", js, `"x"`, ErrMalformed, "not a JSON object"},
		{"not a CloudEvent", js, `{"a":1}`, ErrMalformed, "neither cloudEventsVersion"},
		{"missing eventID", js, `{"cloudEventsVersion":"0.1","eventType":"t","source":"s"}`, ErrMalformed, "eventID: missing"},
		{"empty eventID", js, `{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":""}`, ErrMalformed, "eventID: empty"},
		{"numeric eventID", js, `{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":7}`, ErrMalformed, "eventID: want a string, got a number"},
		{"missing source", js, `{"cloudEventsVersion":"0.1","eventType":"t","eventID":"i"}`, ErrMalformed, "source: missing"},
		{"missing type", js, `{"cloudEventsVersion":"0.1","source":"s","eventID":"i"}`, ErrMalformed, "eventType: missing"},
		{"numeric time", js, `{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":"i","eventTime":5}`, ErrMalformed, "eventTime: want a string"},
		{"extensions a list", js, `{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":"i","extensions":[]}`, ErrMalformed, "extensions"},
		{"1.0 without id", header("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","source":"s","type":"t"}`, ErrMalformed, "id"},
		{"binary without source", header("Ce-Specversion", "1.0", "Ce-Id", "i", "Ce-Type", "t"), `{}`, ErrMalformed, "source"},
		{"empty batch", header("Content-Type", "application/cloudevents-batch+json"), `[]`, ErrMalformed, "empty batch"},
		{"batch not a list", header("Content-Type", "application/cloudevents-batch+json"), `{}`, ErrMalformed, "list"},
		{"text/plain", header("Content-Type", "text/plain"), `x`, ErrUnsupportedContentType, "text/plain"},
		{"form", header("Content-Type", "multipart/form-data; boundary=x"), `x`, ErrUnsupportedContentType, "multipart/form-data"},
		{"bad media type", header("Content-Type", "///"), `x`, ErrUnsupportedContentType, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.h, []byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestUnknownKeysAndTablesIgnored(t *testing.T) {
	t.Parallel()
	data := `[1, "junk", null, {"no":"table"}, {"destinationTable":"NothingReally","x":1},
		{"destinationTable":"Transactions.submitter","value":10,"metaID":"m","displayType":"x"},
		{"destinationTable":"Transactions.project","value":"1234a"},
		{"destinationTable":"Transactions.unknown_field","value":{"a":1}},
		{"destinationTable":"TransactionKeyValue","key":"n","value":2.5},
		{"destinationTable":"TransactionKeyValue","key":"b","value":true},
		{"destinationTable":"FileKeyValue","key":"k","value":"v","file_id":3}]`
	in, err := ParseIngest([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if string(in.Transaction.Submitter.Raw()) != "10" || in.Transaction.Project.String() != "1234a" || !in.Transaction.Project.IsString() {
		t.Errorf("transaction = %+v", in.Transaction)
	}
	if len(in.KeyValues) != 2 || string(in.KeyValues[0].Value.Raw()) != "2.5" || len(in.FileKeyValues) != 1 {
		t.Errorf("key/values = %+v, file key/values = %+v", in.KeyValues, in.FileKeyValues)
	}
}

func fileEntry(name, subdir string) string {
	b, _ := json.Marshal(map[string]any{"destinationTable": "Files", "_id": 7, "name": name, "subdir": subdir,
		"size": 1, "hashtype": "sha1", "hashsum": strings.Repeat("a", 40), "mimetype": "text/plain"})
	return string(b)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	kv := func(k, v string) string {
		b, _ := json.Marshal(map[string]any{"destinationTable": "TransactionKeyValue", "key": k, "value": v})
		return string(b)
	}
	cases := []struct {
		name, data, mention string
	}{
		{"absolute subdir", fileEntry("passwd", "/etc"), "subdir is absolute"},
		{"dotdot subdir", fileEntry("passwd", "../../etc/"), "escapes the data directory"},
		{"dotdot inside subdir", fileEntry("x", "a/../../b"), "escapes the data directory"},
		{"dotdot name", fileEntry("..", "a"), "not a file name"},
		{"dot name", fileEntry(".", "a"), "not a file name"},
		{"empty name", fileEntry("", "a"), "not a file name"},
		{"slash in name", fileEntry("a/b", ""), "slash"},
		{"backslash in name", fileEntry(`..\x`, ""), "backslash"},
		{"backslash in subdir", fileEntry("x", `a\..\..`), "backslash"},
		{"NUL in name", fileEntry("a\x00b", ""), "control character"},
		{"newline in subdir", fileEntry("a", "x\ny"), "control character"},
		{"duplicate path", fileEntry("a", "d/") + "," + strings.Replace(fileEntry("a", "d"), `"_id":7`, `"_id":8`, 1), "the same path"},
		{"negative size", strings.Replace(fileEntry("a", ""), `"size":1`, `"size":-1`, 1), "negative size"},
		{"float size", strings.Replace(fileEntry("a", ""), `"size":1`, `"size":1.5`, 1), "size: want an integer"},
		{"string id", strings.Replace(fileEntry("a", ""), `"_id":7`, `"_id":"7"`, 1), "_id: want an integer"},
		{"missing id", strings.Replace(fileEntry("a", ""), `"_id":7,`, ``, 1), "_id: missing"},
		{"bad hashtype", strings.Replace(fileEntry("a", ""), `"sha1"`, `"crc32"`, 1), "unsupported hashtype"},
		{"bad hashsum", strings.Replace(fileEntry("a", ""), strings.Repeat("a", 40), "xyz", 1), "not a sha1 digest"},
		{"newline in value", kv("proxymod.config_1.PROJECT.runtime", "1\n[OUTPUTS]"), "value contains a line break"},
		{"CR in value", kv("k", "a\rb"), "line break"},
		{"NUL in key", kv("k\x00", "v"), "key contains a NUL"},
		{"unicode line separator", kv("k", "a\u2028b"), "line break"},
		{"object value", `{"destinationTable":"TransactionKeyValue","key":"k","value":{"a":1}}`, "want a string or a number"},
		{"missing key", `{"destinationTable":"TransactionKeyValue","value":"v"}`, "key: want a non-empty string"},
		{"transaction field twice", `{"destinationTable":"Transactions.submitter","value":1},{"destinationTable":"Transactions.submitter","value":2}`, "given twice"},
		{"data not a list", ``, "want a list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := "[" + tc.data + "]"
			if tc.data == "" {
				data = `{"a":1}`
			}
			_, err := ParseIngest([]byte(data))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseIngest = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	// Tabs are fine, and so are odd but contained subdirs.
	ok := "[" + kv("k", "a\tb") + "," + fileEntry("x.csv", "./a//b/") + "]"
	in, err := ParseIngest([]byte(ok))
	if err != nil {
		t.Fatalf("valid data refused: %v", err)
	}
	if in.Files[0].Path() != "a/b/x.csv" {
		t.Errorf("Path() = %q, want a/b/x.csv", in.Files[0].Path())
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2020, 5, 13, 15, 16, 18, 0, time.UTC)
	for _, s := range []string{"2020-05-13T15:16:18", "2020-05-13T15:16:18Z", "2020-05-13 15:16:18",
		"2020-05-13T17:16:18+02:00", "2020-05-13T15:16:18z", " 2020-05-13T15:16:18 "} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := ParseTime("2020-05-13T15:16:18.123456"); err != nil || got.Nanosecond() != 123456000 {
		t.Errorf("fractional seconds: %v, %v", got, err)
	}
	for _, s := range []string{"", "yesterday", "2020-13-45T00:00:00", "13/05/2020"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) succeeded", s)
		}
	}
}
