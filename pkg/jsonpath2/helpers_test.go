package jsonpath2

import (
	"os"
	"path/filepath"
	"testing"
)

// samplePath is the proxymod sample event, a CloudEvents 0.1 ingest event.
var samplePath = filepath.Join("..", "..", "testdata", "proxymod-event", "event.json")

func readSample(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(samplePath)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustDecode(tb testing.TB, doc string) any {
	tb.Helper()
	v, err := Decode([]byte(doc))
	if err != nil {
		tb.Fatalf("Decode(%s): %v", doc, err)
	}
	return v
}

// matchJSON evaluates expr on the JSON document and returns the matches as compact JSON.
func matchJSON(tb testing.TB, expr, doc string) (string, error) {
	tb.Helper()
	p, err := Parse(expr)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", expr, err)
	}
	got, err := p.Match(mustDecode(tb, doc))
	if err != nil {
		return "", err
	}
	b, err := Encode(got)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b), nil
}
