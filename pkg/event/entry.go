package event

import (
	"bytes"
	"encoding/json"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// The kinds of JSON value, named as errors name them (see jsonKind).
const (
	kindNothing = "nothing"
	kindString  = "a string"
	kindNumber  = "a number"
	kindBool    = "a boolean"
	kindNull    = "null"
	kindObject  = "an object"
	kindList    = "a list"
)

// entry is one object of an ingest event's data, read from the data's bytes (rawEntry) or
// from the decoded event document (docEntry), so that ParseIngest and IngestFromDocument
// share one reading of entries.
type entry interface {
	// get returns the member key, of kind nothing when it is absent.
	get(key string) member
}

// member is one member of an entry: what reading an entry needs to know of it.
type member struct {
	kind string
	raw  json.RawMessage // from bytes: the JSON text
	doc  any             // from a document: the decoded value
}

// text is a string's text, or a number's JSON text.
func (m member) text() string {
	if m.raw == nil {
		switch t := m.doc.(type) {
		case string:
			return t
		case json.Number:
			return string(t)
		}
		return ""
	}
	switch m.kind {
	case kindString:
		var s string
		_ = unmarshalString(m.raw, &s) // a string of data json.Unmarshal has read: no error
		return s
	case kindNumber:
		return string(m.raw)
	}
	return ""
}

// value is the member as a Value (a scalar's).
func (m member) value() Value {
	if m.raw != nil {
		return Value{raw: append(json.RawMessage(nil), m.raw...)}
	}
	b, err := jsonpath2.Encode(m.doc)
	if err != nil {
		return Value{}
	}
	return Value{raw: b}
}

type rawEntry map[string]json.RawMessage

func (e rawEntry) get(key string) member {
	raw := bytes.TrimSpace(e[key])
	if len(raw) == 0 {
		return member{kind: kindNothing}
	}
	return member{kind: jsonKind(raw), raw: raw}
}

type docEntry struct{ o *jsonpath2.Object }

func (e docEntry) get(key string) member {
	v, ok := e.o.Get(key)
	if !ok {
		return member{kind: kindNothing}
	}
	m := member{doc: v}
	switch v.(type) {
	case string:
		m.kind = kindString
	case json.Number:
		m.kind = kindNumber
	case bool:
		m.kind = kindBool
	case nil:
		m.kind = kindNull
	case *jsonpath2.Object:
		m.kind = kindObject
	case []any:
		m.kind = kindList
	default:
		m.kind = kindNothing // not a value of jsonpath2.Decode
	}
	return m
}
