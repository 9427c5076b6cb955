package jsonpath2

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// SyntaxError is a filter that does not parse. Line is 1-based and Column 0-based, as the
// Python library reports them ("line 1:4 ...").
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d:%d %s", e.Line, e.Column, e.Msg) }

// Path is a parsed jsonpath2 expression. It is immutable and safe for concurrent use.
type Path struct {
	text string
	p    *pathExpr
}

// String returns the expression's text, as given to Parse.
func (p *Path) String() string { return p.text }

// Parse parses a jsonpath2 expression. It rejects everything the Python library rejects;
// the error is a *SyntaxError pointing at the first offending token.
func Parse(expr string) (*Path, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	ps := &parser{toks: toks}
	p, err := ps.top()
	if err != nil {
		return nil, err
	}
	return &Path{text: expr, p: p}, nil
}

// MustParse is Parse for expressions known to be valid; it panics otherwise.
func MustParse(expr string) *Path {
	p, err := Parse(expr)
	if err != nil {
		panic("jsonpath2: " + err.Error())
	}
	return p
}

type parser struct {
	toks []token
	pos  int
}

func (ps *parser) peek() token { return ps.toks[ps.pos] }
func (ps *parser) peekAt(n int) token {
	if ps.pos+n < len(ps.toks) {
		return ps.toks[ps.pos+n]
	}
	return ps.toks[len(ps.toks)-1]
}
func (ps *parser) next() token {
	t := ps.toks[ps.pos]
	if t.kind != tEOF {
		ps.pos++
	}
	return t
}

