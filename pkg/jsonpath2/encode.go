package jsonpath2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Encode writes v as compact JSON. Objects keep their key order and numbers their text, so
// Encode(Decode(doc)) differs from doc only in white space and string escapes. v is a value
// of the model Decode produces; Go's int, int64 and float64 are accepted as numbers too.
// Strings are written without HTML escaping, and invalid UTF-8 becomes U+FFFD. Encode fails
// on other types, on a json.Number that is no JSON number, on infinities and NaN, and on
// values nested deeper than 2×MaxDepth (a cycle, for instance).
func Encode(v any) ([]byte, error) {
	return appendJSON(nil, v, 0)
}

var errEncodeDepth = errors.New("jsonpath2: encode: value nested too deep (a cycle?)")

func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > 2*MaxDepth {
		return nil, errEncodeDepth
	}
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case json.Number:
		if !validNumber(string(t)) {
			return nil, fmt.Errorf("jsonpath2: encode: %q is not a JSON number", string(t))
		}
		return append(b, t...), nil
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("jsonpath2: encode: %v is not a JSON number", t)
		}
		return strconv.AppendFloat(b, t, 'g', -1, 64), nil
	case string:
		return appendString(b, t), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case *Object:
		b = append(b, '{')
		for i, k := range t.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, t.vals[i], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("jsonpath2: encode: unsupported type %T", v)
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	return s != "" && (s[0] == '-' || isDigit(s[0])) && json.Valid([]byte(s))
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control characters
// escaped, everything else as UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
