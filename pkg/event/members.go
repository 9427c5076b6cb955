package event

import (
	"encoding/json"
	"unicode/utf8"
)

// objectMembers reads a JSON object into its members, as
// json.Unmarshal(body, &map[string]json.RawMessage{}) would, but in one pass and with the
// members' texts sharing body instead of copies. It answers only when it is sure of giving
// json.Unmarshal's answer: ok is false for anything it does not read itself (invalid JSON,
// which json.Unmarshal words the error of, a top level that is not an object, keys with
// escapes or invalid UTF-8, nesting deeper than maxMembersDepth), and the caller then asks
// json.Unmarshal.
func objectMembers(body []byte) (_ map[string]json.RawMessage, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return m, skipSpace(body, i+1) == len(body)
	}
	for {
		key, j, ok := plainString(body, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(body, j)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		start := skipSpace(body, i+1)
		end, ok := skipValue(body, start, 1)
		if !ok {
			return nil, false
		}
		m[key] = body[start:end:end]
		i = skipSpace(body, end)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
			continue
		case '}':
			return m, skipSpace(body, i+1) == len(body)
		}
		return nil, false
	}
}

// maxMembersDepth bounds the nesting objectMembers reads itself (json.Unmarshal's own
// limit is 10000).
const maxMembersDepth = 1000

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the string at b[i] when it has no escapes and is valid UTF-8, the
// strings whose text is their bytes: the string and the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !utf8.Valid(s) {
				return "", 0, false
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipValue checks the JSON value at b[i] (depth levels deep) and returns the index after
// it; ok is false when it is not a JSON value.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		if depth >= maxMembersDepth {
			return 0, false
		}
		return skipContainer(b, i, depth)
	case c == 't':
		return skipWord(b, i, "true")
	case c == 'f':
		return skipWord(b, i, "false")
	case c == 'n':
		return skipWord(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	}
	return 0, false
}

func skipContainer(b []byte, i, depth int) (int, bool) {
	isObject := b[i] == '{'
	closing := byte(']')
	if isObject {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	for {
		if isObject {
			j, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = skipSpace(b, i+1)
		}
		j, ok := skipValue(b, i, depth+1)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			continue
		case closing:
			return i + 1, true
		}
		return 0, false
	}
}

// skipString checks a string as encoding/json's scanner does: escapes, no control
// characters (other bytes, invalid UTF-8 included, are text).
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			j++
			if j >= len(b) {
				return 0, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func skipWord(b []byte, i int, w string) (int, bool) {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return 0, false
	}
	return i + len(w), true
}

func skipNumber(b []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j, j > i
	}
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if j, ok := digits(i); ok {
		i = j
	} else {
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j, ok := digits(i + 1)
		if !ok {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j, ok := digits(i)
		if !ok {
			return 0, false
		}
		i = j
	}
	return i, true
}

// unmarshalMembers is json.Unmarshal(body, &map[string]json.RawMessage{}), read by
// objectMembers when it can.
func unmarshalMembers(body []byte) (map[string]json.RawMessage, error) {
	if m, ok := objectMembers(body); ok {
		return m, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// unmarshalString is json.Unmarshal(raw, &s) for the text of one member, without
// encoding/json for a string whose text is its bytes.
func unmarshalString(raw []byte, s *string) error {
	if t, end, ok := plainString(raw, 0); ok && end == len(raw) {
		*s = t
		return nil
	}
	return json.Unmarshal(raw, s)
}
