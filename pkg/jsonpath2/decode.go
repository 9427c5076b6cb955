package jsonpath2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Decode accepts, and the deepest
// nesting of brackets, parentheses, chained subscripts and literals that Parse accepts.
const MaxDepth = 512

// Decode parses one JSON document into the ordered value model: nil (null), bool,
// json.Number (with the document's text), string, []any and *Object (keys in document
// order; a duplicate key keeps the last value at the first key's position, as Python's
// json.loads does). It rejects invalid JSON, invalid UTF-8, anything but white space after
// the value, and nesting deeper than MaxDepth.
func Decode(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("jsonpath2: decode: invalid UTF-8 at offset %d", invalidUTF8At(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("jsonpath2: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("jsonpath2: decode: data after the JSON value at offset %d", dec.InputOffset())
	}
	return v, nil
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

var errDepth = fmt.Errorf("nesting deeper than %d", MaxDepth)

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := nextJSONToken(dec)
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // nil, bool, json.Number or string
	}
	if depth >= MaxDepth {
		return nil, fmt.Errorf("%w at offset %d", errDepth, dec.InputOffset())
	}
	if d == '[' {
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := nextJSONToken(dec); err != nil {
			return nil, err
		}
		return arr, nil
	}
	obj := NewObject()
	for dec.More() {
		kt, err := nextJSONToken(dec)
		if err != nil {
			return nil, err
		}
		k, ok := kt.(string)
		if !ok {
			return nil, fmt.Errorf("object key is not a string at offset %d", dec.InputOffset())
		}
		v, err := decodeValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		obj.Set(k, v)
	}
	if _, err := nextJSONToken(dec); err != nil {
		return nil, err
	}
	return obj, nil
}

// nextJSONToken is the decoder's next token, where the end of the input is unexpected.
func nextJSONToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, io.ErrUnexpectedEOF
	}
	return tok, err
}
