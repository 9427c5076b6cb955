package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

const (
	sumConfig = "2244b00d5743f6d9f01d3ea2e2da0cfcab84d3bd"
	sumModel  = "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33"
)

func ptr[T any](v T) *T { return &v }

// baseInfo is metadata's transaction 79: two files and five key/values.
func baseInfo() *pacifica.TransactionInfo {
	return &pacifica.TransactionInfo{
		ID: 79, Submitter: ptr(int64(10)), Project: ptr("1234a"), Instrument: ptr(int64(54)),
		FileIDs: []int64{117, 118},
		Files: map[int64]pacifica.TransactionFile{
			117: {ID: 117, Name: "config_1.ini", Subdir: "", Size: 149, HashType: "sha1", HashSum: sumConfig, MimeType: "text/plain", Transaction: 79},
			118: {ID: 118, Name: "m.py", Subdir: "models", Size: 20, HashType: "sha1", HashSum: sumModel, MimeType: "text/x-python", Transaction: 79},
		},
		KeyValues: map[string]string{"proxymod.configs_count": "3", "n": "5", "f": "1.5", "b": "True", "s": "x"},
	}
}

// baseData is the data of the event of transaction 79, as Pacifica would send it: numbers
// where the upload had numbers, the fixtures' trailing slash on a subdir.
func baseData() []map[string]any {
	return []map[string]any{
		{"destinationTable": "Transactions.submitter", "value": 10},
		{"destinationTable": "Transactions.project", "value": "1234a"},
		{"destinationTable": "Transactions.instrument", "value": 54},
		{"destinationTable": "TransactionKeyValue", "key": "proxymod.configs_count", "value": "3"},
		{"destinationTable": "TransactionKeyValue", "key": "n", "value": 5},
		{"destinationTable": "TransactionKeyValue", "key": "f", "value": json.Number("1.50")},
		{"destinationTable": "TransactionKeyValue", "key": "b", "value": true},
		{"destinationTable": "TransactionKeyValue", "key": "s", "value": "x"},
		{"destinationTable": "Files", "_id": 117, "name": "config_1.ini", "subdir": "", "size": 149, "hashtype": "sha1",
			"hashsum": sumConfig, "mimetype": "text/plain", "ctime": "2020-05-13T22:16:18", "mtime": "2020-05-13T22:16:18"},
		{"destinationTable": "Files", "_id": 118, "name": "m.py", "subdir": "models/", "size": 20, "hashtype": "sha1",
			"hashsum": sumModel, "mimetype": "text/x-python"},
		{"destinationTable": "Transactions._id", "value": 79},
	}
}

