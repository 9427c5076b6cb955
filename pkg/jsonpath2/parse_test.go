package jsonpath2

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The expressions the Python library rejects, with the position and message of its
// ValueError ("line L:C msg"). Positions are ANTLR's: the offending token, the start of
// the text a lexer error could not read, or for a non-integer index the token after it.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr string
		line, col  int
		msg        string // a part of the message
	}{
		{"empty", ``, 1, 0, `mismatched input '<EOF>' expecting '$'`},
		{"x07: must start with $", `@.a`, 1, 0, `mismatched input '@' expecting '$'`},
		{"x06: no single-quoted strings", `$['a']`, 1, 2, `token recognition error at: '''`},
		{"g12: no plus sign", `$[+1]`, 1, 2, `token recognition error at: '+'`},
		{"g13: IDs are ASCII", `$.é`, 1, 2, `token recognition error at: 'é'`},
		{"x23: unknown escape", `$["\q"]`, 1, 2, `token recognition error at: '"\q'`},
		{"short unicode escape", `$["\u12G4"]`, 1, 2, `token recognition error at: '"\u12G'`},
		{"control character in a string", "$[\"a\tb\"]", 1, 2, `token recognition error at: '"a\t'`},
		{"unterminated string", `$["a]`, 1, 2, `token recognition error at: '"a]'`},
		{"== is two =", `$[?(@.a == 1)]`, 1, 9, `extraneous input '='`},
		{"&& is no operator", `$[?(@.a && @.b)]`, 1, 8, `token recognition error at: '&'`},
		{"! alone", `$[?(!@.a)]`, 1, 4, `token recognition error at: '!@'`},
		{"|| is no operator", `$[?(@.a || @.b)]`, 1, 8, `token recognition error at: '|'`},
		{"no regex operator", `$[?(@.a =~ "x")]`, 1, 9, `token recognition error at: '~'`},
		{"minus alone", `$[?(@ = -)]`, 1, 8, `token recognition error at: '-)'`},
		{"[] is empty", `$[]`, 1, 2, `mismatched input ']' expecting`},
		{"bare word in brackets", `$[foo]`, 1, 5, `mismatched input ']' expecting '('`},
		{"float index: reported after the number", `$[1.5]`, 1, 5, `rule subscriptable failed predicate`},
		{"exponent index", `$[1e2]`, 1, 5, `rule subscriptable failed predicate`},
		{"float slice start", `$[1.0:2]`, 1, 5, `rule subscriptable failed predicate`},
		{"float slice end", `$[1:2.5]`, 1, 7, `rule sliceable failed predicate`},
		{"float slice step", `$[::1e1]`, 1, 7, `rule sliceable failed predicate`},
		{"unknown function", `$.foo()`, 1, 2, `callable subscript 'foo' not found`},
		{"unknown function in brackets", `$[?(@.a)][count()]`, 1, 10, `callable subscript 'count' not found`},
		{"function names are case-sensitive", `$.Length()`, 1, 2, `callable subscript 'Length' not found`},
		{"the innermost unknown function first", `$.foo(@.bar())`, 1, 8, `callable subscript 'bar' not found`},
		{"$.. alone", `$..`, 1, 3, `mismatched input '<EOF>' expecting {'*', '[', ID}`},
		{"three dots", `$...a`, 1, 3, `extraneous input '.' expecting {'*', '[', ID}`},
		{"dot then number", `$.0`, 1, 2, `mismatched input '0'`},
		{"comparisons do not chain", `$[?(@.a = 1 = 2)]`, 1, 12, `mismatched input '=' expecting ')'`},
		{"a parenthesised expression is no operand", `$[?((@.a) = 1)]`, 1, 10, `mismatched input '='`},
		{"keyword as a key", `$.and`, 1, 2, `mismatched input 'and'`},
		{"trailing token", `$.a b`, 1, 4, `extraneous input 'b' expecting <EOF>`},
		{"trailing token after $", `$ b`, 1, 2, `extraneous input 'b' expecting {<EOF>, '..', '.', '['}`},
		{"trailing bracket", `$[?(@.a = 1)]]`, 1, 13, `extraneous input ']' expecting <EOF>`},
		{"no leading zeros", `$[01]`, 1, 3, `extraneous input '1' expecting {']', ','}`},
		{"no leading zeros in exponents", `$[?(@ = 1e05)]`, 1, 11, `extraneous input '5'`},
		{"error on the second line", "$[?(@.a\n = = 1)]", 2, 3, `extraneous input '='`},
		{"columns count characters", `$[?(@.é)]`, 1, 6, `token recognition error at: 'é'`},
		{"contains is no operator in v0.4.5", `$[?(@.a contains "x")]`, 1, 8, `mismatched input 'contains' expecting ')'`},
		{"filter needs parentheses", `$[?@.a]`, 1, 3, `mismatched input '@' expecting '('`},
		{"unclosed filter", `$[?(@.a`, 1, 7, `mismatched input '<EOF>' expecting ')'`},
		{"unclosed brackets", `$["a"`, 1, 5, `mismatched input '<EOF>' expecting {']', ','}`},
		{"empty filter", `$[?()]`, 1, 4, `mismatched input ')' expecting`},
		{"dangling and", `$[?(@.a and)]`, 1, 11, `mismatched input ')' expecting`},
		{"object literal: bad first token", `$[?(@ = {1})]`, 1, 9, `no viable alternative at input '{1'`},
		{"object literal: key must be a string", `$[?(@ = {"a":1, b:2})]`, 1, 16, `mismatched input 'b' expecting STRING`},
		{"object literal: missing colon", `$[?(@ = {"a" 1})]`, 1, 13, `mismatched input '1' expecting ':'`},
		{"array literal: leading comma", `$[?(@ = [,1])]`, 1, 9, `no viable alternative at input '[,'`},
		{"array literal: trailing comma", `$[?(@ = [1,])]`, 1, 11, `mismatched input ']' expecting`},
		{"array literal: paths are not values", `$[?(@ = [@.a])]`, 1, 9, `no viable alternative at input '[@'`},
		{"arguments: trailing comma", `$.substring(1,)`, 1, 14, `mismatched input ')' expecting`},
		{"arguments: unclosed", `$.substring(1`, 1, 13, `mismatched input '<EOF>' expecting {',', ')'}`},
		{"a lexer error after a parser error wins when ANTLR looked ahead", `@ é`, 1, 2, `token recognition error at: 'é'`},
		{"a lexer error later does not", `@.a é`, 1, 0, `mismatched input '@' expecting '$'`},
		{"a lexer error wins over an unknown function", `$.foo() é`, 1, 8, `token recognition error`},
		{"a syntax error wins over an unknown function", `$.foo() ]`, 1, 8, `extraneous input ']'`},
		// The brackets and the filter's expression take two levels, so the 511th "[" is too deep.
		{"nesting deeper than MaxDepth", `$[?(@ = ` + strings.Repeat("[", MaxDepth) + `1` + strings.Repeat("]", MaxDepth) + `)]`,
			1, len(`$[?(@ = `) + MaxDepth - 2, `nesting deeper than 512`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tc.expr, p, err)
			}
			if se.Line != tc.line || se.Column != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q): %v\nwant line %d:%d …%s…", tc.expr, err, tc.line, tc.col, tc.msg)
			}
			if want := fmt.Sprintf("line %d:%d %s", se.Line, se.Column, se.Msg); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`$`, `$.a.b`, `$["a"]["b"]`, `$[0,1,"x",*]`, `$[-0]`, `$[1:]`, `$[:-1]`, `$[1::2]`, `$[::]`,
		`$[:]`, `$[::0]`, `$[?(@)]`, `$[?($)]`, `$[?(@.a = {"k": [1, 2.5e-3, true, false, null, {}]})]`,
		`$[length()]`, `$.a.length()`, `$[?(@.x.substring(0, @.n) = "ab")]`,
		`$[12345678901234567890123]`, `$[?(@["a"] != -1.5E+10)]`, `$[?(not (@.a or @.b))]`,
		`$..[0]`, `$..*`, `$..a`, `$..length()`, `$[$.a, @.b]`, `$[?(1 = 1.0)]`, `$[?({} = [])]`,
		`$[?(@ = "\"\\\/\b\f\n\r\t\u00e9")]`, `$["é"]`, `$._x9`, `$.contains`, `$.keys()[*]`,
		"$\n.\ta", `$[?(@.a<1 and @.b>=2 or @.c<=3 and @.d>4 and @.e!=5)]`, `$[?(@ = 1e5)]`,
		`$[?(@ = -0.5e-7)]`, `$[?(true)]`, `$[?(null)]`, `$[?("x")]`, `$[?([1,[2,[3]]])]`,
		`$[entries(), keys(), values()]`, `$.charAt(-1)`, `$[?(@ = {"a":1,"a":2})]`,
	} {
		p, err := Parse(expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			continue
		}
		if p.String() != expr {
			t.Errorf("String() = %q, want %q", p.String(), expr)
		}
	}
}

func TestMustParse(t *testing.T) {
	t.Parallel()
	if p := MustParse(`$.a`); p.String() != `$.a` {
		t.Errorf("MustParse(`$.a`).String() = %q", p.String())
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "line 1:0") {
			t.Errorf("MustParse of a bad expression: panic %v, want one naming the error", r)
		}
	}()
	MustParse(`@`)
}

// Nesting up to MaxDepth parses; chains of that many subscripts too.
func TestParseDeepButWithinLimits(t *testing.T) {
	t.Parallel()
	nested := `$` + strings.Repeat(`[?(@`, 100) + strings.Repeat(`)]`, 100)
	chain := `$` + strings.Repeat(`.a`, MaxDepth)
	literal := `$[?(@ = ` + strings.Repeat("[", MaxDepth-10) + strings.Repeat("]", MaxDepth-10) + `)]`
	for _, expr := range []string{nested, chain, literal} {
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%.40q…): %v", expr, err)
		}
	}
	if _, err := Parse(`$` + strings.Repeat(`.a`, MaxDepth+2)); err == nil {
		t.Error("a chain longer than MaxDepth parsed")
	}
}
