package event

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// sameMembers fails t unless objectMembers, when it answers, answers as json.Unmarshal
// into a map of raw members does, and unmarshalString as json.Unmarshal into a string.
func sameMembers(t *testing.T, body []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	werr := json.Unmarshal(body, &want)
	if got, ok := objectMembers(body); ok {
		if werr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("objectMembers(%q) = %q, json.Unmarshal = %q, %v", body, got, want, werr)
		}
	}
	got, err := unmarshalMembers(body)
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) || !reflect.DeepEqual(got, want) {
		t.Fatalf("unmarshalMembers(%q) = %q, %v; json.Unmarshal = %q, %v", body, got, err, want, werr)
	}
	var s, ws string
	err, werr = unmarshalString(body, &s), json.Unmarshal(body, &ws)
	if (err == nil) != (werr == nil) || s != ws {
		t.Fatalf("unmarshalString(%q) = %q, %v; json.Unmarshal = %q, %v", body, s, err, ws, werr)
	}
}

var memberCases = []string{
	``, ` `, `{}`, ` { } `, `{} x`, `{}}`, `null`, `[]`, `"s"`, `1`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,}`, `{"a" : [1, {"b":null}] , "c":"d"}`,
	`{"a":}`, `{"a"}`, `{a:1}`, `{"a":1 "b":2}`, `{"\u0061":1}`, `{"a\"b":1}`, "{\"\xff\":1}", "{\"a\":\"\xff\"}", `{"a":"\q"}`,
	`{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"\ud800"}`, "{\"a\":\"\t\"}", `{"a":-}`, `{"a":01}`, `{"a":1.}`, `{"a":1e}`, `{"a":1e+5}`,
	`{"a":-0.5E-3}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b":1,}}`, `{"a":{"b"}}`, `{"a":{1:2}}`,
	`{"a":[1 2]}`, `{"a":[1}`, `{"a":{"b":1]}`, `"plain"`, `"esc\n"`, `"é"`, "\"\xff\"", `"a`, `""`,
	`{"a":` + strings.Repeat("[", maxMembersDepth+5) + strings.Repeat("]", maxMembersDepth+5) + `}`,
	`{"a":` + strings.Repeat("[", maxMembersDepth-2) + strings.Repeat("]", maxMembersDepth-2) + `}`,
}

func TestObjectMembersMatchesJSON(t *testing.T) {
	t.Parallel()
	body := sample(t)
	if _, ok := objectMembers(body); !ok {
		t.Error("objectMembers does not read the sample event itself")
	}
	sameMembers(t, body)
	for _, c := range memberCases {
		sameMembers(t, []byte(c))
	}
}

// TestObjectMembersMatchesJSONRandom: the sample event with bytes changed, inserted or
// removed at random, and short random strings of JSON's characters (a fixed seed).
func TestObjectMembersMatchesJSONRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	body := sample(t)
	const alphabet = "[]{}:,\"\\/ \tu0123456789abcdefE.-+trulsn\x01é\xffx"
	pick := func() byte { return alphabet[rng.IntN(len(alphabet))] }
	for range 1000 {
		b := append([]byte(nil), body...)
		for range 1 + rng.IntN(2) {
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[i] = pick()
			case 1:
				b = append(b[:i], append([]byte{pick()}, b[i:]...)...)
			default:
				b = append(b[:i], b[i+1:]...)
			}
		}
		sameMembers(t, b)
	}
	for range 20000 {
		b := make([]byte, 1+rng.IntN(10))
		b[0] = '{'
		for i := 1; i < len(b); i++ {
			b[i] = pick()
		}
		sameMembers(t, b)
		b[0] = '"'
		sameMembers(t, b)
	}
}

// FuzzObjectMembers: on any body, objectMembers and unmarshalString agree with
// json.Unmarshal (see sameMembers).
func FuzzObjectMembers(f *testing.F) {
	f.Add(sample(f))
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(sameMembers)
}
