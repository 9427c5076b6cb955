package jsonpath2

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Path is a parsed jsonpath2 expression. It is immutable and safe for concurrent use.
type Path struct {
	text string
	root *pathExpr
}

// String returns the expression's text, exactly as given to Parse.
func (p *Path) String() string { return p.text }

// Parse parses a jsonpath2 expression (the Python jsonpath2 library's grammar, v0.4.5): the text must start with "$". It
// accepts exactly what the Python library v0.4.5 accepts, so a subscription filter that
// Pacifica notifications would refuse is refused here too. The error is a *SyntaxError for
// the first problem found, in the order the Python library finds them: lexer and parser
// errors as the parser reaches them, then an unknown function name. Nesting deeper than
// MaxDepth (brackets, parentheses, literals, or subscripts chained after one another) is a
// *SyntaxError too, where the Python library would run out of recursion.
func Parse(expr string) (p *Path, err error) {
	ps := &parser{lx: lexer{src: expr, line: 1}}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			p, err = nil, se
		}
	}()
	root := ps.jsonpath()
	if ps.unknownFn != nil {
		return nil, ps.unknownFn
	}
	return &Path{text: expr, root: root}, nil
}

// MustParse is Parse for expressions known to be valid, such as constants; it panics when
// expr does not parse.
func MustParse(expr string) *Path {
	p, err := Parse(expr)
	if err != nil {
		panic(fmt.Sprintf("jsonpath2: MustParse(%q): %v", expr, err))
	}
	return p
}

// parser is a recursive-descent parser of the grammar, reporting errors where the
// generated ANTLR parser reports them. Errors are panics of *SyntaxError, recovered by
// Parse.
type parser struct {
	lx        lexer
	toks      []token // tokens lexed so far
	pos       int     // index of the current token in toks
	depth     int
	unknownFn *SyntaxError // the first unknown function name, reported after the parse
}

// la returns the k-th token from the current one (k ≥ 1), lexing as far as needed.
func (ps *parser) la(k int) token {
	for len(ps.toks) < ps.pos+k {
		if n := len(ps.toks); n > 0 && ps.toks[n-1].kind == tEOF {
			return ps.toks[n-1]
		}
		t, err := ps.lx.next()
		if err != nil {
			panic(err)
		}
		ps.toks = append(ps.toks, t)
	}
	return ps.toks[ps.pos+k-1]
}

func (ps *parser) at(k tokKind) bool { return ps.la(1).kind == k }

// consume moves past the current token and, like ANTLR's token stream, lexes the next one.
func (ps *parser) consume() token {
	t := ps.la(1)
	if t.kind != tEOF {
		ps.pos++
	}
	ps.la(1)
	return t
}

// expect consumes a token of kind k or reports a mismatch.
func (ps *parser) expect(k tokKind) token {
	if !ps.at(k) {
		ps.mismatch(k)
	}
	return ps.consume()
}

// mismatch reports that the current token is not one of expected. Like ANTLR's error
// strategy it looks one token further first (single-token deletion): a lexer error there
// comes first, and when that token is expected the current one is "extraneous".
func (ps *parser) mismatch(expected ...tokKind) {
	t, next := ps.la(1), ps.la(2)
	what := "mismatched"
	if t.kind != tEOF && slices.Contains(expected, next.kind) {
		what = "extraneous"
	}
	panic(errAt(t, "%s input %s expecting %s", what, t.display(), expecting(expected)))
}

// noViable reports that no alternative of a decision fits the tokens from start through t.
func (ps *parser) noViable(start int, t token) {
	var b strings.Builder
	for _, tk := range ps.toks[start:] {
		if tk.kind != tEOF {
			b.WriteString(tk.text)
		}
		if tk == t {
			break
		}
	}
	text := b.String()
	if t.kind == tEOF && text == "" {
		text = "<EOF>"
	}
	panic(errAt(t, "no viable alternative at input '%s'", escapeWS(text)))
}

func errAt(t token, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: t.line, Column: t.col, Msg: fmt.Sprintf(format, args...)}
}

// expecting formats a set of token kinds as ANTLR does: one name, or {a, b} in token order.
func expecting(kinds []tokKind) string {
	ks := slices.Clone(kinds)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if len(ks) == 1 {
		return kindNames[ks[0]]
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = kindNames[k]
	}
	return "{" + strings.Join(names, ", ") + "}"
}

// enter and leave bound the nesting of the recursive rules.
func (ps *parser) enter() {
	ps.depth++
	if ps.depth > MaxDepth {
		panic(errAt(ps.la(1), "nesting deeper than %d", MaxDepth))
	}
}

func (ps *parser) leave() { ps.depth-- }

// First sets of the rules, for the decisions and the error messages.
var (
	chainFirst   = []tokKind{tRecursive, tDot, tLBracket}
	valueFirst   = []tokKind{tTrue, tFalse, tNull, tLBrace, tLBracket, tString, tNumber}
	operandFirst = append([]tokKind{tCurrent, tRoot}, valueFirst...)
	notFirst     = append([]tokKind{tNot, tLParen}, operandFirst...)
	subFirst     = []tokKind{tCurrent, tRoot, tWildcard, tColon, tQuestion, tID, tString, tNumber}
	comparisons  = []tokKind{tEq, tGe, tGt, tLe, tLt, tNe}
)

