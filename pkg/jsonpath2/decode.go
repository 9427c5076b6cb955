package jsonpath2

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf16"
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
//
// It reads the document in one pass. Its errors are worded as those of the decoder it
// replaced (encoding/json's Decoder.Token, whose syntax errors it quotes: "invalid
// character 'x' after array element", "unexpected EOF" wrapping io.ErrUnexpectedEOF), and
// the differential tests hold it to that decoder.
func Decode(data []byte) (any, error) { return DecodeWithin(data, 0) }

// ErrTooLarge is a document whose values would take more memory than DecodeWithin allows.
var ErrTooLarge = errors.New("jsonpath2: decode: the document's values take more memory than allowed")

// DecodeWithin is Decode with a bound on the memory the values take: maxBytes (0: no
// bound) counts the copy of the document's text, every container, every boxed string or
// number and the decoder's own stacks, as they are made. Past it decoding stops with an
// error wrapping ErrTooLarge, having made at most about maxBytes of values.
//
// The bound is what a hostile sender cannot exceed with a dense document: values cost 16 to
// 72 bytes each whatever their text, so "[0,0,0,…]" or "[{},{},…]" take 17 to 28 times their
// size, while Pacifica's own events, whose entries are objects of a few long strings, take
// two to three times theirs.
func DecodeWithin(data []byte, maxBytes int) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("jsonpath2: decode: invalid UTF-8 at offset %d", invalidUTF8At(data))
	}
	if maxBytes > 0 {
		if n := estimate(data); n > maxBytes {
			return nil, fmt.Errorf("jsonpath2: decode: %w", tooLargeError{limit: maxBytes, estimate: n})
		}
	}
	d := newDecoder(data)
	d.limit = maxBytes
	d.charge(len(data))
	v, err := d.value(0)
	if err != nil {
		return nil, fmt.Errorf("jsonpath2: decode: %w", err)
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, fmt.Errorf("jsonpath2: decode: data after the JSON value at offset %d", d.trailingOffset())
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

// decoder reads one document. vals and keys are scratch stacks: the elements (values and
// keys) of the containers being read, copied into a container of the right size when it
// closes.
//
// Allocations are what decoding costs most, so the values share a few blocks: text is one
// copy of the document, of which strings without escapes and numbers are substrings, and
// arrays, objects and their keys are cut from slabs (with their capacity cut too, so that
// an Object.Set on a decoded object reallocates instead of overwriting a neighbour). The
// price is that a value kept from a document keeps its blocks alive: a few times the
// document's size at most.
type decoder struct {
	data []byte
	text string
	pos  int
	vals []any
	keys []string

	chunk   int // slab size: a guess at the number of values, from the document's size
	valSlab []any
	keySlab []string
	objSlab []Object

	// boxes holds the boxed form of short strings and numbers already met: a value in an
	// interface is immutable, so equal texts share one box instead of allocating each.
	boxes map[string]any
	// used counts the bytes of values made so far; limit bounds it (0: no bound).
	used, limit int
}

// Sizes the decoder charges for what it allocates (64-bit).
const (
	sizeSlot   = 16 // an any, or a string header
	sizeObject = 56 // an Object without its members
	sizeIndex  = 48 // one key of an Object's index map, roughly
)

// maxBoxed bounds the strings and numbers whose boxes are shared, and maxBoxes their number.
const (
	maxBoxed = 32
	maxBoxes = 4096
)

// tooLargeError is the error of a decoder past its limit.
type tooLargeError struct{ limit, offset, estimate int }

func (e tooLargeError) Error() string {
	if e.estimate > 0 {
		return fmt.Sprintf("its values would take about %d bytes, more than the limit of %d", e.estimate, e.limit)
	}
	return fmt.Sprintf("its values take more than the limit of %d bytes (at offset %d)", e.limit, e.offset)
}

// estimate is a quick lower estimate of what decoding data costs, read without allocating:
// the copy of the text, a slot for every value after a comma or a colon, and the containers.
// It lets DecodeWithin refuse a dense document before making any of its values.
func estimate(data []byte) int {
	var commas, colons, objects, arrays int
	in := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case ',':
			commas++
		case ':':
			colons++
		case '{':
			objects++
		case '[':
			arrays++
		}
	}
	return len(data) + sizeSlot*(commas+colons) + (sizeSlot+sizeObject)*objects + (sizeSlot+24)*arrays
}

func (e tooLargeError) Unwrap() error { return ErrTooLarge }

func newDecoder(data []byte) decoder {
	return decoder{data: data, text: string(data), chunk: min(max(len(data)/32, 8), 4096)}
}

// charge counts n bytes of values and reports whether the decoder is still within its limit.
func (d *decoder) charge(n int) bool {
	d.used += n
	return d.limit <= 0 || d.used <= d.limit
}

// over is the error of a decoder past its limit, or nil.
func (d *decoder) over() error {
	if d.limit > 0 && d.used > d.limit {
		return tooLargeError{limit: d.limit, offset: d.pos}
	}
	return nil
}

