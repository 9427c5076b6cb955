package jsonpath2

// test evaluates a filter expression with @ = cur. "and" and "or" short-circuit from left to
// right, as Python's all() and any() do.
func (ev *evaluator) test(e expr, cur any, depth int) bool {
	switch t := e.(type) {
	case andExpr:
		for _, it := range t.items {
			if !ev.test(it, cur, depth) {
				return false
			}
		}
		return true
	case orExpr:
		for _, it := range t.items {
			if ev.test(it, cur, depth) {
				return true
			}
		}
		return false
	case notExpr:
		return !ev.test(t.e, cur, depth)
	case someExpr:
		if t.o.path == nil {
			return truthy(t.o.literal)
		}
		found := false
		ev.path(t.o.path, cur, depth, func(any) bool {
			found = true
			return false // existence: the first value is enough
		})
		return found
	case cmpExpr:
		return ev.compare(t, cur, depth)
	}
	return false
}

// compare is true when some pair (l, r) of the operands' values satisfies the operator, so
// an empty side makes every operator false, != included. As in the Python library, whose
// right side is a generator that the first left value exhausts, a path on the right is
// compared with the first left value only; the later left values are still produced (and
// may fail) but compared with nothing. A literal on the right is compared with every left
// value.
func (ev *evaluator) compare(c cmpExpr, cur any, depth int) bool {
	found := false
	first := true
	ev.operand(c.l, cur, depth, func(l any) bool {
		if c.r.path != nil && !first {
			return true
		}
		first = false
		ev.operand(c.r, cur, depth, func(r any) bool {
			ev.tick()
			found = holds(c.op, l, r)
			return !found
		})
		return !found
	})
	return found
}

// operand yields a path's values or the single literal.
func (ev *evaluator) operand(o operand, cur any, depth int, yield sink) bool {
	if o.path == nil {
		return yield(o.literal)
	}
	return ev.path(o.path, cur, depth, yield)
}

// holds applies a comparison operator to one pair of values.
func holds(op tokKind, l, r any) bool {
	switch op {
	case tEq:
		return pyEqual(l, r, 0)
	case tNe:
		return !pyEqual(l, r, 0)
	}
	a, okA := toNum(l)
	b, okB := toNum(r)
	if !okA || !okB {
		return false // ordering only between numbers, never an error
	}
	c, ordered := cmpNum(a, b)
	if !ordered {
		return false
	}
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

// truthy is Python's truth value of a literal: false for null, false, 0, 0.0, "", [] and
// {}; true for everything else.
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
	}
	if n, ok := toNum(v); ok {
		return !n.isZero()
	}
	return true
}

// pyEqual is Python's == on JSON values: numbers (ints, floats and bools alike) by exact
// value, strings by code points, null only with null, arrays element-wise, objects by key
// set and values whatever the key order. Nothing else is equal: "1" is not 1.
func pyEqual(a, b any, depth int) bool {
	if depth > MaxEvalDepth {
		panic(evalError{ErrLimit})
	}
	na, okA := toNum(a)
	nb, okB := toNum(b)
	if okA || okB {
		if !okA || !okB {
			return false
		}
		c, ordered := cmpNum(na, nb)
		return ordered && c == 0
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
			if !pyEqual(t[i], u[i], depth+1) {
				return false
			}
		}
		return true
	case *Object:
		u, ok := b.(*Object)
		if !ok || u.Len() != t.Len() {
			return false
		}
		for i, k := range t.keys {
			v, ok := u.Get(k)
			if !ok || !pyEqual(t.vals[i], v, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