// jsonpath = "$" [subscript] EOF.
func (ps *parser) jsonpath() *pathExpr {
	ps.expect(tRoot)
	steps := ps.chain()
	if !ps.at(tEOF) {
		if len(steps) == 0 {
			ps.mismatch(append([]tokKind{tEOF}, chainFirst...)...)
		}
		ps.mismatch(tEOF)
	}
	return &pathExpr{fromRoot: true, steps: steps}
}

// path = ("$" | "@") [subscript], the current token being "$" or "@".
func (ps *parser) path() *pathExpr {
	ps.enter()
	defer ps.leave()
	fromRoot := ps.consume().kind == tRoot
	return &pathExpr{fromRoot: fromRoot, steps: ps.chain()}
}

// chain parses the subscripts after "$" or "@": ".." (bareword | brackets), "." bareword,
// or brackets, repeated.
func (ps *parser) chain() []step {
	var steps []step
	depth := ps.depth
	defer func() { ps.depth = depth }()
	for {
		var s step
		switch ps.la(1).kind {
		case tRecursive:
			ps.consume()
			s.recursive = true
			switch ps.la(1).kind {
			case tID, tWildcard:
				s.subs = []subscript{ps.bareword()}
			case tLBracket:
				s.subs = ps.brackets()
			default:
				ps.mismatch(tWildcard, tLBracket, tID)
			}
		case tDot:
			ps.consume()
			if k := ps.la(1).kind; k != tID && k != tWildcard {
				ps.mismatch(tWildcard, tID)
			}
			s.subs = []subscript{ps.bareword()}
		case tLBracket:
			s.subs = ps.brackets()
		default:
			return steps
		}
		steps = append(steps, s)
		ps.enter() // the grammar's subscript rule nests each further step
	}
}

// bareword = ID [arguments] | "*", the current token being one of them.
func (ps *parser) bareword() subscript {
	t := ps.consume()
	if t.kind == tWildcard {
		return wildcardSub{}
	}
	if ps.at(tLParen) {
		return ps.call(t)
	}
	return keySub{key: t.text}
}

// brackets = "[" subscriptable {"," subscriptable} "]".
func (ps *parser) brackets() []subscript {
	ps.enter()
	defer ps.leave()
	ps.consume()
	var subs []subscript
	for {
		subs = append(subs, ps.subscriptable())
		switch ps.la(1).kind {
		case tComma:
			ps.consume()
		case tRBracket:
			ps.consume()
			return subs
		default:
			ps.mismatch(tComma, tRBracket)
		}
	}
}

func (ps *parser) subscriptable() subscript {
	switch t := ps.la(1); t.kind {
	case tString:
		ps.consume()
		return keySub{key: raw(t.text)}
	case tNumber:
		ps.consume()
		i := ps.integer(t, "subscriptable")
		if ps.at(tColon) {
			return ps.slice(i)
		}
		return indexSub{i: i}
	case tColon:
		return ps.slice(nil)
	case tWildcard:
		ps.consume()
		return wildcardSub{}
	case tQuestion:
		ps.consume()
		ps.expect(tLParen)
		e := ps.expression()
		ps.expect(tRParen)
		return filterSub{e: e}
	case tRoot, tCurrent:
		return pathSub{p: ps.path()}
	case tID:
		ps.consume()
		if !ps.at(tLParen) {
			ps.mismatch(tLParen)
		}
		return ps.call(t)
	}
	ps.mismatch(subFirst...)
	return nil
}

// integer reads an index or slice bound. The grammar's predicate wants Python's int(text)
// to succeed; when it fails, ANTLR reports the token after the number.
func (ps *parser) integer(t token, rule string) *big.Int {
	i, ok := new(big.Int).SetString(t.text, 10)
	if !ok {
		panic(errAt(ps.la(1), "rule %s failed predicate: {self.tryCast(int)}? (%s is not an integer)", rule, t.text))
	}
	return i
}

// slice = ":" [NUMBER] [":" [NUMBER]], after an optional start already read.
func (ps *parser) slice(start *big.Int) subscript {
	s := sliceSub{start: start}
	ps.consume()
	if t := ps.la(1); t.kind == tNumber {
		ps.consume()
		s.end = ps.integer(t, "sliceable")
	}
	if ps.at(tColon) {
		ps.consume()
		if t := ps.la(1); t.kind == tNumber {
			ps.consume()
			s.step = ps.integer(t, "sliceable")
		}
	}
	return s
}

