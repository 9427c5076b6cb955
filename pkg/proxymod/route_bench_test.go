package proxymod

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

func BenchmarkRouteOnSample(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		doc, err := jsonpath2.Decode(raw)
		if err != nil || !Route().Matches(doc) {
			b.Fatal("no match")
		}
	}
}
