package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// ParsePacifica reads Pacifica's CloudEvents 0.1 JSON envelope.
func ParsePacifica(body []byte) (*Event, error) {
	probe, err := unmarshalMembers(body)
	if err != nil {
		return nil, fmt.Errorf("%w: the body is not a JSON object: %v", ErrMalformed, jsonErr(err))
	}
	return fromPacifica(body, probe)
}

// extensionName is what CloudEvents 1.0 allows as an attribute name; Pacifica extensions
// with other names are kept in Raw and Document but not copied to CE.
var extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

func fromPacifica(body []byte, f map[string]json.RawMessage) (*Event, error) {
	str := func(key string, required bool) (string, error) {
		raw, ok := f[key]
		if !ok || string(raw) == "null" {
			if required {
				return "", fmt.Errorf("%w: %s: missing", ErrMalformed, key)
			}
			return "", nil
		}
		var s string
		if err := unmarshalString(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s: want a string, got %s", ErrMalformed, key, jsonKind(raw))
		}
		if required && s == "" {
			return "", fmt.Errorf("%w: %s: empty", ErrMalformed, key)
		}
		return s, nil
	}
	var (
		vals = map[string]string{}
		err  error
	)
	for _, k := range []string{"cloudEventsVersion", "eventType", "source", "eventID"} {
		if vals[k], err = str(k, true); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"eventTime", "contentType", "eventTypeVersion", "schemaURL"} {
		if vals[k], err = str(k, false); err != nil {
			return nil, err
		}
	}
	ce := cloudevents.New()
	ce.SetID(vals["eventID"])
	ce.SetSource(vals["source"])
	if ce.Source() == "" {
		// The SDK drops a source that is not a URI reference (a control character...).
		return nil, fmt.Errorf("%w: source: not a URI reference: %q", ErrMalformed, vals["source"])
	}
	ce.SetType(vals["eventType"])
	ct := vals["contentType"]
	if ct == "" {
		ct = "application/json"
	}
	ce.SetDataContentType(ct)
	ev := &Event{Raw: body, Mode: ModePacifica, timeText: vals["eventTime"]}
	if t, ok := ev.Time(); ok {
		ce.SetTime(t)
	}
	if raw, ok := f["extensions"]; ok && string(raw) != "null" {
		ext, err := unmarshalMembers(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: extensions: want an object, got %s", ErrMalformed, jsonKind(raw))
		}
		for k, v := range ext {
			var s any
			if extensionName.MatchString(k) && json.Unmarshal(v, &s) == nil && s != nil {
				ce.SetExtension(k, fmt.Sprint(s))
			}
		}
	}
	if raw, ok := f["data"]; ok {
		ev.data = bytes.TrimSpace(raw)
		ce.DataEncoded = ev.data
	}
	ev.CE = ce
	return ev, nil
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Document returns the event as Pacifica's CloudEvents 0.1 JSON: the document that route
// and subscription filters are applied to (notifications applies subscription filters to
// that form). For a Pacifica event it is Raw itself; for a CloudEvents 1.0/0.3 event it is
// an envelope built from its attributes, with its JSON data kept verbatim (data that is not
// JSON becomes a JSON string).
func (e *Event) Document() []byte {
	b, _ := e.DocumentWithin(0)
	return b
}

// DocumentWithin is Document with a bound on the memory of decoding the data of a
// CloudEvents 1.0/0.3 event to build the envelope (see jsonpath2.DecodeWithin; 0 is no
// bound): past it, it fails with an error wrapping jsonpath2.ErrTooLarge. A Pacifica
// event's document is its body, which takes nothing to build.
func (e *Event) DocumentWithin(maxBytes int) ([]byte, error) {
	if e.Mode == ModePacifica {
		return e.Raw, nil
	}
	doc := jsonpath2.NewObject()
	doc.Set("cloudEventsVersion", "0.1")
	doc.Set("eventType", e.Type())
	doc.Set("source", e.Source())
	doc.Set("eventID", e.ID())
	if e.timeText != "" {
		doc.Set("eventTime", e.timeText)
	}
	ext := jsonpath2.NewObject()
	exts := e.CE.Extensions()
	for _, k := range slices.Sorted(maps.Keys(exts)) {
		ext.Set(k, fmt.Sprint(exts[k]))
	}
	doc.Set("extensions", ext)
	ct := e.CE.DataContentType()
	if ct == "" {
		ct = "application/json"
	}
	doc.Set("contentType", ct)
	if d := e.CE.Data(); len(d) > 0 {
		v, err := jsonpath2.DecodeWithin(d, maxBytes)
		switch {
		case err == nil:
			doc.Set("data", v)
		case errors.Is(err, jsonpath2.ErrTooLarge):
			return nil, err
		default:
			doc.Set("data", string(d))
		}
	}
	return jsonpath2.Encode(doc)
}
