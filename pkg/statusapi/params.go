package statusapi

import (
	"fmt"
	"strings"
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
