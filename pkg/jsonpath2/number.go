package jsonpath2

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// num is a number as Python holds it: an int of any size (small ones in i) or a float.
type num struct {
	kind numKind
	i    int64
	b    *big.Int
	f    float64
}

type numKind uint8

const (
	numInt numKind = iota
	numBig
	numFloat
)

// isIntText reports whether a number's text is a Python int: no fraction, no exponent.
func isIntText(s string) bool { return !strings.ContainsAny(s, ".eE") }

// toNum reads a value as a Python number: a bool as 0 or 1, a JSON number with a fraction
// or an exponent as the nearest double (±Inf beyond its range, as Python's float()), any
// other JSON number as an exact integer. Strings are never numbers.
func toNum(v any) (num, bool) {
	switch t := v.(type) {
	case bool:
		return num{kind: numInt, i: boolInt(t)}, true
	case json.Number:
		s := string(t)
		if isIntText(s) {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return num{kind: numInt, i: i}, true
			}
			if b, ok := new(big.Int).SetString(s, 10); ok {
				return num{kind: numBig, b: b}, true
			}
			return num{}, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return num{}, false
		}
		return num{kind: numFloat, f: f}, true
	case int:
		return num{kind: numInt, i: int64(t)}, true
	case int64:
		return num{kind: numInt, i: t}, true
	case float64:
		return num{kind: numFloat, f: t}, true
	}
	return num{}, false
}

func (n num) isZero() bool {
	switch n.kind {
	case numInt:
		return n.i == 0
	case numBig:
		return n.b.Sign() == 0
	}
	return n.f == 0
}

// cmpNum compares two numbers exactly, as Python compares int and float (no rounding of
// the int to a double). ordered is false when either is NaN.
func cmpNum(a, b num) (c int, ordered bool) {
	switch {
	case a.kind == numInt && b.kind == numInt:
		return cmpOrdered(a.i, b.i), true
	case a.kind == numFloat && b.kind == numFloat:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 0, false
		}
		return cmpOrdered(a.f, b.f), true
	}
	if (a.kind == numFloat && math.IsNaN(a.f)) || (b.kind == numFloat && math.IsNaN(b.f)) {
		return 0, false
	}
	if a.kind == numFloat && math.IsInf(a.f, 0) {
		return int(math.Copysign(1, a.f)), true // an int is finite
	}
	if b.kind == numFloat && math.IsInf(b.f, 0) {
		return -int(math.Copysign(1, b.f)), true
	}
	return a.rat().Cmp(b.rat()), true
}

func (n num) rat() *big.Rat {
	switch n.kind {
	case numInt:
		return new(big.Rat).SetInt64(n.i)
	case numBig:
		return new(big.Rat).SetInt(n.b)
	}
	return new(big.Rat).SetFloat64(n.f)
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
