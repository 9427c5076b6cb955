package event

import (
	"fmt"
	"unicode/utf8"
)

// MaxAttributeBytes is the longest id, source, type or time an event may carry. Pacifica's
// are a few dozen bytes; the job store indexes ids, and PostgreSQL cannot index a text of
// a few kilobytes.
const MaxAttributeBytes = 1024

// checkAttributes refuses attributes that the job store could never hold: a NUL or
// invalid UTF-8 (PostgreSQL text rejects both) or an unreasonable length. Such an event
// would otherwise be held in the broker and fail to be recorded for ever.
func checkAttributes(ev *Event) error {
	for _, a := range []struct{ name, value string }{
		{"id", ev.ID()}, {"source", ev.Source()}, {"type", ev.Type()}, {"time", ev.timeText},
	} {
		name := a.name
		if ev.Mode == ModePacifica {
			name = map[string]string{"id": "eventID", "source": "source", "type": "eventType", "time": "eventTime"}[a.name]
		}
		switch {
		case len(a.value) > MaxAttributeBytes:
			return fmt.Errorf("%w: %s: %d bytes, longer than the limit of %d", ErrMalformed, name, len(a.value), MaxAttributeBytes)
		case !utf8.ValidString(a.value):
			return fmt.Errorf("%w: %s: not valid UTF-8: %q", ErrMalformed, name, a.value)
		}
		for _, r := range a.value {
			if r == 0 {
				return fmt.Errorf("%w: %s: contains a NUL character: %q", ErrMalformed, name, a.value)
			}
		}
	}
	return nil
}
