package statusapi

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// checkText refuses a filter parameter that no stored text can equal: PostgreSQL text
// holds neither NUL nor invalid UTF-8, and the store would fail on it (which is not the
// store being unavailable).
func checkText(name, v string) error {
	switch {
	case !utf8.ValidString(v):
		return fmt.Errorf("%s: not valid UTF-8", name)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("%s: contains a NUL character", name)
	}
	return nil
}

// timeParam reads a time parameter (since, until): RFC 3339, or empty for none.
func timeParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", v)
	}
	return t, nil
}
