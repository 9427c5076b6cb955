package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDepth bounds the nesting of arrays and objects Decode accepts.
const MaxDepth = 512

// Decode parses one JSON value. Objects become *Object (a repeated key keeps its first
// position and takes its last value, as Python's json.loads does), arrays []any, numbers
// json.Number with their text unchanged, and null nil. Trailing data is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("pyjson: data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return nil, fmt.Errorf("pyjson: nested deeper than %d", MaxDepth)
		}
		if t == '{' {
			return decodeObject(dec, depth+1)
		}
		return decodeArray(dec, depth+1)
	default:
		return t, nil // nil, bool, json.Number or string
	}
}

func decodeObject(dec *json.Decoder, depth int) (*Object, error) {
	o := &Object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("pyjson: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("pyjson: object key %v is not a string", tok)
		}
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		o.Set(key, v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	return o, nil
}

func decodeArray(dec *json.Decoder, depth int) ([]any, error) {
	a := []any{}
	for dec.More() {
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	return a, nil
}
