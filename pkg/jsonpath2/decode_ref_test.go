package jsonpath2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// refDecode is the decoder Decode replaced, built on json.Decoder.Token, kept as the
// reference of the differential tests: Decode must accept exactly what it accepts, give
// the same values, and fail with the same messages.
func refDecode(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("jsonpath2: decode: invalid UTF-8 at offset %d", invalidUTF8At(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := refDecodeValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("jsonpath2: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("jsonpath2: decode: data after the JSON value at offset %d", dec.InputOffset())
	}
	return v, nil
}

func refDecodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := refNextToken(dec)
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
			v, err := refDecodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := refNextToken(dec); err != nil {
			return nil, err
		}
		return arr, nil
	}
	obj := NewObject()
	for dec.More() {
		kt, err := refNextToken(dec)
		if err != nil {
			return nil, err
		}
		k, ok := kt.(string)
		if !ok {
			return nil, fmt.Errorf("object key is not a string at offset %d", dec.InputOffset())
		}
		v, err := refDecodeValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		obj.Set(k, v)
	}
	if _, err := refNextToken(dec); err != nil {
		return nil, err
	}
	return obj, nil
}

// refNextToken is the decoder's next token, where the end of the input is unexpected.
func refNextToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, io.ErrUnexpectedEOF
	}
	return tok, err
}