func (ps *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{Line: t.line, Column: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) mismatched(expecting string) error {
	t := ps.peek()
	return ps.errAt(t, "mismatched input %s expecting %s", t, expecting)
}

func (ps *parser) expect(k tokKind, what string) (token, error) {
	if ps.peek().kind != k {
		return token{}, ps.mismatched(what)
	}
	return ps.next(), nil
}

// top: jsonpath = "$" [subscript] EOF.
func (ps *parser) top() (*pathExpr, error) {
	if _, err := ps.expect(tRoot, "'$'"); err != nil {
		return nil, err
	}
	steps, err := ps.subscripts()
	if err != nil {
		return nil, err
	}
	if t := ps.peek(); t.kind != tEOF {
		return nil, ps.errAt(t, "extraneous input %s expecting <EOF>", t)
	}
	return &pathExpr{fromRoot: true, steps: steps}, nil
}

// path: jsonpath_ = ("$" | "@") [subscript].
func (ps *parser) path() (*pathExpr, error) {
	t := ps.next()
	steps, err := ps.subscripts()
	if err != nil {
		return nil, err
	}
	return &pathExpr{fromRoot: t.kind == tRoot, steps: steps}, nil
}

// subscripts parses the chain after $ or @.
func (ps *parser) subscripts() ([]step, error) {
	var steps []step
	for {
		switch ps.peek().kind {
		case tRecursive:
			ps.next()
			var u unionStep
			var err error
			switch ps.peek().kind {
			case tID, tWildcard:
				u, err = ps.bareword()
			case tLBracket:
				u, err = ps.bracket()
			default:
				return nil, ps.mismatched("{'*', '[', ID}")
			}
			if err != nil {
				return nil, err
			}
			steps = append(steps, recursiveStep{inner: u})
		case tDot:
			ps.next()
			if k := ps.peek().kind; k != tID && k != tWildcard {
				return nil, ps.mismatched("{'*', ID}")
			}
			u, err := ps.bareword()
			if err != nil {
				return nil, err
			}
			steps = append(steps, u)
		case tLBracket:
			u, err := ps.bracket()
			if err != nil {
				return nil, err
			}
			steps = append(steps, u)
		default:
			return steps, nil
		}
	}
}

// bareword: ID [arguments] | "*".
func (ps *parser) bareword() (unionStep, error) {
	t := ps.next()
	if t.kind == tWildcard {
		return unionStep{subs: []subscript{wildcardSub{}}}, nil
	}
	if ps.peek().kind == tLParen {
		c, err := ps.call(t)
		if err != nil {
			return unionStep{}, err
		}
		return unionStep{subs: []subscript{c}}, nil
	}
	return unionStep{subs: []subscript{keySub{key: t.text}}}, nil
}

// call: ID arguments, with the name resolved now.
func (ps *parser) call(name token) (callSub, error) {
	if !functions[name.text] {
		return callSub{}, ps.errAt(name, "no such function %q (want charAt, entries, keys, length, substring or values)", name.text)
	}
	ps.next() // (
	var args []operand
	if ps.peek().kind != tRParen {
		for {
			o, err := ps.operand()
			if err != nil {
				return callSub{}, err
			}
			args = append(args, o)
			if ps.peek().kind != tComma {
				break
			}
			ps.next()
		}
	}
	if _, err := ps.expect(tRParen, "{',', ')'}"); err != nil {
		return callSub{}, err
	}
	return callSub{fn: name.text, args: args}, nil
}

// bracket: "[" subscriptable {"," subscriptable} "]".
func (ps *parser) bracket() (unionStep, error) {
	ps.next() // [
	var u unionStep
	for {
		s, err := ps.subscriptable()
		if err != nil {
			return unionStep{}, err
		}
		u.subs = append(u.subs, s)
		if ps.peek().kind != tComma {
			break
		}
		ps.next()
	}
	if _, err := ps.expect(tRBracket, "{',', ']'}"); err != nil {
		return unionStep{}, err
	}
	return u, nil
}

func (ps *parser) subscriptable() (subscript, error) {
	t := ps.peek()
	switch t.kind {
	case tString:
		ps.next()
		return keySub{key: raw(t.text)}, nil
	case tNumber:
		ps.next()
		i, err := ps.intOf(t)
		if err != nil {
			return nil, err
		}
		if ps.peek().kind == tColon {
			return ps.slice(i)
		}
		return indexSub{i: i}, nil
	case tColon:
		return ps.slice(nil)
	case tWildcard:
		ps.next()
		return wildcardSub{}, nil
	case tQuestion:
		ps.next()
		if _, err := ps.expect(tLParen, "'('"); err != nil {
			return nil, err
		}
		e, err := ps.expression()
		if err != nil {
			return nil, err
		}
		if _, err := ps.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return filterSub{e: e}, nil
	case tRoot, tCurrent:
		p, err := ps.path()
		if err != nil {
			return nil, err
		}
		return pathSub{p: p}, nil
	case tID:
		if ps.peekAt(1).kind == tLParen {
			ps.next()
			return ps.call(t)
		}
		return nil, ps.errAt(ps.peekAt(1), "mismatched input %s expecting '('", ps.peekAt(1))
	}
	return nil, ps.errAt(t, "no viable alternative at input %s", t)
}

// intOf reads an index or slice bound: the number must be an integer (Python int(text)).
func (ps *parser) intOf(t token) (*big.Int, error) {
	if strings.ContainsAny(t.text, ".eE") {
		return nil, ps.errAt(t, "rule subscriptable failed predicate: an index must be an integer, not %s", t.text)
	}
	i, ok := new(big.Int).SetString(t.text, 10)
	if !ok {
		return nil, ps.errAt(t, "bad integer %s", t.text)
	}
	return i, nil
}

// slice: [start] ":" [end] [":" [step]], the start already read.
func (ps *parser) slice(start *big.Int) (subscript, error) {
	s := sliceSub{start: start}
	ps.next() // :
	if t := ps.peek(); t.kind == tNumber {
		ps.next()
		i, err := ps.intOf(t)
		if err != nil {
			return nil, err
		}
		s.end = i
	}
	if ps.peek().kind == tColon {
		ps.next()
		if t := ps.peek(); t.kind == tNumber {
			ps.next()
			i, err := ps.intOf(t)
			if err != nil {
				return nil, err
			}
			s.step = i
		}
	}
	return s, nil
}

// expression = andExpression; and binds loosest, then or, then not, then comparison.
func (ps *parser) expression() (expr, error) {
	var items []expr
	for {
		e, err := ps.orExpression()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if ps.peek().kind != tAnd {
			break
		}
		ps.next()
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return andExpr{items: items}, nil
}

func (ps *parser) orExpression() (expr, error) {
	var items []expr
	for {
		e, err := ps.notExpression()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if ps.peek().kind != tOr {
			break
		}
		ps.next()
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return orExpr{items: items}, nil
}

func (ps *parser) notExpression() (expr, error) {
	switch ps.peek().kind {
	case tNot:
		ps.next()
		e, err := ps.notExpression()
		if err != nil {
			return nil, err
		}
		if n, ok := e.(notExpr); ok {
			return n.e, nil // not not X is X
		}
		return notExpr{e: e}, nil
	case tLParen:
		ps.next()
		e, err := ps.expression()
		if err != nil {
			return nil, err
		}
		if _, err := ps.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	}
	l, err := ps.operand()
	if err != nil {
		return nil, err
	}
	switch op := ps.peek().kind; op {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		ps.next()
		r, err := ps.operand()
		if err != nil {
			return nil, err
		}
		return cmpExpr{op: op, l: l, r: r}, nil
	}
	return someExpr{o: l}, nil
}

// operand: jsonpath__ = jsonpath_ | value.
func (ps *parser) operand() (operand, error) {
	switch ps.peek().kind {
	case tRoot, tCurrent:
		p, err := ps.path()
		if err != nil {
			return operand{}, err
		}
		return operand{path: p}, nil
	}
	v, err := ps.value()
	if err != nil {
		return operand{}, err
	}
	return operand{literal: v}, nil
}

// value: a JSON literal. Strings are kept raw, as the Python library keeps them.
func (ps *parser) value() (any, error) {
	t := ps.peek()
	switch t.kind {
	case tString:
		ps.next()
		return raw(t.text), nil
	case tNumber:
		ps.next()
		return json.Number(t.text), nil
	case tTrue:
		ps.next()
		return true, nil
	case tFalse:
		ps.next()
		return false, nil
	case tNull:
		ps.next()
		return nil, nil
	case tLBrace:
		ps.next()
		obj := NewObject()
		if ps.peek().kind == tRBrace {
			ps.next()
			return obj, nil
		}
		for {
			k, err := ps.expect(tString, "STRING")
			if err != nil {
				return nil, err
			}
			if _, err := ps.expect(tColon, "':'"); err != nil {
				return nil, err
			}
			v, err := ps.value()
			if err != nil {
				return nil, err
			}
			obj.Set(raw(k.text), v)
			if ps.peek().kind != tComma {
				break
			}
			ps.next()
		}
		if _, err := ps.expect(tRBrace, "{',', '}'}"); err != nil {
			return nil, err
		}
		return obj, nil
	case tLBracket:
		ps.next()
		arr := []any{}
		if ps.peek().kind == tRBracket {
			ps.next()
			return arr, nil
		}
		for {
			v, err := ps.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			if ps.peek().kind != tComma {
				break
			}
			ps.next()
		}
		if _, err := ps.expect(tRBracket, "{',', ']'}"); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return nil, ps.errAt(t, "no viable alternative at input %s", t)
}

// raw returns a string literal's text between its quotes, unescaped as the Python library
// leaves it.
func raw(lit string) string { return lit[1 : len(lit)-1] }