// box returns s as an any, sharing the box of an equal short text met before.
func (d *decoder) box(s string, number bool) any {
	if len(s) > maxBoxed {
		d.charge(sizeSlot)
		if number {
			return json.Number(s)
		}
		return s
	}
	key := s
	if number {
		key = "#" + s // numbers and strings never share a box
	} else {
		key = "\"" + s
	}
	if v, ok := d.boxes[key]; ok {
		return v
	}
	var v any = s
	if number {
		v = json.Number(s)
	}
	d.charge(sizeSlot)
	if len(d.boxes) < maxBoxes {
		if d.boxes == nil {
			d.boxes = map[string]any{}
		}
		d.boxes[key] = v
		d.charge(sizeIndex)
	}
	return v
}

// cutVals returns a slice of n values from the slab, of capacity n.
func (d *decoder) cutVals(n int) []any {
	if n > len(d.valSlab) {
		d.valSlab = make([]any, max(n, d.chunk))
		d.charge(sizeSlot * len(d.valSlab))
	}
	s := d.valSlab[:n:n]
	d.valSlab = d.valSlab[n:]
	return s
}

// cutKeys returns a slice of n keys from the slab, of capacity n.
func (d *decoder) cutKeys(n int) []string {
	if n > len(d.keySlab) {
		d.keySlab = make([]string, max(n, d.chunk))
		d.charge(sizeSlot * len(d.keySlab))
	}
	s := d.keySlab[:n:n]
	d.keySlab = d.keySlab[n:]
	return s
}

// newObject returns an empty object from the slab.
func (d *decoder) newObject() *Object {
	if len(d.objSlab) == 0 {
		d.objSlab = make([]Object, max(d.chunk/4, 2))
		d.charge(sizeObject * len(d.objSlab))
	}
	o := &d.objSlab[0]
	d.objSlab = d.objSlab[1:]
	return o
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, where the end of the input is
// unexpected.
func (d *decoder) next() (byte, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return 0, io.ErrUnexpectedEOF
	}
	return d.data[d.pos], nil
}

// invalidChar is encoding/json's syntax error for the byte c, with context (empty, or
// "after array element"...).
func invalidChar(c byte, context string) error {
	if context == "" {
		return errors.New("invalid character " + quoteChar(c))
	}
	return errors.New("invalid character " + quoteChar(c) + " " + context)
}

// quoteChar formats c as encoding/json does in its syntax errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// value reads the value at d.pos, the depth-th level of nesting.
func (d *decoder) value(depth int) (any, error) {
	c, err := d.next()
	if err != nil {
		return nil, err
	}
	switch c {
	case '[', '{':
		if depth >= MaxDepth {
			return nil, fmt.Errorf("%w at offset %d", errDepth, d.pos+1)
		}
		d.pos++
		if c == '[' {
			return d.array(depth)
		}
		return d.object(depth)
	case '"':
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		return d.box(s, false), nil
	case 't':
		return d.literal("true", true)
	case 'f':
		return d.literal("false", false)
	case 'n':
		return d.literal("null", nil)
	}
	if c == '-' || isDigit(c) {
		n, err := d.number()
		if err != nil {
			return nil, err
		}
		return d.box(n, true), nil
	}
	return nil, invalidChar(c, "looking for beginning of value")
}

// array reads the elements of an array whose '[' has been read.
func (d *decoder) array(depth int) (any, error) {
	c, err := d.next()
	if err != nil {
		return nil, err
	}
	switch c {
	case ']':
		d.pos++
		d.charge(sizeSlot + 24)
		return []any{}, nil
	case '}':
		return nil, invalidChar(c, "looking for beginning of value")
	}
	base := len(d.vals)
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := d.over(); err != nil {
			return nil, err
		}
		d.vals = d.push(d.vals, v)
		if c, err = d.next(); err != nil {
			return nil, err
		}
		switch c {
		case ',':
			d.pos++
			continue
		case ']':
			d.pos++
			arr := d.cutVals(len(d.vals) - base)
			copy(arr, d.vals[base:])
			clear(d.vals[base:])
			d.vals = d.vals[:base]
			return arr, nil
		}
		return nil, invalidChar(c, "after array element")
	}
}

