package pyjson

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Marshal writes v, a value of the model Decode returns (Go strings, bools, nil, int, int64,
// float64 and json.RawMessage are accepted too), as Python's json.dumps would.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

// Reformat rewrites a JSON document in Python's form, keeping key order.
func Reformat(data []byte) ([]byte, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return Marshal(v)
}

// MarshalGo encodes v with encoding/json and rewrites the result in Python's form: the way to
// write a Go struct as a Pacifica service would.
func MarshalGo(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Reformat(b)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("pyjson: nested deeper than %d", MaxDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case json.Number:
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || !json.Valid([]byte(v)) {
			return nil, fmt.Errorf("pyjson: %q is not a JSON number", string(v))
		}
		return append(b, v...), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case string:
		return appendString(b, v), nil
	case json.RawMessage:
		inner, err := Decode(v)
		if err != nil {
			return nil, err
		}
		return appendValue(b, inner, depth)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			var err error
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case *Object:
		b = append(b, '{')
		for i, k := range v.Keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k)
			b = append(b, ": "...)
			var err error
			if b, err = appendValue(b, v.Values[i], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	default:
		return nil, fmt.Errorf("pyjson: cannot encode %T", v)
	}
}

// appendString quotes s as json.dumps does with ensure_ascii: printable ASCII stays, the
// usual short escapes are used, everything else becomes \uXXXX in lower-case hex, with
// surrogate pairs above the Basic Multilingual Plane. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u4 := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == 0x7f:
				b = u4(b, rune(c))
			default:
				b = append(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			b = u4(u4(b, r1), r2)
			continue
		}
		b = u4(b, r)
	}
	return append(b, '"')
}
