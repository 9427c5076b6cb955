package jsonpath2

import (
	"encoding/json"
	"errors"
	"math/big"
)

// Limits of one evaluation. They keep a hostile document or expression from exhausting the
// stack or running for ever; a Match that reaches one fails with ErrLimit.
const (
	// MaxEvalDepth bounds the nesting of recursive descent and of paths evaluated inside
	// filters, arguments and [$…] subscripts. Documents from Decode (at most MaxDepth deep)
	// stay well inside it; a deeper or cyclic document built by hand does not.
	MaxEvalDepth = 4 * MaxDepth
	// MaxSteps bounds the work of one Match: every value passed along a chain, every node a
	// recursive descent visits and every pair a comparison tests counts one step. The
	// proxymod route takes fewer than two thousand steps on the sample event.
	MaxSteps = 1 << 26
)

// Match evaluates the expression on doc, a value of the model Decode produces (Go's int,
// int64 and float64 are read as numbers too), and returns the matched values in document
// order, duplicates kept; an empty result is an empty, non-nil slice. The values are the
// document's own, not copies.
//
// Evaluation is lazy and short-circuits as the Python library's generators do, so it fails
// where the library raises ValueError: ErrZeroStep for a slice step of 0 reached on an array.
// It also fails with ErrLimit past MaxEvalDepth or MaxSteps.
func (p *Path) Match(doc any) ([]any, error) { return p.matchWithin(MaxSteps, doc) }

