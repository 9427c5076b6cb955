package jsonpath2

import "math/big"

var bigOne = big.NewInt(1)

// slice is [start:end:step] on an array, as the Python library computes it: the indices of
// Python's range(start, end, step), where an omitted start is 0, an omitted end is the
// length n and an omitted step is 1, a negative start becomes max(start+n, 0) and a
// negative end becomes end+n, unclamped. Each index is then read as [i] reads it, so a
// negative one wraps once more: [::-1] is empty and [2:-9:-1] on five elements gives
// 2,1,0,4,3,2. Only the indices that read an element are visited, however large the bounds.
func (ev *evaluator) slice(s sliceSub, rest []step, cur any, depth int, yield sink) bool {
	arr, ok := cur.([]any)
	if !ok {
		return true
	}
	step := bigOne
	if s.step != nil {
		step = s.step
	}
	if step.Sign() == 0 {
		ev.fail(ErrZeroStep)
	}
	n := big.NewInt(int64(len(arr)))
	start := new(big.Int)
	if s.start != nil {
		start.Set(s.start)
		if start.Sign() < 0 {
			if start.Add(start, n); start.Sign() < 0 {
				start.SetInt64(0)
			}
		}
	}
	end := new(big.Int).Set(n)
	if s.end != nil {
		end.Set(s.end)
		if end.Sign() < 0 {
			end.Add(end, n)
		}
	}
	if step.Sign() > 0 {
		// start ≥ 0, so the indices that read are start, start+step, … below min(end, n).
		if end.Cmp(n) > 0 {
			end.Set(n)
		}
		for i := start; i.Cmp(end) < 0; i.Add(i, step) {
			if !ev.chain(rest, arr[i.Int64()], depth, yield) {
				return false
			}
		}
		return true
	}
	// Descending: skip the indices above n-1 in whole steps, and stop below -n, where no
	// index reads any more.
	abs := new(big.Int).Neg(step)
	top := new(big.Int).Sub(n, bigOne)
	i := start
	if i.Cmp(top) > 0 {
		k := new(big.Int).Sub(i, top)
		k.Add(k, abs).Sub(k, bigOne).Quo(k, abs) // ceil((i-top)/abs)
		i.Sub(i, k.Mul(k, abs))
	}
	if low := new(big.Int).Neg(n); end.Cmp(low) < 0 {
		end = low.Sub(low, bigOne)
	}
	for ; i.Cmp(end) > 0; i.Sub(i, abs) {
		if v, ok := index(arr, i); ok {
			if !ev.chain(rest, v, depth, yield) {
				return false
			}
		}
	}
	return true
}
