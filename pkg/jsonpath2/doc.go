// Package jsonpath2 evaluates Pacifica's jsonpath2 dialect of JSONPath, the filter language
// of Pacifica notification subscriptions and of the dispatchers' routes, with the results of
// the Python library jsonpath2 v0.4.5.
//
// The dialect differs from RFC 9535: equality is a single "=", the boolean operators are the
// words and, or and not — with "or" binding tighter than "and" —, a filter [?(…)] tests the
// node it is applied to rather than iterating it, a bare path inside a filter is an existence
// test, and a path may be compared with a sub-query's result. String literals are kept raw
// (no unescaping), numbers compare exactly across integers, floats and booleans, and object
// keys keep their document order; the evaluator reproduces these behaviours, including the
// Python library's quirks (the first-left-value rule of comparisons with a path on the
// right, and Python's range semantics in slices).
//
// Parse a filter once with Parse and evaluate it many times, concurrently, with Match or
// Matches on documents decoded by Decode, which keeps key order and exact numbers.
package jsonpath2
