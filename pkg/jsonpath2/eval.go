package jsonpath2

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
)

// errZeroStep is the Python library's ValueError for a slice step of 0, raised at match time.
var errZeroStep = errors.New("jsonpath2: slice step cannot be zero")

// maxEvalDepth bounds the nesting of recursive descent and nested paths during one match,
// so that a hostile document or expression cannot exhaust the Go stack.
const maxEvalDepth = 4 * MaxDepth

var errTooDeep = errors.New("jsonpath2: evaluation nested too deep")

// Match evaluates the expression on doc (a value of the model Decode produces) and returns
// the matched values in document order, duplicates kept. The only errors are those the
// Python library raises at match time (a zero slice step) and an evaluation nested deeper
// than the evaluator allows.
func (p *Path) Match(doc any) ([]any, error) {
	out := []any{}
	err := evalPath(p.p, doc, doc, &out, 0)
	return out, err
}

// Matches reports whether the expression matches doc: a non-empty result and no error. This
// is how Pacifica decides that a subscription or a route wants an event.
func (p *Path) Matches(doc any) bool {
	out, err := p.Match(doc)
	return err == nil && len(out) > 0
}

func evalPath(p *pathExpr, root, cur any, out *[]any, depth int) error {
	start := cur
	if p.fromRoot {
		start = root
	}
	return evalSteps(root, start, p.steps, out, depth)
}

