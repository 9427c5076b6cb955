package jsonpath2

import (
	"strings"
	"unicode/utf8"
)

// tokKind is a token type of the jsonpath2 grammar (as the Python jsonpath2 library v0.4.5 tokenises it).
type tokKind uint8

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

// kindNames are the names ANTLR's messages give the token types.
var kindNames = [...]string{
	tEOF: "<EOF>", tCurrent: "'@'", tRecursive: "'..'", tRoot: "'$'", tDot: "'.'",
	tWildcard: "'*'", tAnd: "'and'", tEq: "'='", tGe: "'>='", tGt: "'>'", tLe: "'<='",
	tLt: "'<'", tNe: "'!='", tNot: "'not'", tOr: "'or'", tTrue: "'true'", tFalse: "'false'",
	tNull: "'null'", tLBrace: "'{'", tRBrace: "'}'", tLBracket: "'['", tRBracket: "']'",
	tColon: "':'", tComma: "','", tLParen: "'('", tRParen: "')'", tQuestion: "'?'",
	tID: "ID", tString: "STRING", tNumber: "NUMBER",
}

// keywords are matched before ID when the whole word is the keyword ("and" is AND, "andx"
// and "And" are IDs). "contains" is not one: it is an operator only after v0.4.5.
var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "true": tTrue, "false": tFalse, "null": tNull,
}

// punctuation maps the one-character tokens.
var punctuation = [128]tokKind{
	'@': tCurrent, '$': tRoot, '*': tWildcard, '=': tEq, '{': tLBrace, '}': tRBrace,
	'[': tLBracket, ']': tRBracket, ':': tColon, ',': tComma, '(': tLParen, ')': tRParen,
	'?': tQuestion,
}

// token is a lexeme and where it starts: line 1-based, column 0-based in characters, as
// the ANTLR runtime counts them.
type token struct {
	kind tokKind
	text string
	line int
	col  int
}

// display is the token as ANTLR's messages quote it.
func (t token) display() string { return "'" + escapeWS(t.text) + "'" }

// escapeWS writes line breaks and tabs visibly, as ANTLR does in messages.
func escapeWS(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

// lexer produces tokens one at a time, on demand: the parser of the Python library pulls
// tokens lazily, so a lexer error later in the text only wins over a syntax error when the
// parser has looked that far.
type lexer struct {
	src       string
	pos       int
	line, col int
}

// next returns the next token, skipping white space, or the *SyntaxError of a character
// sequence that starts no token.
func (lx *lexer) next() (token, error) {
	for lx.pos < len(lx.src) {
		switch lx.src[lx.pos] {
		case ' ', '\t', '\r', '\n':
			lx.advance(1)
			continue
		}
		break
	}
	if lx.pos >= len(lx.src) {
		return token{kind: tEOF, text: "<EOF>", line: lx.line, col: lx.col}, nil
	}
	s := lx.src[lx.pos:]
	c := s[0]
	kind, n := tEOF, 0
	switch {
	case c < utf8.RuneSelf && punctuation[c] != tEOF:
		kind, n = punctuation[c], 1
	case c == '.':
		kind, n = tDot, 1
		if len(s) > 1 && s[1] == '.' {
			kind, n = tRecursive, 2
		}
	case c == '>' || c == '<':
		kind, n = tGt, 1
		if c == '<' {
			kind = tLt
		}
		if len(s) > 1 && s[1] == '=' {
			kind, n = kind-1, 2 // tGe precedes tGt, tLe precedes tLt
		}
	case c == '!':
		if len(s) > 1 && s[1] == '=' {
			kind, n = tNe, 2
		} else {
			return token{}, lx.fail(1 + runeLen(s[1:]))
		}
	case c == '_' || isAlpha(c):
		n = 1
		for n < len(s) && (s[n] == '_' || isAlpha(s[n]) || isDigit(s[n])) {
			n++
		}
		var ok bool
		if kind, ok = keywords[s[:n]]; !ok {
			kind = tID
		}
	case c == '"':
		var bad int
		if n, bad = lexString(s); n == 0 {
			return token{}, lx.fail(bad)
		}
		kind = tString
	case c == '-' || isDigit(c):
		var bad int
		if n, bad = lexNumber(s); n == 0 {
			return token{}, lx.fail(bad)
		}
		kind = tNumber
	default:
		_, w := utf8.DecodeRuneInString(s)
		return token{}, lx.fail(w)
	}
	t := token{kind: kind, text: s[:n], line: lx.line, col: lx.col}
	lx.advance(n)
	return t, nil
}

// advance moves past n bytes, counting lines and characters.
func (lx *lexer) advance(n int) {
	for _, r := range lx.src[lx.pos : lx.pos+n] {
		if r == '\n' {
			lx.line++
			lx.col = 0
		} else {
			lx.col++
		}
	}
	lx.pos += n
}

// fail is ANTLR's "token recognition error": the text from the token's start through the
// character that could not continue it (n bytes), reported at the token's start.
func (lx *lexer) fail(n int) error {
	n = min(n, len(lx.src)-lx.pos)
	return &SyntaxError{Line: lx.line, Column: lx.col,
		Msg: "token recognition error at: '" + escapeWS(lx.src[lx.pos:lx.pos+n]) + "'"}
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || ((c|0x20) >= 'a' && (c|0x20) <= 'f') }

// lexString returns the length of the string literal at the start of s, quotes included,
// or 0 and the length of the text through the offending character.
func lexString(s string) (n, bad int) {
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, 0
		case c == '\\':
			if i+1 >= len(s) {
				return 0, len(s)
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				j := i + 2
				for ; j < i+6; j++ {
					if j >= len(s) {
						return 0, len(s)
					}
					if !isHex(s[j]) {
						return 0, j + runeLen(s[j:])
					}
				}
				i = j
			default:
				return 0, i + 1 + runeLen(s[i+1:])
			}
		case c < 0x20:
			return 0, i + 1
		default:
			i++
		}
	}
	return 0, len(s)
}

func runeLen(s string) int {
	_, w := utf8.DecodeRuneInString(s)
	return w
}

// lexNumber returns the length of the longest NUMBER at the start of s:
// '-'? INT ('.' DIGIT+)? (('e'|'E') ('+'|'-')? INT)? with INT = '0' | [1-9] DIGIT*.
// Like ANTLR it falls back to the longest complete number ("1." lexes "1", then "."). When
// no number starts here it returns 0 and the length through the offending character.
func lexNumber(s string) (n, bad int) {
	i := 0
	if s[0] == '-' {
		i++
	}
	m := lexInt(s[i:])
	if m == 0 {
		if i < len(s) {
			return 0, i + runeLen(s[i:])
		}
		return 0, i
	}
	i += m
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
	return i, 0
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
