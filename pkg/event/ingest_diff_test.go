package event

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// envelopes wrap an ingest event's data in each form an event can arrive in.
var envelopes = []struct {
	name string
	wrap func(data []byte) (http.Header, []byte)
}{
	{"pacifica", func(d []byte) (http.Header, []byte) {
		return header("Content-Type", "application/json"), []byte(`{"cloudEventsVersion":"0.1","eventType":"org.pacifica.metadata.ingest",` +
			`"source":"/pacifica/metadata/ingest","eventID":"i","data":` + string(d) + `}`)
	}},
	{"structured", func(d []byte) (http.Header, []byte) {
		return header("Content-Type", "application/cloudevents+json"), []byte(`{"specversion":"1.0","id":"i",` +
			`"source":"/pacifica/metadata/ingest","type":"org.pacifica.metadata.ingest","datacontenttype":"application/json","data":` + string(d) + `}`)
	}},
	{"binary", func(d []byte) (http.Header, []byte) {
		return header("Content-Type", "application/json", "Ce-Specversion", "1.0", "Ce-Id", "i",
			"Ce-Source", "/pacifica/metadata/ingest", "Ce-Type", "org.pacifica.metadata.ingest"), d
	}},
}

// sameIngest fails t unless ParseIngest gives exactly what it gave before it shared its
// reading of entries (refParseIngest), and IngestFromDocument, on the decoded document of
// the data in each envelope, gives the reference's errors and values.
func sameIngest(t *testing.T, data []byte) {
	t.Helper()
	want, werr := refParseIngest(data)
	got, err := ParseIngest(data)
	if fmt.Sprint(err) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseIngest(%q) = %+v, %v\nreference %+v, %v", data, got, err, want, werr)
	}
	for _, env := range envelopes {
		h, body := env.wrap(data)
		evs, err := Parse(h, body)
		if err != nil {
			continue // not an event
		}
		ev := evs[0]
		doc, err := jsonpath2.Decode(ev.Document())
		if err != nil {
			continue // not a document: intake never validates such an event (it is unrouted)
		}
		want, werr := refParseIngest(ev.Data())
		got, err := ev.IngestFromDocument(doc)
		if fmt.Sprint(err) != fmt.Sprint(werr) || ingestText(got) != ingestText(want) {
			t.Fatalf("%s event of %q: IngestFromDocument = %s, %v\nreference %s, %v", env.name, data,
				ingestText(got), err, ingestText(want), werr)
		}
	}
}

// ingestText writes what an Ingest says, with each Value as what it holds (absent, a
// string, its text) rather than its JSON spelling.
func ingestText(in *Ingest) string {
	if in == nil {
		return "nil"
	}
	var b strings.Builder
	val := func(v Value) {
		n, isInt := v.Int64()
		fmt.Fprintf(&b, "(%v %v %q %d %v)", v.IsZero(), v.IsString(), v.String(), n, isInt)
	}
	t := in.Transaction
	for _, v := range []Value{t.ID, t.Submitter, t.Project, t.Instrument, t.Description, t.AnalyticalTool, t.SuspenseDate} {
		val(v)
	}
	for _, kv := range in.KeyValues {
		fmt.Fprintf(&b, "\nkv %q ", kv.Key)
		val(kv.Value)
	}
	for _, f := range in.Files {
		fmt.Fprintf(&b, "\nfile %+v", f)
	}
	for _, fkv := range in.FileKeyValues {
		fmt.Fprintf(&b, "\nfkv %q ", fkv.Key)
		val(fkv.Value)
		val(fkv.FileID)
	}
	return b.String()
}

