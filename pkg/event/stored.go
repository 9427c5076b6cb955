package event

import (
	"fmt"
	"net/http"
)

// Content types of a stored event body.
const (
	// StoredPacifica is Pacifica's own events (CloudEvents 0.1 in a JSON body), and the
	// type to read a stored body with when none was kept.
	StoredPacifica   = "application/json"
	StoredStructured = "application/cloudevents+json"
)

// Stored returns the bytes under which an event is kept (in the job store and in the
// intake queue: the intake writes them, workers and the status API read them back with Load) and the content type to parse them with: the original body for
// Pacifica's CloudEvents 0.1 events and for structured CloudEvents, and the structured
// CloudEvents form of a binary-mode event (whose body alone is only its data).
func Stored(ev *Event) ([]byte, string) {
	switch ev.Mode {
	case ModePacifica:
		return ev.Raw, StoredPacifica
	case ModeStructured, ModeBatch:
		return ev.Raw, StoredStructured
	}
	b, err := ev.CE.MarshalJSON()
	if err != nil {
		// An event the SDK parsed always marshals; keep the raw body rather than nothing.
		return ev.Raw, StoredPacifica
	}
	return b, StoredStructured
}

// Load parses an event kept by Stored.
func Load(body []byte, contentType string) (*Event, error) {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	evs, err := Parse(h, body)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("event: stored event holds %d events, want 1", len(evs))
	}
	return evs[0], nil
}
