package jsonpath2

import (
	"errors"
	"fmt"
)

// SyntaxError is an expression that does not parse. Line is 1-based and Column 0-based, in
// characters, as the ANTLR runtime of the Python library counts them; they point at the
// offending token (for a lexer error, at the start of the text that forms no token). Msg
// is worded as ANTLR words it, for example "mismatched input '==' expecting ...".
type SyntaxError struct {
	Line, Column int
	Msg          string
}

// Error returns "line L:C msg", the text of the Python library's ValueError.
func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d:%d %s", e.Line, e.Column, e.Msg) }

// Errors of Match. Both make Matches false.
var (
	// ErrZeroStep is a slice with a step of 0 applied to an array: the Python library raises
	// ValueError at match time, and so does Match.
	ErrZeroStep = errors.New("jsonpath2: slice step cannot be zero")
	// ErrLimit is an evaluation that went past one of the evaluator's limits: recursion
	// nested deeper than MaxEvalDepth (only possible on documents that Decode did not build,
	// such as cyclic ones), or more than MaxSteps steps of work.
	ErrLimit = errors.New("jsonpath2: evaluation limit exceeded")
)