// ingestCases are data lists for the differential tests: every way an entry or a member
// can be absent, null, of another kind, repeated or spelled with escapes.
var ingestCases = []string{
	`[]`, `null`, ``, ` `, `{}`, `"x"`, `1`, `true`, `[1,"x",null,[],{}]`, `[{"destinationTable":null}]`,
	`[{"destinationTable":1}]`, `[{"destinationTable":"Nope"}]`, `[{"destinationTable":"Transactions.nope","value":[]}]`,
	`[{"destinationTable":"Transactions._id","value":1},{"destinationTable":"Transactions._id","value":2}]`,
	`[{"destinationTable":"Transactions._id"}]`, `[{"destinationTable":"Transactions._id","value":null}]`,
	`[{"destinationTable":"Transactions.submitter","value":{"a":1}}]`, `[{"destinationTable":"Transactions.project","value":[1]}]`,
	`[{"destinationTable":"Transactions.instrument","value":"\u0041\u00e9"}]`, `[{"destinationTable":"Transactions.description","value":true}]`,
	`[{"destinationTable":"Transactions.suspense_date","value":1.5e3}]`, `[{"destinationTable":"Transactions.analytical_tool","value":-0}]`,
	`[{"destinationTable":"Transactions._id","value":1,"value":"two"}]`, `[{"destinationTable":"Files","destinationTable":"TransactionKeyValue","key":"k","value":"v"}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k","value":"v"}]`, `[{"destinationTable":"TransactionKeyValue","key":"","value":"v"}]`,
	`[{"destinationTable":"TransactionKeyValue","key":null}]`, `[{"destinationTable":"TransactionKeyValue","key":1}]`,
	`[{"destinationTable":"TransactionKeyValue","value":"v"}]`, `[{"destinationTable":"TransactionKeyValue","key":"k"}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k","value":{}}]`, `[{"destinationTable":"TransactionKeyValue","key":"k","value":[]}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k","value":null}]`, `[{"destinationTable":"TransactionKeyValue","key":"k","value":2.50}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k","value":"a\nb"}]`, `[{"destinationTable":"TransactionKeyValue","key":"k","value":"a\u2028b"}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k\u0000","value":"v"}]`, `[{"destinationTable":"TransactionKeyValue","key":"k","value":"\ud800"}]`,
	`[{"destinationTable":"TransactionKeyValue","key":"k","value":"tab\there \"quoted\" \\ \/"}]`,
	`[{"destinationTable":"FileKeyValue","key":"k","value":"v","file_id":1}]`, `[{"destinationTable":"FileKeyValue"}]`,
	`[{"destinationTable":"FileKeyValue","key":1,"value":{},"file_id":[]}]`, `[{"destinationTable":"FileKeyValue","key":null,"value":null,"file_id":"1"}]`,
	`[{"destinationTable":"Files"}]`, `[{"destinationTable":"Files","name":null}]`, `[{"destinationTable":"Files","name":1}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":1,"hashtype":"sha1","hashsum":"` + strings.Repeat("a", 40) + `"}]`,
	`[{"destinationTable":"Files","name":"a","subdir":null,"_id":1,"size":1,"hashtype":"sha1","hashsum":"` + strings.Repeat("a", 40) + `","mimetype":null,"ctime":null,"mtime":null}]`,
	`[{"destinationTable":"Files","name":"a","subdir":1,"_id":1,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":"1","size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":null,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1.5,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1e3,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":99999999999999999999,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":-1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":1,"hashtype":null,"hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":1,"hashtype":"SHA1","hashsum":"` + strings.Repeat("A", 40) + `","mimetype":[]}]`,
	`[{"destinationTable":"Files","name":"\u002e\u002e","_id":1,"size":1,"hashtype":"md5","hashsum":"` + strings.Repeat("0", 32) + `"}]`,
	`[{"destinationTable":"Files","name":"a","subdir":"x\/..\/..","_id":1,"size":1,"hashtype":"md5","hashsum":"` + strings.Repeat("0", 32) + `"}]`,
	`[` + fileEntry("a", "d") + `,` + fileEntry("a", "d/") + `]`, `[` + fileEntry("a", "../b") + `]`,
	"[{\"destinationTable\":\"TransactionKeyValue\",\"key\":\"k\",\"value\":\"\xff\"}]",
	`[{"destinationTable":true}]`, `[{"destinationTable":"TransactionKeyValue","key":true,"value":false}]`,
	`[{"destinationTable":"Files","name":"a","subdir":true,"_id":1,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","subdir":"d","_id":false,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":{},"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":"a","_id":1,"size":[],"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":{},"_id":1,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
	`[{"destinationTable":"Files","name":[],"_id":1,"size":1,"hashtype":"sha1","hashsum":"x"}]`,
}

func TestIngestMatchesReference(t *testing.T) {
	t.Parallel()
	sameIngest(t, sampleData(t))
	for _, c := range ingestCases {
		sameIngest(t, []byte(c))
	}
}

// TestIngestMatchesReferenceRandom: the sample's data with members changed, removed or
// retyped at random (a fixed seed: the same inputs on every run).
func TestIngestMatchesReferenceRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	data := string(sampleData(t))
	swaps := []string{`"value"`, `"key"`, `"name"`, `"subdir"`, `"_id"`, `"size"`, `"hashtype"`, `"hashsum"`,
		`"destinationTable"`, `"Files"`, `"TransactionKeyValue"`, `"Transactions._id"`, `null`, `1.5`, `-1`, `[]`, `{}`,
		`"x"`, `""`, `"\u0041"`, `"a\nb"`, `"../x"`, `"models/"`, `true`, `false`, `"sha1"`, `"md5"`}
	n := 300
	if testing.Short() {
		n = 50
	}
	for range n {
		s := data
		for range 1 + rng.IntN(4) {
			from, to := swaps[rng.IntN(len(swaps))], swaps[rng.IntN(len(swaps))]
			s = replaceNth(s, from, to, rng.IntN(16))
		}
		sameIngest(t, []byte(s))
	}
}

// replaceNth replaces the n-th occurrence of old in s (counting from 0, wrapping around).
func replaceNth(s, old, new string, n int) string {
	c := strings.Count(s, old)
	if c == 0 {
		return s
	}
	i := -1
	for range n%c + 1 {
		i += 1 + strings.Index(s[i+1:], old)
	}
	return s[:i] + new + s[i+len(old):]
}

// FuzzIngestFromDocument: on any data, ParseIngest and IngestFromDocument agree with the
// reference (see sameIngest).
func FuzzIngestFromDocument(f *testing.F) {
	f.Add(sampleData(f))
	for _, c := range ingestCases {
		f.Add([]byte(c))
	}
	f.Fuzz(sameIngest)
}
