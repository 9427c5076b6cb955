package intake

import (
	"fmt"
	"net/http"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
)

// Content types of a stored event body.
const (
	pacificaContentType   = "application/json"
	structuredContentType = "application/cloudevents+json"
)

// Stored returns the bytes under which an event is kept (in the job store and in the
// intake queue) and the content type to parse them with: the original body for
// Pacifica's CloudEvents 0.1 events and for structured CloudEvents, and the structured
// CloudEvents form of a binary-mode event (whose body alone is only its data).
func Stored(ev *event.Event) ([]byte, string) {
	switch ev.Mode {
	case event.ModePacifica:
		return ev.Raw, pacificaContentType
	case event.ModeStructured, event.ModeBatch:
		return ev.Raw, structuredContentType
	}
	b, err := ev.CE.MarshalJSON()
	if err != nil {
		// An event the SDK parsed always marshals; keep the raw body rather than nothing.
		return ev.Raw, pacificaContentType
	}
	return b, structuredContentType
}

// Load parses an event kept by Stored.
func Load(body []byte, contentType string) (*event.Event, error) {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	evs, err := event.Parse(h, body)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("intake: stored event holds %d events, want 1", len(evs))
	}
	return evs[0], nil
}
