package jsonpath2

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// The semantics of the Python jsonpath2 library (v0.4.5), each as the expression, the document, and the matches the
// Python library v0.4.5 gives.
func TestMatchSemantics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, doc, want string
	}{
		// §2.1 nodes
		{"$ alone yields the root", `$`, `{"a":1}`, `[{"a":1}]`},
		{"$ alone yields a null root", `$`, `null`, `[null]`},
		{"chain runs depth-first", `$[*][*]`, `[[1,2],[3]]`, `[1,2,3]`},
		{"union emits each member in turn", `$["b","a"]`, `{"a":1,"b":2}`, `[2,1]`},
		{"union member followed by the rest of the chain", `$["a","b"].c`, `{"a":{"c":1},"b":{"c":2}}`, `[1,2]`},
		{"union of index, key and wildcard", `$[1,0,*]`, `[7,8]`, `[8,7,7,8]`},
		{"union keeps duplicates", `$["a","a"]`, `{"a":1}`, `[1,1]`},
		{"$ inside a filter is the root", `$.x[?(@.k = $.want)]`, `{"want":2,"x":{"k":2}}`, `[{"k":2}]`},
		{"$ deep inside filters is still the root", `$.a[?(@.b[?($.c = 1)])]`, `{"a":{"b":{}},"c":1}`, `[{"b":{}}]`},

		// §2.2 object index
		{"key", `$.a`, `{"a":1}`, `[1]`},
		{"bracket key is the same", `$["a"]`, `{"a":1}`, `[1]`},
		{"key holding null", `$["a"]`, `{"a":null}`, `[null]`},
		{"missing key", `$.b`, `{"a":1}`, `[]`},
		{"key on an array", `$.a`, `[1]`, `[]`},
		{"key on a string", `$.a`, `"a"`, `[]`},
		{"keyword-like ID is a key", `$.contains`, `{"contains":1}`, `[1]`},
		{"key text is raw: escaped quote", `$["a\"b"]`, `{"a\\\"b":1}`, `[1]`},
		{"key text is raw: \\u0041 is not A", `$["\u0041"]`, `{"A":1,"\\u0041":2}`, `[2]`},

		// §2.2 array index
		{"index", `$[1]`, `[1,2,3]`, `[2]`},
		{"negative index", `$[-1]`, `[1,2,3]`, `[3]`},
		{"negative index wraps once only", `$[-4]`, `[1,2,3]`, `[]`},
		{"index past the end", `$[3]`, `[1,2,3]`, `[]`},
		{"minus zero is zero", `$[-0]`, `[1,2,3]`, `[1]`},
		{"huge index", `$[99999999999999999999]`, `[1,2,3]`, `[]`},
		{"huge negative index", `$[-99999999999999999999]`, `[1,2,3]`, `[]`},
		{"index on an object", `$[0]`, `{"0":1}`, `[]`},
		{"index on a string", `$[0]`, `"abc"`, `[]`},

		// §2.2 wildcard
		{"wildcard: object values in document key order", `$.*`, `{"b":1,"a":2}`, `[1,2]`},
		{"wildcard: array elements", `$[*]`, `[1,[2],{"a":3}]`, `[1,[2],{"a":3}]`},
		{"wildcard: strings are not iterated", `$[*]`, `"abc"`, `[]`},
		{"wildcard: scalars yield nothing", `$.*`, `1`, `[]`},
		{"duplicate key: last value at the first position", `$.*`, `{"a":1,"b":2,"a":3}`, `[3,2]`},

		// §2.2 slices
		{"slice", `$[1:3]`, `[0,1,2,3,4]`, `[1,2]`},
		{"slice without start", `$[:2]`, `[0,1,2,3,4]`, `[0,1]`},
		{"slice without end", `$[3:]`, `[0,1,2,3,4]`, `[3,4]`},
		{"slice step", `$[::2]`, `[0,1,2,3,4]`, `[0,2,4]`},
		{"slice start and step", `$[1::2]`, `[0,1,2,3,4]`, `[1,3]`},
		{"slice all", `$[:]`, `[0,1,2]`, `[0,1,2]`},
		{"slice all with empty step", `$[::]`, `[0,1,2]`, `[0,1,2]`},
		{"negative end", `$[:-1]`, `[0,1,2,3,4]`, `[0,1,2,3]`},
		{"negative start", `$[-2:]`, `[0,1,2,3,4]`, `[3,4]`},
		{"[::-1] is empty (range(0, n, -1))", `$[::-1]`, `[0,1,2,3,4]`, `[]`},
		{"[1::-1] is empty (the end defaults to n)", `$[1::-1]`, `[0,1,2,3,4]`, `[]`},
		{"[2:-9:-1] wraps negative indices again", `$[2:-9:-1]`, `[0,1,2,3,4]`, `[2,1,0,4,3,2]`},
		{"[3:-9:-2]", `$[3:-9:-2]`, `[0,1,2,3,4]`, `[3,1,4,2]`},
		{"[3:0:-1]", `$[3:0:-1]`, `[0,1,2,3,4]`, `[3,2,1]`},
		{"[3:-6:-1] stops before -1", `$[3:-6:-1]`, `[0,1,2,3,4]`, `[3,2,1,0]`},
		{"negative start below -n becomes 0", `$[-9:2]`, `[0,1,2,3,4]`, `[0,1]`},
		{"negative end below -n: empty ascending", `$[0:-9]`, `[0,1,2,3,4]`, `[]`},
		{"huge end", `$[1:99999999999999999999]`, `[0,1,2]`, `[1,2]`},
		{"huge start descending", `$[99999999999999999999:0:-2]`, `[0,1,2,3,4]`, `[3,1]`},
		{"huge step", `$[::99999999999999999999]`, `[0,1,2]`, `[0]`},
		{"slice of an empty array", `$[1:]`, `[]`, `[]`},
		{"slice on an object", `$[0:1]`, `{"a":1}`, `[]`},
		{"slice on a string", `$[0:1]`, `"abc"`, `[]`},
		{"zero step on a non-array is no error", `$[::0]`, `"abc"`, `[]`},

		// §2.2 filters test the node itself and never iterate
		{"filter on an object tests the object", `$[?(@.a = 1)]`, `{"a":1}`, `[{"a":1}]`},
		{"filter on an array tests the array", `$[?(@.a = 1)]`, `[{"a":1}]`, `[]`},
		{"filter on an array can test the array", `$[?(@[0] = 1)]`, `[1,2]`, `[[1,2]]`},
		{"filter after wildcard tests the elements", `$[*][?(@.a = 1)]`, `[{"a":1},{"a":2}]`, `[{"a":1}]`},
		{"filter after wildcard tests object values", `$.data[*][?(@.k = 1)]`, `{"data":{"x":{"k":1},"y":{"k":2}}}`, `[{"k":1}]`},
		{"filter on a data list without [*] tests the list", `$["data"][?(@["k"] = 1)]`, `{"data":[{"k":1}]}`, `[]`},
		{"filter on a scalar", `$[?(@ = 3)]`, `3`, `[3]`},
		{"filter on null with $", `$[?($)]`, `null`, `[null]`},
		{"filter on false with @", `$[?(@)]`, `false`, `[false]`},
		{"filter yields the node once", `$[?(@.a[*] = 1)]`, `{"a":[1,1,1]}`, `[{"a":[1,1,1]}]`},

		// §2.2 [$…] and [@…] subscripts
		{"path subscript: string is a key", `$[$.k]`, `{"k":"a","a":5}`, `[5]`},
		{"path subscript: int is an index", `$.arr[$.i]`, `{"i":1,"arr":[7,8]}`, `[8]`},
		{"path subscript: negative int", `$.arr[$.i]`, `{"i":-1,"arr":[7,8]}`, `[8]`},
		{"path subscript: true is 1", `$.arr[$.b]`, `{"b":true,"arr":[7,8]}`, `[8]`},
		{"path subscript: false is 0", `$.arr[$.b]`, `{"b":false,"arr":[7,8]}`, `[7]`},
		{"path subscript: a float is skipped", `$.arr[$.f]`, `{"f":1.0,"arr":[7,8]}`, `[]`},
		{"path subscript: null, arrays and objects are skipped", `$.arr[$.x[*]]`, `{"x":[null,[0],{}],"arr":[7,8]}`, `[]`},
		{"path subscript: string on an array is nothing", `$.arr[$.k]`, `{"k":"0","arr":[7,8]}`, `[]`},
		{"path subscript: int on an object is nothing", `$.o[$.i]`, `{"i":0,"o":{"0":1}}`, `[]`},
		{"path subscript: every value, in order", `$.arr[$.i[*]]`, `{"i":[1,0,1],"arr":[7,8]}`, `[8,7,8]`},
		{"path subscript from @", `$[*][@.k]`, `[{"k":"v","v":3}]`, `[3]`},

		// §2.2 recursive descent
		{"..* is pre-order from the start node", `$..*`, `{"a":{"b":1},"c":[2,{"d":3}]}`, `[{"b":1},[2,{"d":3}],1,2,{"d":3},3]`},
		{"..key", `$..a`, `{"a":1,"b":{"a":2,"c":[{"a":3}]}}`, `[1,2,3]`},
		{"..key includes the start node's own key first", `$..a`, `{"b":{"a":2},"a":1}`, `[1,2]`},
		{"..[?()] tests every node, the root included", `$..[?(@.a)]`, `{"a":1,"b":{"a":2}}`, `[{"a":1,"b":{"a":2}},{"a":2}]`},
		{"..a..b", `$..a..b`, `{"a":{"x":{"b":1}}}`, `[1]`},
		{"..[0]", `$..[0]`, `[[1,[2]],3]`, `[[1,[2]],1,2]`},
		{"@.. inside a filter", `$[?(@..b = 2)]`, `{"a":{"b":2}}`, `[{"a":{"b":2}}]`},
		{"descent on a scalar", `$..*`, `1`, `[]`},

		// §2.3 functions
		{"length of an array", `$.length()`, `[1,2,3]`, `[3]`},
		{"length of a string in code points", `$.length()`, `"héllo"`, `[5]`},
		{"length of an astral string", `$.length()`, `"😀"`, `[1]`},
		{"length of an object is nothing", `$.length()`, `{"a":1}`, `[]`},
		{"length of a number is nothing", `$.length()`, `12`, `[]`},
		{"length with an argument is nothing", `$.length(1)`, `[1]`, `[]`},
		{"bracket call", `$[length()]`, `"ab"`, `[2]`},
		{"keys of an object", `$.keys()`, `{"b":1,"a":2}`, `[["b","a"]]`},
		{"keys of an array", `$.keys()`, `["x","y"]`, `[[0,1]]`},
		{"values of an object", `$.values()`, `{"b":1,"a":2}`, `[[1,2]]`},
		{"values of an array is the array", `$.values()`, `[1]`, `[[1]]`},
		{"entries of an object", `$.entries()`, `{"a":1,"b":[2]}`, `[[["a",1],["b",[2]]]]`},
		{"entries of an array", `$[entries()]`, `[5]`, `[[[0,5]]]`},
		{"charAt", `$.charAt(1)`, `"hello"`, `["e"]`},
		{"charAt counts code points", `$.charAt(1)`, `"héllo"`, `["é"]`},
		{"charAt negative", `$.charAt(-1)`, `"hello"`, `["o"]`},
		{"charAt out of range", `$.charAt(9)`, `"hello"`, `[]`},
		{"charAt below the start", `$.charAt(-6)`, `"hello"`, `[]`},
		{"charAt of a bool index", `$.charAt(true)`, `"hello"`, `["e"]`},
		{"charAt with a string argument", `$.charAt("1")`, `"hello"`, `[]`},
		{"charAt with a float argument", `$.charAt(1.0)`, `"hello"`, `[]`},
		{"charAt with two arguments", `$.charAt(1,2)`, `"hello"`, `[]`},
		{"charAt on a number", `$.charAt(0)`, `12`, `[]`},
		{"substring(-3) is Python slicing", `$.substring(-3)`, `"hello"`, `["llo"]`},
		{"substring(1,3)", `$.substring(1,3)`, `"hello"`, `["el"]`},
		{"substring clamps", `$.substring(2,99)`, `"hello"`, `["llo"]`},
		{"substring negative end", `$.substring(0,-1)`, `"inputs/"`, `["inputs"]`},
		{"substring crossing bounds is empty", `$.substring(3,1)`, `"hello"`, `[""]`},
		{"substring of a huge bound", `$.substring(-99999999999999999999)`, `"hello"`, `["hello"]`},
		{"substring with a string argument", `$.substring(1,"x")`, `"hello"`, `[]`},
		{"substring without arguments", `$.substring()`, `"hello"`, `[]`},
		{"arguments are a cartesian product", `$.s.charAt($.i[*])`, `{"s":"abc","i":[0,2]}`, `["a","c"]`},
		{"cartesian product of two paths", `$.s.substring($.a[*], $.b[*])`, `{"s":"abcd","a":[0,1],"b":[2,3]}`, `["ab","abc","b","bc"]`},
		{"argument path with no value: no call", `$.s.charAt($.none)`, `{"s":"abc"}`, `[]`},
		{"argument from @ is the call site's current value", `$.s[charAt(@.length())]`, `{"s":"abc"}`, `[]`},
		{"results are subscripted further", `$.keys()[0]`, `{"x":1}`, `["x"]`},
		{"results in filters", `$[?(@.length() = 2)]`, `[1,2]`, `[[1,2]]`},

		// §2.4 existence
		{"existence: empty string counts", `$[?(@.a)]`, `{"a":""}`, `[{"a":""}]`},
		{"existence: zero counts", `$[?(@.a)]`, `{"a":0}`, `[{"a":0}]`},
		{"existence: false counts", `$[?(@.a)]`, `{"a":false}`, `[{"a":false}]`},
		{"existence: null counts", `$[?(@.a)]`, `{"a":null}`, `[{"a":null}]`},
		{"existence: empty containers count", `$[?(@.a and @.b)]`, `{"a":[],"b":{}}`, `[{"a":[],"b":{}}]`},
		{"existence: missing key", `$[?(@.a)]`, `{"b":1}`, `[]`},
		{"literal truthiness: 0", `$[?(0)]`, `1`, `[]`},
		{"literal truthiness: -0", `$[?(-0)]`, `1`, `[]`},
		{"literal truthiness: 0.0", `$[?(0.0)]`, `1`, `[]`},
		{"literal truthiness: 0e5", `$[?(0e5)]`, `1`, `[]`},
		{"literal truthiness: 1", `$[?(1)]`, `1`, `[1]`},
		{"literal truthiness: empty string", `$[?("")]`, `1`, `[]`},
		{"literal truthiness: \"0\"", `$[?("0")]`, `1`, `[1]`},
		{"literal truthiness: []", `$[?([])]`, `1`, `[]`},
		{"literal truthiness: [0]", `$[?([0])]`, `1`, `[1]`},
		{"literal truthiness: {}", `$[?({})]`, `1`, `[]`},
		{"literal truthiness: object", `$[?({"a":0})]`, `1`, `[1]`},
		{"literal truthiness: null", `$[?(null)]`, `1`, `[]`},
		{"literal truthiness: false", `$[?(false)]`, `1`, `[]`},
		{"literal truthiness: true", `$[?(true)]`, `1`, `[1]`},

		// §2.4 comparisons: any pair, empty sides, the first-left quirk
		{"any pair with a literal", `$[?(@.a[*] = 3)]`, `{"a":[1,2,3]}`, `[{"a":[1,2,3]}]`},
		{"first-left quirk: later left values are not compared", `$[?($["a"][*] = $["b"][*])]`, `{"a":[1,2,3],"b":[3]}`, `[]`},
		{"first-left quirk: the reverse matches", `$[?($["b"][*] = $["a"][*])]`, `{"a":[1,2,3],"b":[3]}`, `[{"a":[1,2,3],"b":[3]}]`},
		{"first-left quirk: first by key order (no match)", `$[?(@.o.* = @.t)]`, `{"o":{"x":1,"y":2},"t":2}`, `[]`},
		{"first-left quirk: first by key order (match)", `$[?(@.o.* = @.t)]`, `{"o":{"y":2,"x":1},"t":2}`, `[{"o":{"y":2,"x":1},"t":2}]`},
		{"first-left quirk with !=", `$[?(@.a[*] != @.b)]`, `{"a":[1,2],"b":1}`, `[]`},
		{"a right path is searched fully for the first left value", `$[?(@.n = @.names[*])]`, `{"n":"c","names":["a","b","c"]}`, `[{"n":"c","names":["a","b","c"]}]`},
		{"literal on the left, path on the right", `$[?(3 = @[*])]`, `[1,2,3]`, `[[1,2,3]]`},
		{"empty side makes != false", `$[?(@.missing != "x")]`, `{"a":1}`, `[]`},
		{"not of = on a missing key is true", `$[?(not @.missing = "x")]`, `{"a":1}`, `[{"a":1}]`},
		{"both sides missing is false", `$[?(@.a = @.b)]`, `{}`, `[]`},
		{"empty right side is false", `$[?(1 = @.b)]`, `{}`, `[]`},
		{"!= pair by pair", `$[?(@.a[*] != 1)]`, `{"a":[1,2]}`, `[{"a":[1,2]}]`},
		{"!= all equal", `$[?(@.a[*] != 1)]`, `{"a":[1,1]}`, `[]`},

		// §2.4 equality
		{"no string/number coercion", `$[?(@.a = 1)]`, `{"a":"1"}`, `[]`},
		{"no number/string coercion", `$[?(@.a = "1")]`, `{"a":1}`, `[]`},
		{"exact big ints: 2^53+1 is not 2^53", `$[?(@.a = 9007199254740992)]`, `{"a":9007199254740993}`, `[]`},
		{"exact big ints: equal", `$[?(@.a = 9007199254740993)]`, `{"a":9007199254740993}`, `[{"a":9007199254740993}]`},
		{"exact: int versus the float it rounds to", `$[?(@.a = 9007199254740992.0)]`, `{"a":9007199254740993}`, `[]`},
		{"exact: huge ints", `$[?(@.a = 123456789012345678901234567890)]`, `{"a":123456789012345678901234567890}`, `[{"a":123456789012345678901234567890}]`},
		{"int equals float", `$[?(1 = 1.0)]`, `1`, `[1]`},
		{"float text forms", `$[?(@.a = 100)]`, `{"a":1e2}`, `[{"a":1e2}]`},
		{"minus zero float equals zero", `$[?(@.a = 0)]`, `{"a":-0.0}`, `[{"a":-0.0}]`},
		{"0.1 is the double nearest 0.1", `$[?(@.a = 0.1)]`, `{"a":0.10000000000000001}`, `[{"a":0.10000000000000001}]`},
		{"true = 1", `$[?(@.a = 1)]`, `{"a":true}`, `[{"a":true}]`},
		{"1 = true", `$[?(@.a = true)]`, `{"a":1}`, `[{"a":1}]`},
		{"false = 0", `$[?(@.a = 0)]`, `{"a":false}`, `[{"a":false}]`},
		{"true = 1.0", `$[?(true = 1.0)]`, `1`, `[1]`},
		{"true is not the string True", `$[?(@.a = "True")]`, `{"a":true}`, `[]`},
		{"null equals null", `$[?(@.a = null)]`, `{"a":null}`, `[{"a":null}]`},
		{"null is not false", `$[?(@.a = false)]`, `{"a":null}`, `[]`},
		{"null is not 0", `$[?(@.a = 0)]`, `{"a":null}`, `[]`},
		{"strings are case-sensitive", `$[?(@.a = "abc")]`, `{"a":"ABC"}`, `[]`},
		{"strings compare by code points", `$[?(@.a = "é")]`, `{"a":"\u00e9"}`, `[{"a":"é"}]`},
		{"string literals are raw", `$[?(@.a = "a\"b")]`, `{"a":"a\"b"}`, `[]`},
		{"raw literal matches the raw text", `$[?(@.a = "a\\b")]`, `{"a":"a\\\\b"}`, `[{"a":"a\\\\b"}]`},
		{"literal \\n is a backslash and an n", `$[*][?(@ = "a\nb")]`, `["a\nb","a\\nb"]`, `["a\\nb"]`},
		{"literal \\u0041 is six characters", `$[*][?(@ = "\u0041")]`, `["A","\\u0041"]`, `["\\u0041"]`},
		{"key \\/ keeps its backslash", `$["a\/b"]`, `{"a/b":1,"a\\/b":2}`, `[2]`},
		{"keys of object literals are raw", `$[?(@ = {"a\"b": 1})]`, `{"a\\\"b":1}`, `[{"a\\\"b":1}]`},
		{"duplicate keys of object literals: the last value", `$[?(@ = {"a": 1, "a": 2})]`, `{"a":2}`, `[{"a":2}]`},
		{"array equality", `$[?(@.a = [1,2])]`, `{"a":[1,2]}`, `[{"a":[1,2]}]`},
		{"array equality needs the same length", `$[?(@.a = [1])]`, `{"a":[1,2]}`, `[]`},
		{"array equality is element-wise ==", `$[?(@.a = [1,true,1.0])]`, `{"a":[1,1,1]}`, `[{"a":[1,1,1]}]`},
		{"object equality ignores key order", `$[?(@.a = {"y":2,"x":1})]`, `{"a":{"x":1,"y":2}}`, `[{"a":{"x":1,"y":2}}]`},
		{"object equality needs the same key set", `$[?(@.a = {"x":1})]`, `{"a":{"x":1,"y":2}}`, `[]`},
		{"nested structures", `$[?(@.a = [{"k":[1,{"z":null}]}])]`, `{"a":[{"k":[1.0,{"z":null}]}]}`, `[{"a":[{"k":[1.0,{"z":null}]}]}]`},
		{"array is not an object", `$[?(@.a = {})]`, `{"a":[]}`, `[]`},
		{"two paths", `$[?(@.a = @.b)]`, `{"a":"x","b":"x"}`, `[{"a":"x","b":"x"}]`},

		// §2.4 ordering
		{"less than", `$[*][?(@ < 2)]`, `[1,2,3]`, `[1]`},
		{"less or equal", `$[*][?(@ <= 2)]`, `[1,2,3]`, `[1,2]`},
		{"greater than", `$[*][?(@ > 2)]`, `[1,2,3]`, `[3]`},
		{"greater or equal", `$[*][?(@ >= 2)]`, `[1,2,3]`, `[2,3]`},
		{"strings never order, even with strings", `$[*][?(@ < "b")]`, `["a","c"]`, `[]`},
		{"strings and numbers never order", `$[*][?(@ > 0)]`, `["1",2]`, `[2]`},
		{"null never orders", `$[*][?(@ >= 0)]`, `[null,0]`, `[0]`},
		{"bools order as numbers", `$[*][?(@ > 0)]`, `[true,false]`, `[true]`},
		{"floats order", `$[*][?(@ > 1.5)]`, `[1,2,1.75]`, `[2,1.75]`},
		{"exact ordering past 2^53", `$[*][?(@ > 9007199254740992)]`, `[9007199254740993,9007199254740992]`, `[9007199254740993]`},
		{"a float beyond double range is infinity", `$[*][?(@ < 1e400)]`, `[123456789012345678901234567890,1e400]`, `[123456789012345678901234567890]`},
		{"arrays never order", `$[?(@.a < [2])]`, `{"a":[1]}`, `[]`},

		// precedence: and loosest, then or, then not, then comparison
		{"a or b and c is (a or b) and c", `$[?(@.a or @.b and @.c)]`, `{"a":1}`, `[]`},
		{"a and b or c is a and (b or c)", `$[?(@.a and @.b or @.c)]`, `{"a":1,"c":1}`, `[{"a":1,"c":1}]`},
		{"not binds tighter than and", `$[?(not @.a and @.b)]`, `{"b":1}`, `[{"b":1}]`},
		{"not binds tighter than or", `$[?(not @.a or @.b)]`, `{"a":1}`, `[]`},
		{"not of a comparison", `$[?(not @.x = 2)]`, `{"x":1}`, `[{"x":1}]`},
		{"not not", `$[?(not not @.x)]`, `{"x":1}`, `[{"x":1}]`},
		{"not not not", `$[?(not not not @.x)]`, `{"x":1}`, `[]`},
		{"parentheses", `$[?((@.a or @.b) and @.c)]`, `{"b":1,"c":1}`, `[{"b":1,"c":1}]`},
		{"not of parentheses", `$[?(not (@.a or @.b))]`, `{"c":1}`, `[{"c":1}]`},
		{"long and chain", `$[?(@.a and @.b and @.c and @.d)]`, `{"a":1,"b":1,"c":1,"d":1}`, `[{"a":1,"b":1,"c":1,"d":1}]`},

		// lexer forms
		{"white space between tokens", "$ . a [ 0 ]", `{"a":[5]}`, `[5]`},
		{"1and@ lexes as 1 and @", `$[?(1and@.a)]`, `{"a":1}`, `[{"a":1}]`},
		{"multi-line expression", "$[?(\n\t@.a = 1\r\n)]", `{"a":1}`, `[{"a":1}]`},
		{"andx is an ID", `$.andx`, `{"andx":1}`, `[1]`},
		{"And is an ID", `$.And`, `{"And":1}`, `[1]`},
		{"1. lexes as 1 then .", `$[?(@[1].a = 1)]`, `[0,{"a":1}]`, `[[0,{"a":1}]]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := matchJSON(t, tc.expr, tc.doc)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Errorf("%s on %s = %s, want %s", tc.expr, tc.doc, got, tc.want)
			}
		})
	}
}

// The Python library evaluates lazily: an error (a zero slice step) is raised only when
// evaluation reaches it, and "and", "or", existence and comparisons stop early.
func TestMatchErrorsAreLazy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, doc string
		want            string // the matches, or "" for ErrZeroStep
	}{
		{"zero step on an array", `$[::0]`, `[1]`, ""},
		{"zero step anywhere in the result", `$[0, ::0]`, `[1]`, ""},
		{"zero step on no array", `$.a[::0]`, `{"b":[1]}`, `[]`},
		{"or stops at a true left side", `$[?(@[0] or @[::0])]`, `[1]`, `[[1]]`},
		{"or evaluates the right side after a false left", `$[?(@[5] or @[::0])]`, `[1]`, ""},
		{"and stops at a false left side", `$[?(@[5] and @[::0])]`, `[1]`, `[]`},
		{"existence stops at the first value", `$[?(@[0, ::0])]`, `[1]`, `[[1]]`},
		{"existence meets the error before a value", `$[?(@[::0, 0])]`, `[1]`, ""},
		{"comparison stops at the first true pair", `$[?(@[0, ::0] = 1)]`, `[1]`, `[[1]]`},
		{"an empty left side never evaluates the right path", `$[?(@[5] = @[::0])]`, `[1]`, `[]`},
		{"the right path is evaluated for the first left value", `$[?(@[0] = @[::0])]`, `[1]`, ""},
		{"later left values are still produced", `$[?(@[0, ::0] = @[5])]`, `[1]`, ""},
		{"a match ends the comparison before later left values", `$[?(@[0, ::0] = @[0])]`, `[1]`, `[[1]]`},
		{"function arguments are evaluated in full", `$[charAt(@[::0])]`, `[1]`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := matchJSON(t, tc.expr, tc.doc)
			if tc.want == "" {
				if !errors.Is(err, ErrZeroStep) {
					t.Fatalf("%s on %s = %s, %v; want ErrZeroStep", tc.expr, tc.doc, got, err)
				}
				if MustParse(tc.expr).Matches(mustDecode(t, tc.doc)) {
					t.Error("Matches is true despite the error")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("%s on %s = %s, %v; want %s", tc.expr, tc.doc, got, err, tc.want)
			}
		})
	}
}

func TestMatchLimits(t *testing.T) {
	t.Parallel()
	t.Run("a document MaxDepth deep", func(t *testing.T) {
		t.Parallel()
		deep := strings.Repeat(`{"a":`, MaxDepth-1) + "1" + strings.Repeat("}", MaxDepth-1)
		got, err := MustParse(`$..a`).Match(mustDecode(t, deep))
		if err != nil || len(got) != MaxDepth-1 {
			t.Errorf("$..a found %d values, %v; want %d", len(got), err, MaxDepth-1)
		}
		got, err = MustParse(`$..[?(@..[?(@.a = 1)])]`).Match(mustDecode(t, deep))
		if err != nil || len(got) != MaxDepth-1 {
			t.Errorf("nested descents found %d values, %v; want %d", len(got), err, MaxDepth-1)
		}
	})
	t.Run("a cyclic document", func(t *testing.T) {
		t.Parallel()
		o := NewObject()
		o.Set("self", o)
		for _, expr := range []string{`$..x`, `$[?(@ = $.self)]`} {
			if _, err := MustParse(expr).Match(o); !errors.Is(err, ErrLimit) {
				t.Errorf("%s on a cycle: %v, want ErrLimit", expr, err)
			}
		}
	})
	t.Run("too much work", func(t *testing.T) {
		t.Parallel()
		doc := mustDecode(t, "["+strings.Repeat("["+strings.Repeat("1,", 49)+"1],", 200)+"[]]")
		p := MustParse(`$..*..*`)
		if _, err := p.matchWithin(10_000, doc); !errors.Is(err, ErrLimit) {
			t.Errorf("err = %v, want ErrLimit", err)
		}
		got, err := p.Match(doc)
		if err != nil || len(got) != 200*50 {
			t.Errorf("within MaxSteps: %d values, %v; want %d", len(got), err, 200*50)
		}
	})
}

// A *Path is immutable: many goroutines may evaluate it at once (run with -race).
func TestMatchConcurrently(t *testing.T) {
	t.Parallel()
	p := MustParse(`$["data"][*][?(@["destinationTable"] = "Files" and @["size"] > 1000)]["name"]`)
	doc := mustDecode(t, string(readSample(t)))
	want := `["loose_coupling.py","tight_coupling_twoway.py","tight_coupling.py"]`
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, err := p.Match(doc)
				if err != nil {
					errs <- err
					return
				}
				if b, _ := Encode(got); string(b) != want {
					errs <- fmt.Errorf("got %s, want %s", b, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Match and Encode read Go's own numbers too, for documents built with NewObject.
func TestGoNumbers(t *testing.T) {
	t.Parallel()
	o := NewObject()
	o.Set("i", 1)
	o.Set("j", int64(-1))
	o.Set("f", 2.5)
	o.Set("arr", []any{"x", "y"})
	cases := []struct{ expr, want string }{
		{`$[?(@.i = 1.0 and @.j < 0 and @.f > 2)]`, `[{"i":1,"j":-1,"f":2.5,"arr":["x","y"]}]`},
		{`$.arr[$.i]`, `["y"]`},
		{`$.arr[$.j]`, `["y"]`},
		{`$.arr[$.f]`, `[]`},
	}
	for _, tc := range cases {
		got, err := MustParse(tc.expr).Match(o)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := Encode(got); string(b) != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, b, tc.want)
		}
	}
}
