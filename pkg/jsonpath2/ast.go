package jsonpath2

import "math/big"

// pathExpr is `$…` or `@…`: where it starts and the chain of steps after it.
type pathExpr struct {
	fromRoot bool
	steps    []step
}

// step is one link of a chain: a union of subscripts ([a,b], or a single .a, [0], .*), or,
// when recursive, `..` followed by such a union.
type step struct {
	recursive bool
	subs      []subscript
}

// subscript is one member of a union.
type subscript interface{ isSubscript() }

type (
	keySub      struct{ key string }                // ["k"], .k
	indexSub    struct{ i *big.Int }                // [i]
	sliceSub    struct{ start, end, step *big.Int } // [a:b:c]; nil when omitted
	wildcardSub struct{}                            // [*], .*
	filterSub   struct{ e expr }                    // [?(e)]
	pathSub     struct{ p *pathExpr }               // [$…], [@…]
	callSub     struct {                            // [f(args)], .f(args)
		fn   function
		args []operand
	}
)

func (keySub) isSubscript()      {}
func (indexSub) isSubscript()    {}
func (sliceSub) isSubscript()    {}
func (wildcardSub) isSubscript() {}
func (filterSub) isSubscript()   {}
func (pathSub) isSubscript()     {}
func (callSub) isSubscript()     {}

// operand is a path or a JSON literal: an argument of a function or a side of a comparison.
type operand struct {
	path    *pathExpr // nil for a literal
	literal any
}

// expr is a filter expression.
type expr interface{ isExpr() }

type (
	andExpr  struct{ items []expr }
	orExpr   struct{ items []expr }
	notExpr  struct{ e expr }
	someExpr struct{ o operand }
	cmpExpr  struct {
		op   tokKind // tEq, tNe, tLt, tLe, tGt or tGe
		l, r operand
	}
)

func (andExpr) isExpr()  {}
func (orExpr) isExpr()   {}
func (notExpr) isExpr()  {}
func (someExpr) isExpr() {}
func (cmpExpr) isExpr()  {}

// function is one of the six functions of the dialect.
type function uint8

const (
	fnCharAt function = iota + 1
	fnEntries
	fnKeys
	fnLength
	fnSubstring
	fnValues
)

// functions are resolved by name at parse time; any other name is an error.
var functions = map[string]function{
	"charAt": fnCharAt, "entries": fnEntries, "keys": fnKeys,
	"length": fnLength, "substring": fnSubstring, "values": fnValues,
}
