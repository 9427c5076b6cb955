package event

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Attributes PostgreSQL cannot hold as text (NUL, invalid UTF-8) or index (kilobytes) are
// malformed: accepted, such an event would be held in the broker and never recorded.
func TestAttributesTheStoreCannotHoldAreMalformed(t *testing.T) {
	pacifica := func(id, source, tm string) string {
		return `{"cloudEventsVersion":"0.1","eventType":"t","source":"` + source + `","eventID":"` + id + `","eventTime":"` + tm + `","data":[]}`
	}
	json := http.Header{"Content-Type": {"application/json"}}
	binary := func(id string) http.Header {
		return http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {"/s"}, "Ce-Type": {"t"}}
	}
	tests := []struct {
		name    string
		h       http.Header
		body    string
		mention string
	}{
		{"NUL in eventID", json, pacifica(`a\u0000b`, "/s", ""), "eventID: contains a NUL"},
		{"NUL in eventTime", json, pacifica("a", "/s", `2020\u0000`), "eventTime: contains a NUL"},
		{"NUL in source", json, pacifica("a", `/s\u0000`, ""), "source: not a URI reference"},
		{"long eventID", json, pacifica(strings.Repeat("a", MaxAttributeBytes+1), "/s", ""), "eventID: 1025 bytes, longer than the limit of 1024"},
		{"CloudEvents 1.0 NUL in id", json, `{"specversion":"1.0","id":"a\u0000","source":"/s","type":"t"}`, "id: contains a NUL"},
		{"binary invalid UTF-8 id", binary("a\xff"), `[]`, "id: not valid UTF-8"},
		{"batch", http.Header{"Content-Type": {"application/cloudevents-batch+json"}},
			`[{"specversion":"1.0","id":"a","source":"/s","type":"t"},{"specversion":"1.0","id":"` + strings.Repeat("b", 2000) + `","source":"/s","type":"t"}]`,
			"batch event 1: event: malformed: id: 2000 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.h, []byte(tc.body))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Parse: %v, want malformed mentioning %q", err, tc.mention)
			}
		})
	}
	// At the limit, and invalid UTF-8 inside JSON strings (decoded as U+FFFD), still parse.
	for _, body := range []string{pacifica(strings.Repeat("a", MaxAttributeBytes), "/s", ""), pacifica("a\xffb", "/s", "")} {
		if _, err := Parse(json, []byte(body)); err != nil {
			t.Errorf("Parse(%.40q): %v", body, err)
		}
	}
}
