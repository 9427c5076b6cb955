package jsonpath2

import (
	"fmt"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tCurrent
	tRecursive
	tRoot
	tDot
	tWildcard
	tAnd
	tEq
	tGe
	tGt
	tLe
	tLt
	tNe
	tNot
	tOr
	tTrue
	tFalse
	tNull
	tLBrace
	tRBrace
	tLBracket
	tRBracket
	tColon
	tComma
	tLParen
	tRParen
	tQuestion
	tID
	tString
	tNumber
)

var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "true": tTrue, "false": tFalse, "null": tNull,
}

// token is a lexeme with its position: line (1-based) and column (0-based, in characters),
// as the ANTLR runtime reports them.
type token struct {
	kind tokKind
	text string
	line int
	col  int
}

func (t token) String() string {
	if t.kind == tEOF {
		return "<EOF>"
	}
	return "'" + t.text + "'"
}

// lex splits the expression into tokens, skipping whitespace. Like the ANTLR lexer of the
// Python library it takes the longest match, keywords before identifiers.
func lex(src string) ([]token, error) {
	var toks []token
	line, col := 1, 0
	i := 0
	advance := func(text string) {
		for _, r := range text {
			if r == '\n' {
				line++
				col = 0
			} else {
				col++
			}
		}
		i += len(text)
	}
	emit := func(k tokKind, n int) {
		toks = append(toks, token{kind: k, text: src[i : i+n], line: line, col: col})
		advance(src[i : i+n])
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			advance(src[i : i+1])
		case c == '@':
			emit(tCurrent, 1)
		case c == '$':
			emit(tRoot, 1)
		case c == '.':
			if i+1 < len(src) && src[i+1] == '.' {
				emit(tRecursive, 2)
			} else {
				emit(tDot, 1)
			}
		case c == '*':
			emit(tWildcard, 1)
		case c == '=':
			emit(tEq, 1)
		case c == '>' || c == '<':
			k := map[byte][2]tokKind{'>': {tGt, tGe}, '<': {tLt, tLe}}[c]
			if i+1 < len(src) && src[i+1] == '=' {
				emit(k[1], 2)
			} else {
				emit(k[0], 1)
			}
		case c == '!' && i+1 < len(src) && src[i+1] == '=':
			emit(tNe, 2)
		case c == '{':
			emit(tLBrace, 1)
		case c == '}':
			emit(tRBrace, 1)
		case c == '[':
			emit(tLBracket, 1)
		case c == ']':
			emit(tRBracket, 1)
		case c == ':':
			emit(tColon, 1)
		case c == ',':
			emit(tComma, 1)
		case c == '(':
			emit(tLParen, 1)
		case c == ')':
			emit(tRParen, 1)
		case c == '?':
			emit(tQuestion, 1)
		case c == '_' || isAlpha(c):
			n := 1
			for i+n < len(src) && (src[i+n] == '_' || isAlpha(src[i+n]) || isDigit(src[i+n])) {
				n++
			}
			k, ok := keywords[src[i:i+n]]
			if !ok {
				k = tID
			}
			emit(k, n)
		case c == '"':
			n, err := lexString(src[i:])
			if err != nil {
				return nil, &SyntaxError{Line: line, Column: col, Msg: err.Error()}
			}
			emit(tString, n)
		case c == '-' || isDigit(c):
			n := lexNumber(src[i:])
			if n == 0 {
				return nil, recognitionError(src[i:], line, col)
			}
			emit(tNumber, n)
		default:
			return nil, recognitionError(src[i:], line, col)
		}
	}
	toks = append(toks, token{kind: tEOF, line: line, col: col})
	return toks, nil
}

func recognitionError(rest string, line, col int) error {
	r, _ := utf8.DecodeRuneInString(rest)
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf("token recognition error at: '%c'", r)}
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// lexString returns the length of the string literal at the start of s (quotes included).
func lexString(s string) (int, error) {
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(s) {
				return 0, fmt.Errorf("token recognition error at: '%s'", s[:i+1])
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return 0, fmt.Errorf("token recognition error at: '%s'", s[:min(i+2, len(s))])
				}
				i += 6
			default:
				return 0, fmt.Errorf("token recognition error at: '%s'", s[:i+2])
			}
		case c < 0x20:
			return 0, fmt.Errorf("token recognition error at: '%s'", s[:i+1])
		default:
			i++
		}
	}
	return 0, fmt.Errorf("token recognition error at: '%s'", s)
}

// lexNumber returns the length of the longest NUMBER at the start of s, or 0:
// '-'? INT ('.' DIGIT+)? (('e'|'E') ('+'|'-')? INT)? with INT = '0' | [1-9] DIGIT*.
func lexNumber(s string) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	n := lexInt(s[i:])
	if n == 0 {
		return 0
	}
	i += n
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if m := lexInt(s[j:]); m > 0 {
			i = j + m
		}
	}
	return i
}

func lexInt(s string) int {
	if len(s) == 0 || !isDigit(s[0]) {
		return 0
	}
	if s[0] == '0' {
		return 1
	}
	i := 1
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