// object reads the members of an object whose '{' has been read.
func (d *decoder) object(depth int) (any, error) {
	c, err := d.next()
	if err != nil {
		return nil, err
	}
	if c == '}' {
		d.pos++
		d.charge(sizeSlot + sizeObject)
		return NewObject(), nil
	}
	base := len(d.vals)
	context := "" // what encoding/json says of a bad first key
	for {
		if c != '"' {
			return nil, invalidChar(c, context)
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if c, err = d.next(); err != nil {
			return nil, err
		}
		if c != ':' {
			return nil, invalidChar(c, "after object key")
		}
		d.pos++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := d.over(); err != nil {
			return nil, err
		}
		kc := cap(d.keys)
		d.keys = append(d.keys, k)
		d.charge(sizeSlot * (cap(d.keys) - kc))
		d.vals = d.push(d.vals, v)
		if c, err = d.next(); err != nil {
			return nil, err
		}
		switch c {
		case ',':
			d.pos++
			if c, err = d.next(); err != nil {
				return nil, err
			}
			context = "looking for beginning of object key string"
			continue
		case '}':
			d.pos++
			n := len(d.vals) - base
			kbase := len(d.keys) - n
			o := d.newObject()
			o.keys, o.vals = d.cutKeys(n)[:0], d.cutVals(n)[:0]
			if n > indexAbove {
				d.charge(sizeIndex * 2 * n)
			}
			for i := range n {
				o.Set(d.keys[kbase+i], d.vals[base+i])
			}
			clear(d.vals[base:])
			d.vals, d.keys = d.vals[:base], d.keys[:kbase]
			return o, nil
		}
		return nil, invalidChar(c, "after object key:value pair")
	}
}

// push appends v to the scratch stack s, charging its growth.
func (d *decoder) push(s []any, v any) []any {
	c := cap(s)
	s = append(s, v)
	d.charge(sizeSlot * (cap(s) - c))
	return s
}

// string reads the string whose opening quote is at d.pos.
func (d *decoder) string() (string, error) {
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			d.pos = i + 1
			return d.text[start:i], nil
		case c == '\\':
			return d.escapedString(start, i)
		case c < 0x20:
			return "", invalidChar(c, "in string literal")
		}
	}
	return "", io.ErrUnexpectedEOF
}

// escapedString reads the rest of a string that starts at start and has an escape at i.
// Escapes are resolved as encoding/json resolves them: a \u escape of a surrogate that does
// not pair with the next \u escape becomes U+FFFD, and that next escape is read on its own.
func (d *decoder) escapedString(start, i int) (string, error) {
	data := d.data
	b := make([]byte, 0, i-start+16)
	b = append(b, data[start:i]...)
	defer func() { d.charge(cap(b)) }()
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(b), nil
		case c < 0x20:
			return "", invalidChar(c, "in string literal")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		i++
		if i >= len(data) {
			return "", io.ErrUnexpectedEOF
		}
		switch e := data[i]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, err := hex4(data, i+1)
			if err != nil {
				return "", err
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, err := hex4Escape(data, i+1); err == nil {
					if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
						b = utf8.AppendRune(b, pair)
						i += 7
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", invalidChar(e, "in string escape code")
		}
		i++
	}
	return "", io.ErrUnexpectedEOF
}

// hex4 reads the four hex digits of a \u escape at data[i:].
func hex4(data []byte, i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(data) {
			return 0, io.ErrUnexpectedEOF
		}
		c := data[j]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, invalidChar(c, `in \u hexadecimal character escape`)
		}
	}
	return r, nil
}

// hex4Escape reads a whole \uXXXX escape at data[i:].
func hex4Escape(data []byte, i int) (rune, error) {
	if i+1 >= len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, errNoEscape
	}
	return hex4(data, i+2)
}

var errNoEscape = errors.New("no \\u escape")

// number reads the number at d.pos and returns its text.
func (d *decoder) number() (string, error) {
	data, start := d.data, d.pos
	i := start
	if data[i] == '-' {
		i++
		if i >= len(data) {
			return "", io.ErrUnexpectedEOF
		}
		if !isDigit(data[i]) {
			return "", invalidChar(data[i], "in numeric literal")
		}
	}
	if data[i] == '0' {
		i++
	} else {
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) {
			return "", io.ErrUnexpectedEOF
		}
		if !isDigit(data[i]) {
			return "", invalidChar(data[i], "after decimal point in numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return "", io.ErrUnexpectedEOF
		}
		if !isDigit(data[i]) {
			return "", invalidChar(data[i], "in exponent of numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	d.pos = i
	return d.text[start:i], nil
}

// literal reads true, false or null (word, whose first byte is at d.pos) as v.
func (d *decoder) literal(word string, v any) (any, error) {
	for i := 1; i < len(word); i++ {
		p := d.pos + i
		if p >= len(d.data) {
			return nil, io.ErrUnexpectedEOF
		}
		if d.data[p] != word[i] {
			return nil, invalidChar(d.data[p], "in literal "+word+" (expecting '"+word[i:i+1]+"')")
		}
	}
	d.pos += len(word)
	return v, nil
}

// trailingOffset is where encoding/json's Decoder placed its input offset on finding data
// after the value at d.pos: after the next token when it is a bracket or a whole scalar,
// at it otherwise.
func (d *decoder) trailingOffset() int {
	switch c := d.data[d.pos]; c {
	case '[', '{':
		return d.pos + 1
	case ']', '}', ':', ',':
		return d.pos
	}
	probe := decoder{data: d.data, text: d.text, pos: d.pos, chunk: 8}
	if _, err := probe.value(0); err != nil {
		return d.pos
	}
	return probe.pos
}
