package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Mode says in which form an event arrived.
type Mode string

const (
	// ModePacifica is Pacifica's CloudEvents 0.1 structured JSON.
	ModePacifica Mode = "pacifica"
	// ModeStructured is a CloudEvents 1.0/0.3 structured JSON event.
	ModeStructured Mode = "structured"
	// ModeBinary is a CloudEvents 1.0/0.3 event in ce-* headers with the data as the body.
	ModeBinary Mode = "binary"
	// ModeBatch is one event of a CloudEvents JSON batch.
	ModeBatch Mode = "batch"
)

// Errors that let a receiver choose its answer.
var (
	// ErrUnsupportedContentType: the body is not in a form this package reads (415).
	ErrUnsupportedContentType = errors.New("event: unsupported content type")
	// ErrMalformed: the body is not a well-formed event (400).
	ErrMalformed = errors.New("event: malformed")
)

// Event is one event, normalised.
type Event struct {
	// CE is the event as a CloudEvents 1.0 event (id, source, type, time, data content
	// type, extensions, data).
	CE cloudevents.Event
	// Raw is the original bytes of this event: the body of a Pacifica or structured event,
	// one element of a batch, or the body (the data) of a binary event.
	Raw []byte
	// Mode is the form it arrived in.
	Mode Mode

	timeText string
	data     []byte // the data as raw JSON for Pacifica events
}

// ID returns the event id.
func (e *Event) ID() string { return e.CE.ID() }

// Source returns the event source.
func (e *Event) Source() string { return e.CE.Source() }

// Type returns the event type, e.g. org.pacifica.metadata.ingest.
func (e *Event) Type() string { return e.CE.Type() }

// TimeText returns the event time as it was sent, or "".
func (e *Event) TimeText() string { return e.timeText }

// Time returns the event time, parsed leniently (see ParseTime).
func (e *Event) Time() (time.Time, bool) {
	if e.timeText == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(e.timeText)
	return t, err == nil
}

// Key identifies the event for de-duplication: the same source and id are the same event.
func (e *Event) Key() string { return e.Source() + "\x00" + e.ID() }

// Data returns the event's data: the raw JSON of a Pacifica event's data, or the data
// bytes of a CloudEvents event (nil when there is none).
func (e *Event) Data() []byte {
	if e.Mode == ModePacifica {
		return e.data
	}
	return e.CE.Data()
}

// Parse reads the events of an HTTP delivery in any form: Pacifica's CloudEvents 0.1 JSON
// (Content-Type application/json, application/cloudevents+json, or none), and CloudEvents
// 1.0/0.3 in binary, structured and batch modes. A batch gives several events. Errors wrap
// ErrUnsupportedContentType or ErrMalformed and say what is wrong.
func Parse(h http.Header, body []byte) ([]*Event, error) {
	evs, err := parse(h, body)
	if err != nil {
		return nil, err
	}
	for i, ev := range evs {
		if err := checkAttributes(ev); err != nil {
			if len(evs) > 1 || ev.Mode == ModeBatch {
				return nil, fmt.Errorf("batch event %d: %w", i, err)
			}
			return nil, err
		}
	}
	return evs, nil
}

func parse(h http.Header, body []byte) ([]*Event, error) {
	if h.Get("Ce-Specversion") != "" {
		return parseBinary(h, body)
	}
	ct := h.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrUnsupportedContentType, ct, err)
		}
	}
	switch mt {
	case "application/cloudevents-batch+json":
		return parseBatch(body)
	case "application/json", "application/cloudevents+json", "text/json":
		ev, err := parseStructured(body, ModeStructured)
		if err != nil {
			return nil, err
		}
		return []*Event{ev}, nil
	}
	return nil, fmt.Errorf("%w: %q (want application/json, application/cloudevents+json, "+
		"application/cloudevents-batch+json, or a binary-mode CloudEvent with ce-* headers)", ErrUnsupportedContentType, mt)
}

// parseStructured reads one JSON event: Pacifica's 0.1 envelope, or CloudEvents 1.0/0.3.
func parseStructured(body []byte, mode Mode) (*Event, error) {
	probe, err := unmarshalMembers(body)
	if err != nil {
		return nil, fmt.Errorf("%w: the body is not a JSON object: %v", ErrMalformed, jsonErr(err))
	}
	if _, ok := probe["cloudEventsVersion"]; ok {
		return fromPacifica(body, probe)
	}
	if _, ok := probe["specversion"]; !ok {
		return nil, fmt.Errorf("%w: not a CloudEvent: the object has neither cloudEventsVersion (Pacifica) nor specversion", ErrMalformed)
	}
	ce := cloudevents.New()
	if err := json.Unmarshal(body, &ce); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ce.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ev := &Event{CE: ce, Raw: body, Mode: mode}
	if t, ok := probe["time"]; ok {
		var s string
		if unmarshalString(t, &s) == nil {
			ev.timeText = s
		}
	}
	return ev, nil
}

func parseBatch(body []byte) ([]*Event, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, fmt.Errorf("%w: a batch must be a JSON list of events: %v", ErrMalformed, jsonErr(err))
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrMalformed)
	}
	out := make([]*Event, 0, len(elems))
	for i, el := range elems {
		ev, err := parseStructured(el, ModeBatch)
		if err != nil {
			return nil, fmt.Errorf("batch event %d: %w", i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func parseBinary(h http.Header, body []byte) ([]*Event, error) {
	req := &http.Request{Method: http.MethodPost, Header: h.Clone(), Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body))}
	ce, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		return nil, fmt.Errorf("%w: binary-mode CloudEvent: %v", ErrMalformed, err)
	}
	if err := ce.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return []*Event{{CE: *ce, Raw: body, Mode: ModeBinary, timeText: h.Get("Ce-Time")}}, nil
}

// jsonErr shortens encoding/json's errors to what a sender needs.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, got JSON %s", kindOf(te.Type.String()), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func kindOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map"):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return goType
}