func (p *Path) matchWithin(maxSteps int, doc any) (out []any, err error) {
	out = []any{}
	err = evaluateWithin(maxSteps, doc, func(ev *evaluator) {
		ev.path(p.root, doc, 0, func(v any) bool {
			out = append(out, v)
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Matches reports whether the expression matches doc: a non-empty result and no error.
// This is how Pacifica decides that a subscription or a route wants an event
// (notifications evaluates the whole result, so an error means no match).
func (p *Path) Matches(doc any) bool {
	n := 0
	err := evaluateWithin(MaxSteps, doc, func(ev *evaluator) {
		ev.path(p.root, doc, 0, func(any) bool {
			n++
			return true
		})
	})
	return err == nil && n > 0
}

// MatchesWithin is Matches within a budget of work: it reports whether the expression
// matches doc and how many steps (counted as for MaxSteps) it took. Past maxSteps (at most
// MaxSteps) it stops with ErrLimit, which says nothing of whether doc matches; any other
// failure of the evaluation is no match, as in Matches.
func (p *Path) MatchesWithin(doc any, maxSteps int) (matched bool, steps int, err error) {
	if maxSteps <= 0 || maxSteps > MaxSteps {
		maxSteps = MaxSteps
	}
	n := 0
	var ev *evaluator
	err = evaluateWithin(maxSteps, doc, func(e *evaluator) {
		ev = e
		e.path(p.root, doc, 0, func(any) bool {
			n++
			return true // the whole result, as Matches: a later error means no match
		})
	})
	steps = ev.steps
	switch {
	case errors.Is(err, ErrLimit):
		return false, steps, err
	case err != nil:
		return false, steps, nil
	}
	return n > 0, steps, nil
}

// evaluator holds the state of one evaluation. Errors travel as panics of evalError from
// the point of failure to evaluateWithin, which recovers them.
type evaluator struct {
	root     any
	steps    int
	maxSteps int
}

type evalError struct{ err error }

func evaluateWithin(maxSteps int, root any, run func(*evaluator)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(evalError)
			if !ok {
				panic(r)
			}
			err = e.err
		}
	}()
	run(&evaluator{root: root, maxSteps: maxSteps})
	return nil
}

func (ev *evaluator) fail(err error) { panic(evalError{err}) }

func (ev *evaluator) tick() {
	ev.steps++
	if ev.steps > ev.maxSteps {
		ev.fail(ErrLimit)
	}
}

// sink receives the values of a path one at a time; it returns false to stop the
// evaluation early (the caller has what it needs), which every function below passes on by
// returning false.
type sink func(v any) bool

// path yields the values of p evaluated at cur.
func (ev *evaluator) path(p *pathExpr, cur any, depth int, yield sink) bool {
	if depth > MaxEvalDepth {
		ev.fail(ErrLimit)
	}
	if p.fromRoot {
		cur = ev.root
	}
	return ev.chain(p.steps, cur, depth, yield)
}

// chain applies steps to cur depth-first: every value of the first step goes through the
// rest of the chain before the next value is produced.
func (ev *evaluator) chain(steps []step, cur any, depth int, yield sink) bool {
	ev.tick()
	if len(steps) == 0 {
		return yield(cur)
	}
	if steps[0].recursive {
		return ev.descend(steps[0].subs, steps[1:], cur, depth, yield)
	}
	return ev.union(steps[0].subs, steps[1:], cur, depth, yield)
}

// union applies each subscript in turn, each of its values followed by the rest.
func (ev *evaluator) union(subs []subscript, rest []step, cur any, depth int, yield sink) bool {
	for _, s := range subs {
		if !ev.apply(s, rest, cur, depth, yield) {
			return false
		}
	}
	return true
}

// descend is `..`: the union at cur, then at every descendant, pre-order, children in
// wildcard order.
func (ev *evaluator) descend(subs []subscript, rest []step, cur any, depth int, yield sink) bool {
	if depth > MaxEvalDepth {
		ev.fail(ErrLimit)
	}
	ev.tick()
	if !ev.union(subs, rest, cur, depth, yield) {
		return false
	}
	switch t := cur.(type) {
	case []any:
		for _, c := range t {
			if !ev.descend(subs, rest, c, depth+1, yield) {
				return false
			}
		}
	case *Object:
		for _, c := range t.vals {
			if !ev.descend(subs, rest, c, depth+1, yield) {
				return false
			}
		}
	}
	return true
}

// apply yields, through the rest of the chain, the values of one subscript at cur.
func (ev *evaluator) apply(sub subscript, rest []step, cur any, depth int, yield sink) bool {
	switch s := sub.(type) {
	case keySub:
		if o, ok := cur.(*Object); ok {
			if v, ok := o.Get(s.key); ok {
				return ev.chain(rest, v, depth, yield)
			}
		}
	case indexSub:
		if v, ok := index(cur, s.i); ok {
			return ev.chain(rest, v, depth, yield)
		}
	case wildcardSub:
		switch t := cur.(type) {
		case []any:
			for _, v := range t {
				if !ev.chain(rest, v, depth, yield) {
					return false
				}
			}
		case *Object:
			for _, v := range t.vals {
				if !ev.chain(rest, v, depth, yield) {
					return false
				}
			}
		}
	case sliceSub:
		return ev.slice(s, rest, cur, depth, yield)
	case filterSub:
		if ev.test(s.e, cur, depth+1) {
			return ev.chain(rest, cur, depth, yield)
		}
	case pathSub:
		return ev.path(s.p, cur, depth+1, func(k any) bool {
			if v, ok := member(cur, k); ok {
				return ev.chain(rest, v, depth, yield)
			}
			return true
		})
	case callSub:
		return ev.call(s, rest, cur, depth, yield)
	}
	return true
}

// member is cur[k] for a [$…] or [@…] subscript: an integer (a bool counts) indexes an
// array, a string names an object's key, anything else (a float too) selects nothing.
func member(cur, k any) (any, bool) {
	if key, ok := k.(string); ok {
		if o, ok := cur.(*Object); ok {
			return o.Get(key)
		}
		return nil, false
	}
	if i, ok := pyInt(k); ok {
		return index(cur, i)
	}
	return nil, false
}

// index is [i] on an array: a negative i counts from the end, once.
func index(cur any, i *big.Int) (any, bool) {
	arr, ok := cur.([]any)
	if !ok {
		return nil, false
	}
	if !i.IsInt64() {
		return nil, false
	}
	j := i.Int64()
	if j < 0 {
		j += int64(len(arr))
	}
	if j < 0 || j >= int64(len(arr)) {
		return nil, false
	}
	return arr[j], true
}

// pyInt returns v as a Python int: an integral number (not a float, even 1.0) or a bool.
func pyInt(v any) (*big.Int, bool) {
	switch t := v.(type) {
	case bool:
		return big.NewInt(boolInt(t)), true
	case json.Number:
		if isIntText(string(t)) {
			return new(big.Int).SetString(string(t), 10)
		}
	case int:
		return big.NewInt(int64(t)), true
	case int64:
		return big.NewInt(t), true
	}
	return nil, false
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
