// Package jsonpath2 evaluates Pacifica's jsonpath2 dialect of JSONPath, the language of
// Pacifica notification subscription filters and of the dispatchers' routes, giving the
// results of the Python library jsonpath2 v0.4.5 (where "contains" is an ordinary name,
// not an operator).
//
// The dialect differs from RFC 9535: equality is a single "=", the boolean operators are
// the words and, or and not, with "or" binding tighter than "and"; a filter [?(…)] tests
// the node it is applied to instead of iterating it; a bare path inside a filter is an
// existence test; and a path may be compared with a sub-query's values. String literals
// are kept raw (the library does not unescape them), numbers compare exactly across
// integers, floats and booleans, and object keys keep their document order. The package
// reproduces these rules and the library's quirks: a comparison with a path on its right
// compares only the first value of its left side, slices follow Python's range with
// negative indices wrapping once more, and evaluation is lazy, so an error (a slice step
// of 0) happens only where the library's generators would reach it.
//
// Parse an expression once and evaluate it many times, concurrently if need be, with
// Match (the values) or Matches (is there any). Evaluate it on documents from Decode,
// which keeps key order and the exact text of numbers:
//
//	p, err := jsonpath2.Parse(`$[?(@["eventType"] = "org.pacifica.metadata.ingest")]`)
//	if err != nil {
//		return err // a *SyntaxError: "line 1:4 ..."
//	}
//	doc, err := jsonpath2.Decode(body)
//	if err != nil {
//		return err
//	}
//	if p.Matches(doc) {
//		// the event is an ingest event
//	}
//
// # Values
//
// Documents are nil (JSON null), bool, json.Number, string, []any and *Object, an object
// that keeps its keys in order. Encode writes such a value back as compact JSON.
//
// # Limits
//
// Decode refuses documents nested deeper than MaxDepth, and Parse expressions nested
// deeper than MaxDepth. Match stops with ErrLimit past MaxEvalDepth nested evaluations
// (reachable only with documents built by hand, cyclic ones for instance) or MaxSteps
// steps of work, so a hostile document or filter cannot exhaust the stack or run for long.
package jsonpath2
