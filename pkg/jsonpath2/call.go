package jsonpath2

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// call applies a function to cur. As Python's itertools.product does, it first evaluates
// every argument in full (a literal is its one value), then calls the function once per
// combination of argument values, in order; each result goes through the rest of the
// chain. A combination the function does not accept yields nothing.
func (ev *evaluator) call(c callSub, rest []step, cur any, depth int, yield sink) bool {
	argVals := make([][]any, len(c.args))
	for i, a := range c.args {
		if a.path == nil {
			argVals[i] = []any{a.literal}
			continue
		}
		ev.path(a.path, cur, depth+1, func(v any) bool {
			argVals[i] = append(argVals[i], v)
			return true
		})
	}
	args := make([]any, len(c.args))
	var product func(k int) bool
	product = func(k int) bool {
		if k == len(args) {
			if v, ok := callOnce(c.fn, cur, args); ok {
				return ev.chain(rest, v, depth, yield)
			}
			return true
		}
		for _, v := range argVals[k] {
			args[k] = v
			if !product(k + 1) {
				return false
			}
		}
		return true
	}
	return product(0)
}

// callOnce is one call of a function on cur. Strings are counted in code points.
func callOnce(fn function, cur any, args []any) (any, bool) {
	switch fn {
	case fnLength:
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case []any:
			return intNumber(len(t)), true
		case string:
			return intNumber(utf8.RuneCountInString(t)), true
		}
	case fnKeys:
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case *Object:
			keys := make([]any, len(t.keys))
			for i, k := range t.keys {
				keys[i] = k
			}
			return keys, true
		case []any:
			idx := make([]any, len(t))
			for i := range t {
				idx[i] = intNumber(i)
			}
			return idx, true
		}
	case fnValues:
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case *Object:
			return t.Values(), true
		case []any:
			return t, true
		}
	case fnEntries:
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case *Object:
			out := make([]any, len(t.keys))
			for i, k := range t.keys {
				out[i] = []any{k, t.vals[i]}
			}
			return out, true
		case []any:
			out := make([]any, len(t))
			for i, v := range t {
				out[i] = []any{intNumber(i), v}
			}
			return out, true
		}
	case fnCharAt:
		s, ok := cur.(string)
		if !ok || len(args) != 1 {
			return nil, false
		}
		i, ok := pyInt(args[0])
		if !ok {
			return nil, false
		}
		r := []rune(s)
		n := int64(len(r))
		if !i.IsInt64() {
			return nil, false
		}
		j := i.Int64()
		if j < 0 {
			j += n
		}
		if j < 0 || j >= n {
			return nil, false
		}
		return string(r[j]), true
	case fnSubstring:
		s, ok := cur.(string)
		if !ok || len(args) < 1 || len(args) > 2 {
			return nil, false
		}
		r := []rune(s)
		n := int64(len(r))
		lo, ok := pyInt(args[0])
		if !ok {
			return nil, false
		}
		a, b := sliceBound(lo.Int64(), lo.IsInt64(), lo.Sign(), n), n
		if len(args) == 2 {
			hi, ok := pyInt(args[1])
			if !ok {
				return nil, false
			}
			b = sliceBound(hi.Int64(), hi.IsInt64(), hi.Sign(), n)
		}
		if b < a {
			b = a
		}
		return string(r[a:b]), true
	}
	return nil, false
}

// sliceBound is a Python slice bound on a sequence of length n: negative counts from the
// end, and the result is clamped to [0, n].
func sliceBound(i int64, fits bool, sign int, n int64) int64 {
	if !fits {
		if sign < 0 {
			return 0
		}
		return n
	}
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

func intNumber(i int) json.Number { return json.Number(strconv.Itoa(i)) }