func evalSteps(root, cur any, steps []step, out *[]any, depth int) error {
	if depth > maxEvalDepth {
		return errTooDeep
	}
	if len(steps) == 0 {
		*out = append(*out, cur)
		return nil
	}
	switch s := steps[0].(type) {
	case unionStep:
		for _, sub := range s.subs {
			vals, err := apply(sub, root, cur, depth)
			if err != nil {
				return err
			}
			for _, v := range vals {
				if err := evalSteps(root, v, steps[1:], out, depth+1); err != nil {
					return err
				}
			}
		}
	case recursiveStep:
		rest := append([]step{s.inner}, steps[1:]...)
		if err := evalSteps(root, cur, rest, out, depth+1); err != nil {
			return err
		}
		for _, child := range children(cur) {
			if err := evalSteps(root, child, steps, out, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// children are an object's values in key order or an array's elements.
func children(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case *Object:
		out := make([]any, len(t.keys))
		for i, k := range t.keys {
			out[i] = t.vals[k]
		}
		return out
	}
	return nil
}

func apply(sub subscript, root, cur any, depth int) ([]any, error) {
	switch s := sub.(type) {
	case keySub:
		if o, ok := cur.(*Object); ok {
			if v, ok := o.vals[s.key]; ok {
				return []any{v}, nil
			}
		}
		return nil, nil
	case indexSub:
		return index(cur, s.i), nil
	case wildcardSub:
		return children(cur), nil
	case sliceSub:
		return slice(cur, s)
	case filterSub:
		ok, err := evalExpr(s.e, root, cur, depth+1)
		if err != nil || !ok {
			return nil, err
		}
		return []any{cur}, nil
	case pathSub:
		var keys []any
		if err := evalPath(s.p, root, cur, &keys, depth+1); err != nil {
			return nil, err
		}
		var out []any
		for _, k := range keys {
			switch t := k.(type) {
			case string:
				out = append(out, apply0(keySub{key: t}, cur)...)
			case bool:
				out = append(out, index(cur, big.NewInt(boolInt(t)))...)
			case json.Number:
				if i, ok := new(big.Int).SetString(t.String(), 10); ok {
					out = append(out, index(cur, i)...)
				}
			}
		}
		return out, nil
	case callSub:
		return call(s, root, cur, depth)
	}
	return nil, nil
}

// apply0 applies a subscript that needs no evaluation context.
func apply0(sub subscript, cur any) []any {
	out, _ := apply(sub, nil, cur, 0)
	return out
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// index is [i] on an array: a negative i counts from the end, once.
func index(cur any, i *big.Int) []any {
	arr, ok := cur.([]any)
	if !ok {
		return nil
	}
	n := big.NewInt(int64(len(arr)))
	j := new(big.Int).Set(i)
	if j.Sign() < 0 {
		j.Add(j, n)
	}
	if j.Sign() < 0 || j.Cmp(n) >= 0 {
		return nil
	}
	return []any{arr[j.Int64()]}
}

// slice is [start:end:step] with the Python library's rules: the indices of
// range(start, end, step), each then read as an index (so negative ones wrap once more).
func slice(cur any, s sliceSub) ([]any, error) {
	arr, ok := cur.([]any)
	if !ok {
		return nil, nil
	}
	n := int64(len(arr))
	bn := big.NewInt(n)
	step := big.NewInt(1)
	if s.step != nil {
		step = s.step
	}
	if step.Sign() == 0 {
		return nil, errZeroStep
	}
	start := big.NewInt(0)
	if s.start != nil {
		start = new(big.Int).Set(s.start)
		if start.Sign() < 0 {
			start.Add(start, bn)
			if start.Sign() < 0 {
				start.SetInt64(0)
			}
		}
	}
	end := new(big.Int).Set(bn)
	if s.end != nil {
		end = new(big.Int).Set(s.end)
		if end.Sign() < 0 {
			end.Add(end, bn)
		}
	}
	// Only indices in [-n, n) read an element. Narrow the range to them without changing
	// which indices it holds, so that a huge bound does not mean a huge loop.
	var out []any
	if step.Sign() > 0 {
		// start >= 0 here, so the indices that read are start, start+step, ... < min(end, n).
		limit := end
		if limit.Cmp(bn) > 0 {
			limit = bn
		}
		for i := new(big.Int).Set(start); i.Cmp(limit) < 0; i.Add(i, step) {
			out = append(out, arr[i.Int64()])
		}
		return out, nil
	}
	// Descending: skip the indices above n-1 in whole steps, stop below -n.
	abs := new(big.Int).Neg(step)
	i := new(big.Int).Set(start)
	top := big.NewInt(n - 1)
	if i.Cmp(top) > 0 {
		k := new(big.Int).Sub(i, top)
		k.Add(k, abs)
		k.Sub(k, big.NewInt(1))
		k.Quo(k, abs) // ceil((i-top)/abs)
		i.Sub(i, k.Mul(k, abs))
	}
	low := big.NewInt(-n - 1)
	if end.Cmp(low) < 0 {
		end = low
	}
	for ; i.Cmp(end) > 0; i.Sub(i, abs) {
		out = append(out, index(arr, i)...)
	}
	return out, nil
}

// call applies a function subscript, once per combination of its arguments' values.
func call(c callSub, root, cur any, depth int) ([]any, error) {
	argVals := make([][]any, len(c.args))
	for i, a := range c.args {
		if a.path == nil {
			argVals[i] = []any{a.literal}
			continue
		}
		var vals []any
		if err := evalPath(a.path, root, cur, &vals, depth+1); err != nil {
			return nil, err
		}
		argVals[i] = vals
	}
	var out []any
	args := make([]any, len(c.args))
	var combine func(k int)
	combine = func(k int) {
		if k == len(args) {
			if v, ok := callOnce(c.fn, cur, args); ok {
				out = append(out, v)
			}
			return
		}
		for _, v := range argVals[k] {
			args[k] = v
			combine(k + 1)
		}
	}
	combine(0)
	return out, nil
}

func callOnce(fn string, cur any, args []any) (any, bool) {
	switch fn {
	case "length":
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case []any:
			return intNumber(int64(len(t))), true
		case string:
			return intNumber(int64(len([]rune(t)))), true
		}
	case "keys":
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
				idx[i] = intNumber(int64(i))
			}
			return idx, true
		}
	case "values":
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case *Object:
			return children(t), true
		case []any:
			return t, true
		}
	case "entries":
		if len(args) != 0 {
			return nil, false
		}
		switch t := cur.(type) {
		case *Object:
			out := make([]any, len(t.keys))
			for i, k := range t.keys {
				out[i] = []any{k, t.vals[k]}
			}
			return out, true
		case []any:
			out := make([]any, len(t))
			for i, v := range t {
				out[i] = []any{intNumber(int64(i)), v}
			}
			return out, true
		}
	case "charAt":
		s, ok := cur.(string)
		if !ok || len(args) != 1 {
			return nil, false
		}
		i, ok := pyInt(args[0])
		if !ok {
			return nil, false
		}
		r := []rune(s)
		n := big.NewInt(int64(len(r)))
		if i.Sign() < 0 {
			i.Add(i, n)
		}
		if i.Sign() < 0 || i.Cmp(n) >= 0 {
			return nil, false
		}
		return string(r[i.Int64()]), true
	case "substring":
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
		hi := big.NewInt(n)
		if len(args) == 2 {
			if hi, ok = pyInt(args[1]); !ok {
				return nil, false
			}
		}
		a, b := clampSlice(lo, n), clampSlice(hi, n)
		if b < a {
			b = a
		}
		return string(r[a:b]), true
	}
	return nil, false
}

// clampSlice is a Python slice bound on a sequence of length n.
func clampSlice(i *big.Int, n int64) int64 {
	j := new(big.Int).Set(i)
	if j.Sign() < 0 {
		j.Add(j, big.NewInt(n))
		if j.Sign() < 0 {
			return 0
		}
	}
	if j.Cmp(big.NewInt(n)) > 0 {
		return n
	}
	return j.Int64()
}

// pyInt returns v as a Python int: an integer number or a bool.
func pyInt(v any) (*big.Int, bool) {
	switch t := v.(type) {
	case bool:
		return big.NewInt(boolInt(t)), true
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return nil, false
		}
		return new(big.Int).SetString(t.String(), 10)
	}
	return nil, false
}

func intNumber(i int64) json.Number { return json.Number(big.NewInt(i).String()) }
