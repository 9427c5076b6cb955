package jsonpath2_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

func sampleDoc(b *testing.B) any {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := jsonpath2.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkProxymodRoute is the dispatcher's routing of one event: the proxymod route on
// the sample event.
func BenchmarkProxymodRoute(b *testing.B) {
	doc := sampleDoc(b)
	route := proxymod.Route()
	b.ReportAllocs()
	for b.Loop() {
		got, err := route.Match(doc)
		if err != nil || len(got) != 1 {
			b.Fatalf("Match = %d values, %v; want the event", len(got), err)
		}
	}
}

// BenchmarkDecodeSample is the decoding that precedes it.
func BenchmarkDecodeSample(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := jsonpath2.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
