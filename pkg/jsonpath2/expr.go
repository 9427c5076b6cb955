package jsonpath2

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

func evalExpr(e expr, root, cur any, depth int) (bool, error) {
	if depth > maxEvalDepth {
		return false, errTooDeep
	}
	switch t := e.(type) {
	case andExpr:
		for _, it := range t.items {
			ok, err := evalExpr(it, root, cur, depth+1)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case orExpr:
		for _, it := range t.items {
			ok, err := evalExpr(it, root, cur, depth+1)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case notExpr:
		ok, err := evalExpr(t.e, root, cur, depth+1)
		return !ok, err
	case someExpr:
		if t.o.path == nil {
			return truthy(t.o.literal), nil
		}
		var vals []any
		err := evalPath(t.o.path, root, cur, &vals, depth+1)
		return len(vals) > 0, err
	case cmpExpr:
		return compare(t, root, cur, depth)
	}
	return false, nil
}

// compare is true when some pair of operand values satisfies the operator. As in the Python
// library, a path on the right is a generator consumed by the first left value: only the
// first left value is compared with a path's values, while a literal on the right is
// compared with every left value.
func compare(c cmpExpr, root, cur any, depth int) (bool, error) {
	left, err := operandValues(c.l, root, cur, depth)
	if err != nil {
		return false, err
	}
	right, err := operandValues(c.r, root, cur, depth)
	if err != nil {
		return false, err
	}
	if c.r.path != nil && len(left) > 1 {
		left = left[:1]
	}
	for _, l := range left {
		for _, r := range right {
			if cmpOp(c.op, l, r) {
				return true, nil
			}
		}
	}
	return false, nil
}

func operandValues(o operand, root, cur any, depth int) ([]any, error) {
	if o.path == nil {
		return []any{o.literal}, nil
	}
	var vals []any
	err := evalPath(o.path, root, cur, &vals, depth+1)
	return vals, err
}

func cmpOp(op tokKind, l, r any) bool {
	switch op {
	case tEq:
		return pyEqual(l, r)
	case tNe:
		return !pyEqual(l, r)
	}
	a, okA := toNum(l)
	b, okB := toNum(r)
	if !okA || !okB {
		return false // ordering only between numbers, never an error
	}
	c := a.cmp(b)
	switch op {
	case tLt:
		return c < 0
	case tLe:
		return c <= 0
	case tGt:
		return c > 0
	case tGe:
		return c >= 0
	}
	return false
}

// truthy is Python's truth value of a JSON literal.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case *Object:
		return t.Len() > 0
	case json.Number:
		n, ok := toNum(t)
		return ok && !n.isZero()
	}
	return true
}

// pyEqual is Python's == on JSON values: numbers (ints, floats and bools alike) by exact
// value, strings by code points, arrays element-wise, objects by key set and values.
func pyEqual(a, b any) bool {
	na, okA := toNum(a)
	nb, okB := toNum(b)
	if okA || okB {
		return okA && okB && na.cmp(nb) == 0
	}
	switch t := a.(type) {
	case nil:
		return b == nil
	case string:
		s, ok := b.(string)
		return ok && s == t
	case []any:
		u, ok := b.([]any)
		if !ok || len(u) != len(t) {
			return false
		}
		for i := range t {
			if !pyEqual(t[i], u[i]) {
				return false
			}
		}
		return true
	case *Object:
		u, ok := b.(*Object)
		if !ok || u.Len() != t.Len() {
			return false
		}
		for _, k := range t.keys {
			v, ok := u.vals[k]
			if !ok || !pyEqual(t.vals[k], v) {
				return false
			}
		}
		return true
	}
	return false
}

// num is an exact number: a rational, or an infinite float (a JSON number too large for a
// double becomes infinity in Python).
type num struct {
	r   *big.Rat
	inf int // -1, +1, or 0 when r holds the value
}

func (n num) isZero() bool { return n.inf == 0 && n.r.Sign() == 0 }

func (n num) cmp(m num) int {
	if n.inf != 0 || m.inf != 0 {
		switch {
		case n.inf == m.inf:
			return 0
		case n.inf < m.inf:
			return -1
		}
		return 1
	}
	return n.r.Cmp(m.r)
}

// toNum reads a JSON number or a bool as Python would: an integer text exactly, a text with
// a fraction or exponent as the nearest double (then exactly), a bool as 0 or 1.
func toNum(v any) (num, bool) {
	switch t := v.(type) {
	case bool:
		return num{r: new(big.Rat).SetInt64(boolInt(t))}, true
	case json.Number:
		s := t.String()
		if !strings.ContainsAny(s, ".eE") {
			i, ok := new(big.Int).SetString(s, 10)
			if !ok {
				return num{}, false
			}
			return num{r: new(big.Rat).SetInt(i)}, true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return num{}, false
		}
		if math.IsInf(f, 1) {
			return num{inf: 1}, true
		}
		if math.IsInf(f, -1) {
			return num{inf: -1}, true
		}
		return num{r: new(big.Rat).SetFloat64(f)}, true
	}
	return num{}, false
}
