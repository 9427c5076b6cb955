package event

import (
	"net/http"
	"path"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte(`{"specversion":"1.0","id":"i","source":"s","type":"t","data":{"a":1}}`))
	f.Add([]byte(`{"cloudEventsVersion":"0.1","eventType":"t","source":"s","eventID":"i","data":[]}`))
	h := http.Header{"Content-Type": {"application/json"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Parse(h, body)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if ev.ID() == "" || ev.Source() == "" || ev.Type() == "" {
				t.Fatalf("parsed an event without id/source/type: %q", body)
			}
			_ = ev.Document()
		}
	})
}

func FuzzParseIngest(f *testing.F) {
	f.Add(sampleData(f))
	f.Add([]byte(`[` + fileEntry("a", "../b") + `]`))
	f.Add([]byte(`[{"destinationTable":"TransactionKeyValue","key":"k","value":"v\n"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseIngest(data)
		if err != nil {
			return
		}
		for _, fl := range in.Files {
			p := fl.Path()
			if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") ||
				strings.ContainsAny(p, "\x00\\\n\r") {
				t.Fatalf("accepted an unsafe path %q", p)
			}
		}
		for _, kv := range in.KeyValues {
			if strings.ContainsAny(kv.Key+kv.Value.String(), "\n\r\x00") {
				t.Fatalf("accepted a key/value with a line break: %q", kv.Key)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2020-05-13T15:16:18", "2020-05-13T15:16:18Z", "2020-05-13 15:16:18.5+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTime(s)
	})
}
