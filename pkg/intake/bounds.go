package intake

import "sync/atomic"

// DefaultMaxRouteSteps is the default bound of the work of routing one event: about four
// million jsonpath2 steps, some tens of milliseconds of CPU. The proxymod route takes fewer
// than two thousand on the sample event, and about fifty per data entry on larger ones.
const DefaultMaxRouteSteps = 1 << 22

// DecodeLimit is the memory the document of an event of n bytes may take once decoded for
// routing: five times its size, plus 64 KiB. Pacifica's events take two to four and a half
// times theirs (entries of a few long strings); a document of dense tiny values ("[0,0,…]",
// "[{},{},…]") would take up to thirty-six, and is recorded unrouted instead.
func DecodeLimit(n int) int { return 5*n + 64<<10 }

// MemoryFor is the most memory intake holds for an event whose body has n bytes: the body
// and its decoded document. The receiver reserves it before reading a body.
func MemoryFor(n int64) int64 { return n + int64(DecodeLimit(int(n))) }

// RouteBudget is the routing work left to a group of events that share it (the events of a
// batch), in jsonpath2 steps. It is safe for concurrent use; a nil *RouteBudget is no bound.
type RouteBudget struct{ left atomic.Int64 }

// NewRouteBudget returns a budget of steps.
func NewRouteBudget(steps int64) *RouteBudget {
	b := &RouteBudget{}
	b.left.Store(steps)
	return b
}

// Left returns the steps left.
func (b *RouteBudget) Left() int64 { return b.left.Load() }

// take returns the steps one event may use: most, or less when the budget has less left.
func (b *RouteBudget) take(most int) int {
	if b == nil {
		return most
	}
	return int(min(int64(most), b.left.Load()))
}

// spend takes n steps from the budget.
func (b *RouteBudget) spend(n int) {
	if b != nil {
		b.left.Add(-int64(n))
	}
}
