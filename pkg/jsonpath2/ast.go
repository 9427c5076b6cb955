package jsonpath2

import "math/big"

// pathExpr is `$…` or `@…`: where it starts and the chain of steps after it.
type pathExpr struct {
	fromRoot bool
	steps    []step
}

// step is one link of a chain: a union of subscripts, or a recursive descent.
type step interface{ isStep() }

// unionStep applies each subscript in turn ([a,b] or a single .a, [a], .*, ...).
type unionStep struct{ subs []subscript }

// recursiveStep is `..X`: X (and the rest of the chain) at the current value and at every
// descendant, pre-order.
type recursiveStep struct{ inner unionStep }

func (unionStep) isStep()     {}
func (recursiveStep) isStep() {}

// subscript is one entry of a union.
type subscript interface{ isSubscript() }

type (
	keySub      struct{ key string }
	indexSub    struct{ i *big.Int }
	sliceSub    struct{ start, end, step *big.Int } // nil: omitted
	wildcardSub struct{}
	filterSub   struct{ e expr }
	pathSub     struct{ p *pathExpr }
	callSub     struct {
		fn   string
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

// operand is a path or a JSON literal, in comparisons and function arguments.
type operand struct {
	path    *pathExpr
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
		op   tokKind
		l, r operand
	}
)

func (andExpr) isExpr()  {}
func (orExpr) isExpr()   {}
func (notExpr) isExpr()  {}
func (someExpr) isExpr() {}
func (cmpExpr) isExpr()  {}

// functions are the names a call may use; any other is a parse error.
var functions = map[string]bool{
	"charAt": true, "entries": true, "keys": true, "length": true, "substring": true, "values": true,
}
