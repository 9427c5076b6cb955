package event

import (
	"net/http"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// BenchmarkParse is the receiver's reading of one delivery: the sample Pacifica event.
func BenchmarkParse(b *testing.B) {
	body := sample(b)
	h := http.Header{"Content-Type": {"application/json"}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseIngest is the validation of the sample event's data from its bytes.
func BenchmarkParseIngest(b *testing.B) {
	data := sampleData(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseIngest(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDocument is the decoding of the sample event into its jsonpath2 document, as
// intake does before routing.
func BenchmarkDocument(b *testing.B) {
	evs, err := Parse(http.Header{}, sample(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jsonpath2.Decode(evs[0].Document()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestFromDocument is the same validation from the document decoded for
// routing, as intake does it.
func BenchmarkIngestFromDocument(b *testing.B) {
	evs, err := Parse(http.Header{}, sample(b))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := jsonpath2.Decode(evs[0].Document())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := evs[0].IngestFromDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseIngestReference is BenchmarkParseIngest with ParseIngest as it was before
// it shared its reading with IngestFromDocument, for comparison.
func BenchmarkParseIngestReference(b *testing.B) {
	data := sampleData(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := refParseIngest(data); err != nil {
			b.Fatal(err)
		}
	}
}