func parseData(t *testing.T, data []map[string]any) *event.Ingest {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	in, err := event.ParseIngest(b)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// set changes field of the entry of table (and, for Files and key/values, of that id or
// key); a nil value removes the field.
func set(table, which, field string, v any) func([]map[string]any) []map[string]any {
	return func(d []map[string]any) []map[string]any {
		for _, e := range d {
			if e["destinationTable"] != table {
				continue
			}
			if which != "" && fmt.Sprint(e["_id"]) != which && e["key"] != which {
				continue
			}
			if v == nil {
				delete(e, field)
			} else {
				e[field] = v
			}
			return d
		}
		panic("no entry " + table + " " + which)
	}
}

func add(e map[string]any) func([]map[string]any) []map[string]any {
	return func(d []map[string]any) []map[string]any { return append(d, e) }
}

func remove(table string) func([]map[string]any) []map[string]any {
	return func(d []map[string]any) []map[string]any {
		out := d[:0]
		for _, e := range d {
			if e["destinationTable"] != table {
				out = append(out, e)
			}
		}
		return out
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	const prefix = "event does not match Pacifica metadata: "
	for _, tc := range []struct {
		name  string
		edits []func([]map[string]any) []map[string]any
		meta  func(*pacifica.TransactionInfo)
		want  string // "" when the event agrees
	}{
		{name: "as Pacifica sent it"},
		{name: "metadata answers for another transaction", meta: func(i *pacifica.TransactionInfo) { i.ID = 80 },
			want: `transaction: event says "79", metadata says "80"`},
		{name: "another submitter", edits: fx(set("Transactions.submitter", "", "value", 11)),
			want: `submitter: event says "11", metadata says "10"`},
		{name: "submitter as a string", edits: fx(set("Transactions.submitter", "", "value", "10"))},
		{name: "no submitter claimed", edits: fx(remove("Transactions.submitter"))},
		{name: "metadata has no submitter", meta: func(i *pacifica.TransactionInfo) { i.Submitter = nil },
			want: `submitter: event says "10", metadata has none`},
		{name: "another project", edits: fx(set("Transactions.project", "", "value", "9999")),
			want: `project: event says "9999", metadata says "1234a"`},
		{name: "project as a number", edits: fx(set("Transactions.project", "", "value", 1234)),
			want: `project: event says "1234", metadata says "1234a"`},
		{name: "another instrument", edits: fx(set("Transactions.instrument", "", "value", 55)),
			want: `instrument: event says "55", metadata says "54"`},
		{name: "a file of another transaction", edits: fx(set("Files", "118", "_id", 5)),
			want: `file 5: event says "models/m.py", metadata has none`},
		{name: "file name", edits: fx(set("Files", "117", "name", "config_2.ini")),
			want: `file 117 name: event says "config_2.ini", metadata says "config_1.ini"`},
		{name: "file subdir", edits: fx(set("Files", "118", "subdir", "inputs/")),
			want: `file 118 subdir: event says "inputs", metadata says "models"`},
		{name: "file subdir spelled otherwise", edits: fx(set("Files", "118", "subdir", "models"))},
		{name: "file size", edits: fx(set("Files", "117", "size", 150)),
			want: `file 117 size: event says "150", metadata says "149"`},
		{name: "file hashtype", edits: fx(set("Files", "117", "hashtype", "md5"), set("Files", "117", "hashsum", strings.Repeat("a", 32))),
			want: `file 117 hashtype: event says "md5", metadata says "sha1"`},
		{name: "file hashsum", edits: fx(set("Files", "117", "hashsum", strings.Repeat("ab", 20))),
			want: `file 117 hashsum: event says "` + strings.Repeat("ab", 20) + `", metadata says "` + sumConfig + `"`},
		{name: "file hashsum in capitals", edits: fx(set("Files", "117", "hashsum", strings.ToUpper(sumConfig)))},
		{name: "file mimetype", edits: fx(set("Files", "117", "mimetype", "text/x-python")),
			want: `file 117 mimetype: event says "text/x-python", metadata says "text/plain"`},
		{name: "file without mimetype", edits: fx(set("Files", "117", "mimetype", nil))},
		{name: "key/value value", edits: fx(set("TransactionKeyValue", "proxymod.configs_count", "value", "4")),
			want: `key/value proxymod.configs_count: event says "4", metadata says "3"`},
		{name: "key/value not in metadata", edits: fx(add(map[string]any{"destinationTable": "TransactionKeyValue", "key": "extra", "value": "x"})),
			want: `key/value extra: event says "x", metadata has none`},
		{name: "key/value given twice", edits: fx(add(map[string]any{"destinationTable": "TransactionKeyValue", "key": "s", "value": "y"})),
			want: `key/value s: event says "y", metadata says "x"`},
		{name: "key/value number for a string", edits: fx(set("TransactionKeyValue", "s", "value", 5)),
			want: `key/value s: event says "5", metadata says "x"`},
		{name: "key/value another number", edits: fx(set("TransactionKeyValue", "n", "value", 6)),
			want: `key/value n: event says "6", metadata says "5"`},
		{name: "key/value number as a string", edits: fx(set("TransactionKeyValue", "n", "value", "5"))},
		{name: "key/value string for a number", edits: fx(set("TransactionKeyValue", "n", "value", "5.0")),
			want: `key/value n: event says "5.0", metadata says "5"`},
		{name: "key/value boolean", edits: fx(set("TransactionKeyValue", "b", "value", false)),
			want: `key/value b: event says "false", metadata says "True"`},
		{name: "key/values and files the event leaves out", edits: fx(remove("TransactionKeyValue"), remove("Files"))},
		{name: "the first difference", edits: fx(set("TransactionKeyValue", "s", "value", "y"), set("Files", "118", "size", 1),
			set("Transactions.instrument", "", "value", 1)),
			want: `instrument: event says "1", metadata says "54"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := baseData()
			for _, e := range tc.edits {
				data = e(data)
			}
			info := baseInfo()
			if tc.meta != nil {
				tc.meta(info)
			}
			err := Compare(parseData(t, data), info)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Compare = %v, want agreement", err)
				}
				return
			}
			var m *Mismatch
			if !errors.As(err, &m) || err.Error() != prefix+tc.want {
				t.Errorf("Compare = %v\nwant          %s", err, prefix+tc.want)
			}
		})
	}
}

func fx(f ...func([]map[string]any) []map[string]any) []func([]map[string]any) []map[string]any {
	return f
}

func TestTransactionID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value any // nil: no Transactions._id entry
		want  int64
		err   string
	}{
		{value: 79, want: 79},
		{value: "79", want: 79},
		{value: nil, err: "the event names no transaction (no Transactions._id)"},
		{value: -1, err: "Transactions._id -1 is not a transaction id"},
		{value: "abc", err: `Transactions._id "abc" is not a transaction id`},
		{value: 7.5, err: "Transactions._id 7.5 is not a transaction id"},
	} {
		data := remove("Transactions._id")(baseData())
		if tc.value != nil {
			data = append(data, map[string]any{"destinationTable": "Transactions._id", "value": tc.value})
		}
		id, err := TransactionID(parseData(t, data))
		if tc.err == "" && (err != nil || id != tc.want) {
			t.Errorf("%v: %d, %v; want %d", tc.value, id, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: %d, %v; want an error with %q", tc.value, id, err, tc.err)
		}
	}
}

// The job's facts are metadata's: its values, the files and key/values the event named in
// event order, then metadata's others.
func TestFromMetadata(t *testing.T) {
	t.Parallel()
	info := baseInfo()
	info.Files[119] = pacifica.TransactionFile{ID: 119, Name: "b.csv", Subdir: "inputs", Size: 4, HashType: "sha1",
		HashSum: sumModel, MimeType: "text/csv", Transaction: 79}
	info.Files[116] = pacifica.TransactionFile{ID: 116, Name: "a.csv", Subdir: "inputs", Size: 4, HashType: "SHA1",
		HashSum: sumModel, MimeType: "text/csv", Transaction: 79}
	info.KeyValues["z"], info.KeyValues["a"] = "last", "first"
	data := remove("Files")(baseData())
	data = append(data, map[string]any{"destinationTable": "Files", "_id": 118, "name": "m.py", "subdir": "models/",
		"size": 20, "hashtype": "sha1", "hashsum": sumModel})
	claimed := parseData(t, data)
	if err := Compare(claimed, info); err != nil {
		t.Fatal(err)
	}
	in, err := FromMetadata(claimed, info)
	if err != nil {
		t.Fatal(err)
	}
	tx := in.Transaction
	if string(tx.ID.Raw()) != "79" || string(tx.Submitter.Raw()) != "10" || string(tx.Project.Raw()) != `"1234a"` ||
		string(tx.Instrument.Raw()) != "54" {
		t.Errorf("transaction %s %s %s %s", tx.ID.Raw(), tx.Submitter.Raw(), tx.Project.Raw(), tx.Instrument.Raw())
	}
	var files []string
	for _, f := range in.Files {
		files = append(files, fmt.Sprintf("%d %s %s", f.ID, f.Path(), f.MimeType))
	}
	want := "118 models/m.py text/x-python|116 inputs/a.csv text/csv|117 config_1.ini text/plain|119 inputs/b.csv text/csv"
	if got := strings.Join(files, "|"); got != want {
		t.Errorf("files\n got %s\nwant %s", got, want)
	}
	var kvs []string
	for _, kv := range in.KeyValues {
		kvs = append(kvs, kv.Key+"="+string(kv.Value.Raw()))
	}
	want = `proxymod.configs_count="3"|n="5"|f="1.5"|b="True"|s="x"|a="first"|z="last"`
	if got := strings.Join(kvs, "|"); got != want {
		t.Errorf("key/values\n got %s\nwant %s", got, want)
	}

	// Metadata's facts pass the event checks too.
	info.Files[119] = pacifica.TransactionFile{ID: 119, Name: "b.csv", Subdir: "../..", Size: 4, HashType: "sha1", HashSum: sumModel}
	if _, err := FromMetadata(claimed, info); !errors.Is(err, event.ErrInvalid) || !strings.Contains(err.Error(), "subdir escapes") {
		t.Errorf("a subdir escaping in metadata: %v", err)
	}
	info = baseInfo()
	info.KeyValues["proxymod.config_1.OUTPUTS.out_dir"] = "out\nx"
	if _, err := FromMetadata(claimed, info); !errors.Is(err, event.ErrInvalid) || !strings.Contains(err.Error(), "line break") {
		t.Errorf("a line break in metadata: %v", err)
	}
}

// fakeMetadata answers TransactionInfo from info or with err, and counts the calls.
type fakeMetadata struct {
	info  *pacifica.TransactionInfo
	err   error
	calls []int64
}

func (f *fakeMetadata) TransactionInfo(_ context.Context, id int64) (*pacifica.TransactionInfo, error) {
	f.calls = append(f.calls, id)
	return f.info, f.err
}

func jobOf(t *testing.T, data []map[string]any) *worker.Job {
	t.Helper()
	d, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"cloudEventsVersion": "0.1", "eventType": "org.pacifica.metadata.ingest", "source": "/pacifica/metadata/ingest",
		"eventID": "metadata.ingest.79", "eventTime": "2020-05-13T15:16:18", "extensions": {}, "contentType": "application/json",
		"data": ` + string(d) + `}`
	ev, err := event.ParsePacifica([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &worker.Job{Event: ev}
}

func TestIngest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		data  []map[string]any
		md    *fakeMetadata
		class worker.Class
		err   string // "" for success
		calls int
	}{
		{name: "agrees", data: baseData(), md: &fakeMetadata{info: baseInfo()}, calls: 1},
		{name: "unknown transaction", data: baseData(), md: &fakeMetadata{err: &pacifica.UnknownTransactionError{ID: 79}},
			class: worker.ClassPermanent, err: "transaction 79 is unknown to Pacifica metadata", calls: 1},
		{name: "metadata down", data: baseData(),
			md:    &fakeMetadata{err: &pacifica.Error{Service: "metadata", Op: "transaction info 79", StatusCode: 503, Temporary: true}},
			class: worker.ClassTransient, err: "metadata: transaction info 79: 503 Service Unavailable", calls: 1},
		{name: "metadata refuses", data: baseData(),
			md:    &fakeMetadata{err: &pacifica.Error{Service: "metadata", Op: "transaction info 79", StatusCode: 403}},
			class: worker.ClassPermanent, err: "metadata: transaction info 79: 403 Forbidden", calls: 1},
		{name: "cancelled", data: baseData(), md: &fakeMetadata{err: fmt.Errorf("metadata: transaction info 79: %w", context.Canceled)},
			class: worker.ClassCancelled, err: "context canceled", calls: 1},
		{name: "differs", data: set("Files", "117", "hashsum", strings.Repeat("cd", 20))(baseData()), md: &fakeMetadata{info: baseInfo()},
			class: worker.ClassPermanent, err: "event does not match Pacifica metadata: file 117 hashsum", calls: 1},
		{name: "metadata's facts unsafe", data: baseData(), md: &fakeMetadata{info: func() *pacifica.TransactionInfo {
			i := baseInfo()
			i.KeyValues["k"] = "a\nb"
			return i
		}()}, class: worker.ClassPermanent, err: "transaction 79 in Pacifica metadata: event: invalid: key/value \"k\": value contains a line break", calls: 1},
		{name: "no transaction id", data: remove("Transactions._id")(baseData()), md: &fakeMetadata{info: baseInfo()},
			class: worker.ClassPermanent, err: "the event names no transaction"},
		{name: "unsafe event", data: set("Files", "117", "subdir", "../../")(baseData()), md: &fakeMetadata{info: baseInfo()},
			class: worker.ClassPermanent, err: "subdir escapes the data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := Ingest(context.Background(), tc.md, jobOf(t, tc.data))
			if len(tc.md.calls) != tc.calls || (tc.calls == 1 && tc.md.calls[0] != 79) {
				t.Errorf("metadata asked for %v, want %d call(s) for 79", tc.md.calls, tc.calls)
			}
			if tc.err == "" {
				if err != nil || len(in.Files) != 2 || string(in.Transaction.Submitter.Raw()) != "10" {
					t.Fatalf("Ingest = %+v, %v", in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || worker.Classify(err) != tc.class {
				t.Errorf("Ingest error %v (class %d), want one with %q, class %d", err, worker.Classify(err), tc.err, tc.class)
			}
		})
	}
}
