package jsonpath2

import (
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// sameAsReference fails t unless Decode and the reference decoder agree on data: both
// fail with the same message (and both or neither wrapping io.ErrUnexpectedEOF), or both
// give the same value, object key order and number text included.
func sameAsReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := Decode(data)
	want, werr := refDecode(data)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("Decode(%q): error %v, reference error %v", data, err, werr)
	case err != nil:
		if err.Error() != werr.Error() {
			t.Fatalf("Decode(%q): error\n%v\nreference error\n%v", data, err, werr)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) != errors.Is(werr, io.ErrUnexpectedEOF) {
			t.Fatalf("Decode(%q): %v: io.ErrUnexpectedEOF wrapped differently", data, err)
		}
	case !reflect.DeepEqual(got, want):
		t.Fatalf("Decode(%q) = %#v, reference %#v", data, got, want)
	}
}

// decodeCases are inputs for the differential tests: every syntax error encoding/json
// words differently, every place the end of the input can fall, escapes and surrogates,
// nesting at and beyond MaxDepth, duplicate keys, large objects, trailing data.
var decodeCases = []string{
	``, ` `, "\t\r\n", `null`, `true`, `false`, `0`, `-0`, `1.50`, `1E+400`, `-1e-400`, `123456789012345678901234567890`,
	`""`, `"a"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`,
	`"\ud800\"`, `"\ud800\u"`, `"\ud800\uzz00"`, `"\ud800\udc0"`, `"\"\\\/\b\f\n\r\t"`, `"\q"`, `"\`, `"\u`, `"\u12`,
	`"\u12g4"`, "\"a\tb\"", "\"a\x01\"", "\"a\x7f\"", `"abc`, `"é`, `"\u00e9`, `"<&>"`,
	`[]`, `[ ]`, `[1]`, `[1,2]`, `[1,]`, `[,1]`, `[,]`, `[1 2]`, `[1}`, `[}`, `[:]`, `[1:2]`, `[`, `[1`, `[1,`, `["a"`,
	`[-]`, `[-`, `[1.]`, `[1.`, `[1e]`, `[1e`, `[1e+]`, `[1e+`, `[01]`, `[1x]`, `[-x]`, `[.5]`, `[+1]`, `[1.5e3,2E-2]`,
	`[tru]`, `[tru`, `[trux]`, `[t]`, `[fals]`, `[falsy]`, `[nul]`, `[nil]`, `[nulll]`, `[truefalse]`, `[NaN]`, `[Infinity]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"b":[],"a":{"c":null}}`, `{]`, `{,}`, `{1:2}`, `{a:1}`, `{'a':1}`,
	`{"a"}`, `{"a" 1}`, `{"a",1}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":1]`, `{"a":1,]`, `{"a":1,,"b":2}`,
	`{"a"::1}`, `{"a":1:}`, `{[`, `{{`, `{`, `{"a`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,"`, `{"\q":1}`,
	`{"a":[1,{"b":[true,null]}],"c":{"d":{}}}`,
	`{} x`, `{}x`, `1 2`, `1x`, `[1]]`, `[1]}`, `{}:`, `{},`, `{} [`, `{} {`, `{} "a"`, `{} "a`, `{} 12x`, `{} 1.`,
	`{} tru`, `{} true`, `{} truex`, `{} -`, `{} nul`, `{} 'a'`, "{} \x00", `01`, `00`, `-01`, `"a" "b"`, `null null`,
	`]`, `}`, `:`, `,`, `x`, `'a'`, "\x00", "\x01", `é`, `NaN`,
	"[\"a\xff\"]", "\xff", "{\"a\":\"\xed\xa0\x80\"}",
}

func TestDecodeMatchesReference(t *testing.T) {
	t.Parallel()
	cases := append([]string(nil), decodeCases...)
	for _, n := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		cases = append(cases,
			strings.Repeat("[", n)+strings.Repeat("]", n),
			strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n),
			strings.Repeat("[", n)+"x",
			strings.Repeat("[", n),
			strings.Repeat(`[{"k":`, n/2)+"[]"+strings.Repeat("}]", n/2))
	}
	var big strings.Builder
	big.WriteString("{")
	for i := range 40 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`"k` + string(rune('a'+i%20)) + `":` + strings.Repeat("1", i+1))
	}
	big.WriteString("}")
	cases = append(cases, big.String(), string(readSample(t)))
	for _, c := range cases {
		sameAsReference(t, []byte(c))
	}
}

// TestDecodeMatchesReferenceRandom: the sample event cut short, with bytes changed,
// inserted or removed at random, and short random strings of JSON's own characters (a
// fixed seed: the same inputs on every run).
func TestDecodeMatchesReferenceRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	sample := readSample(t)
	const alphabet = "[]{}:,\"\\/ \t\nu0123456789abcdefABCDEF.-+eEtrufalsn\x01éx'"
	pick := func() byte { return alphabet[rng.IntN(len(alphabet))] }
	n := 1000
	if testing.Short() {
		n = 50
	}
	for range n {
		b := append([]byte(nil), sample...)
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b[i] = pick()
			case 1:
				b = append(b[:i], append([]byte{pick()}, b[i:]...)...)
			case 2:
				b = append(b[:i], b[i+1:]...)
			default:
				b = b[:i]
			}
			if len(b) == 0 {
				break
			}
		}
		sameAsReference(t, b)
	}
	for range 40 * n {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = pick()
		}
		sameAsReference(t, b)
	}
}

// FuzzDecodeReference: on any input, Decode and the decoder it replaced agree (see
// sameAsReference). Seeds are the differential cases; `go test -fuzz FuzzDecodeReference`
// explores from them.
func FuzzDecodeReference(f *testing.F) {
	f.Add(readSample(f))
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(sameAsReference)
}

// TestDecodedValuesAreIndependent: decoded containers share blocks of memory (see
// decoder), yet changing one never changes another.
func TestDecodedValuesAreIndependent(t *testing.T) {
	t.Parallel()
	v := mustDecode(t, `[{"a":1},{"b":2},[3],[4],"s"]`)
	arr := v.([]any)
	first, second := arr[0].(*Object), arr[1].(*Object)
	first.Set("c", "new")
	first.Set("a", "changed")
	if got, _ := Encode(second); string(got) != `{"b":2}` {
		t.Errorf("second object after Set on the first: %s", got)
	}
	if got, _ := Encode(first); string(got) != `{"a":"changed","c":"new"}` {
		t.Errorf("first object: %s", got)
	}
	_ = append(arr[2].([]any), "x")
	if got, _ := Encode(arr[3]); string(got) != `[4]` {
		t.Errorf("array after append to its neighbour: %s", got)
	}
	if got, _ := Encode(v); string(got) != `[{"a":"changed","c":"new"},{"b":2},[3],[4],"s"]` {
		t.Errorf("document: %s", got)
	}
}

// BenchmarkDecodeReference is BenchmarkDecodeSample with the decoder Decode replaced, for
// comparison on the same machine at the same moment.
func BenchmarkDecodeReference(b *testing.B) {
	raw := readSample(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := refDecode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
