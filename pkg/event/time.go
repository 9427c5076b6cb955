package event

import (
	"fmt"
	"strings"
	"time"
)

// timeLayouts are the forms of eventTime seen from Pacifica and CloudEvents clients. A time
// without a zone (Pacifica's production form: local time of the metadata server) is read
// as UTC; the original text is always kept (Event.TimeText).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseTime reads an event time leniently: ISO 8601 with or without a zone, with or
// without "Z", with fractional seconds, with "T" or a space between date and time.
func ParseTime(s string) (time.Time, error) {
	t := strings.TrimSpace(s)
	if strings.HasSuffix(t, "z") {
		t = t[:len(t)-1] + "Z"
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, t); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("event: time %q is not an ISO 8601 date and time", s)
}