// call = ID "(" [operand {"," operand}] ")", the name already read. The name is resolved
// when the call is complete, as the Python library's tree listener does, and an unknown
// one is reported only if the whole expression parses.
func (ps *parser) call(name token) subscript {
	ps.enter()
	defer ps.leave()
	ps.consume()
	var args []operand
	if !ps.at(tRParen) {
		if !slices.Contains(operandFirst, ps.la(1).kind) {
			ps.mismatch(append([]tokKind{tRParen}, operandFirst...)...)
		}
		for {
			args = append(args, ps.operand())
			if ps.at(tComma) {
				ps.consume()
				continue
			}
			if !ps.at(tRParen) {
				ps.mismatch(tComma, tRParen)
			}
			break
		}
	}
	ps.consume()
	fn, ok := functions[name.text]
	if !ok && ps.unknownFn == nil {
		ps.unknownFn = errAt(name, "callable subscript '%s' not found", name.text)
	}
	return callSub{fn: fn, args: args}
}

// expression: "and" binds loosest, then "or", then "not", then the comparisons.
func (ps *parser) expression() expr {
	var items []expr
	for {
		e := ps.orExpression()
		if a, ok := e.(andExpr); ok {
			items = append(items, a.items...)
		} else {
			items = append(items, e)
		}
		if !ps.at(tAnd) {
			break
		}
		ps.consume()
	}
	if len(items) == 1 {
		return items[0]
	}
	return andExpr{items: items}
}

func (ps *parser) orExpression() expr {
	var items []expr
	for {
		e := ps.notExpression()
		if o, ok := e.(orExpr); ok {
			items = append(items, o.items...)
		} else {
			items = append(items, e)
		}
		if !ps.at(tOr) {
			break
		}
		ps.consume()
	}
	if len(items) == 1 {
		return items[0]
	}
	return orExpr{items: items}
}

// notExpression = "not" notExpression | "(" expression ")" | operand [comparison operand].
func (ps *parser) notExpression() expr {
	ps.enter()
	defer ps.leave()
	switch k := ps.la(1).kind; {
	case k == tNot:
		ps.consume()
		e := ps.notExpression()
		if n, ok := e.(notExpr); ok {
			return n.e // not not X is X
		}
		return notExpr{e: e}
	case k == tLParen:
		ps.consume()
		e := ps.expression()
		ps.expect(tRParen)
		return e
	case slices.Contains(operandFirst, k):
		l := ps.operand()
		if op := ps.la(1).kind; slices.Contains(comparisons, op) {
			ps.consume()
			return cmpExpr{op: op, l: l, r: ps.operand()}
		}
		return someExpr{o: l}
	}
	ps.mismatch(notFirst...)
	return nil
}

// operand = path | value.
func (ps *parser) operand() operand {
	switch k := ps.la(1).kind; {
	case k == tRoot || k == tCurrent:
		return operand{path: ps.path()}
	case !slices.Contains(valueFirst, k):
		ps.mismatch(operandFirst...)
	}
	return operand{literal: ps.value()}
}

// value is a JSON literal. Strings are kept raw, as the Python library keeps them; numbers
// keep their text, read as Python reads them when compared.
func (ps *parser) value() any {
	switch t := ps.la(1); t.kind {
	case tString:
		ps.consume()
		return raw(t.text)
	case tNumber:
		ps.consume()
		return json.Number(t.text)
	case tTrue:
		ps.consume()
		return true
	case tFalse:
		ps.consume()
		return false
	case tNull:
		ps.consume()
		return nil
	case tLBrace:
		return ps.object()
	case tLBracket:
		return ps.array()
	}
	ps.mismatch(valueFirst...)
	return nil
}

// object = "{" "}" | "{" STRING ":" value {"," STRING ":" value} "}". Choosing between the
// two needs the second token; when it fits neither, ANTLR reports no viable alternative.
func (ps *parser) object() *Object {
	ps.enter()
	defer ps.leave()
	start := ps.pos
	obj := NewObject()
	switch t := ps.la(2); t.kind {
	case tRBrace:
		ps.consume()
		ps.consume()
		return obj
	case tString:
	default:
		ps.noViable(start, t)
	}
	ps.consume()
	for {
		k := ps.expect(tString)
		ps.expect(tColon)
		obj.Set(raw(k.text), ps.value())
		switch ps.la(1).kind {
		case tComma:
			ps.consume()
		case tRBrace:
			ps.consume()
			return obj
		default:
			ps.mismatch(tComma, tRBrace)
		}
	}
}

// array = "[" "]" | "[" value {"," value} "]".
func (ps *parser) array() []any {
	ps.enter()
	defer ps.leave()
	start := ps.pos
	arr := []any{}
	t := ps.la(2)
	if t.kind == tRBracket {
		ps.consume()
		ps.consume()
		return arr
	}
	if !slices.Contains(valueFirst, t.kind) {
		ps.noViable(start, t)
	}
	ps.consume()
	for {
		arr = append(arr, ps.value())
		switch ps.la(1).kind {
		case tComma:
			ps.consume()
		case tRBracket:
			ps.consume()
			return arr
		default:
			ps.mismatch(tComma, tRBracket)
		}
	}
}

// raw is a string literal's text between its quotes: the Python library does not unescape
// it, so `"a\"b"` is the four characters a\"b.
func raw(lit string) string { return lit[1 : len(lit)-1] }
