package route

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	d, err := jsonpath2.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func names(rs []Route) string {
	var n []string
	for _, r := range rs {
		n = append(n, r.Name)
	}
	return strings.Join(n, ",")
}

func TestMatchEveryRouteAndSkipOwnUploads(t *testing.T) {
	t.Parallel()
	ingest := jsonpath2.MustParse(`$[?(@["eventType"] = "org.pacifica.metadata.ingest")]`)
	k8s := jsonpath2.MustParse(`$[?($["data"][*][?(@["destinationTable"] = "TransactionKeyValue" and @["key"] = "do_processing" and @["value"] = "True")])]`)
	table, err := NewTable(
		Route{Name: "all-ingest", Kind: "script", Filter: ingest},
		Route{Name: "k8s", Kind: "script", Filter: k8s},
		Route{Name: "lineage-ok", Kind: "script", Filter: ingest, OwnUploads: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	plain := `{"eventType":"org.pacifica.metadata.ingest","data":[{"destinationTable":"TransactionKeyValue","key":"do_processing","value":"True"}]}`
	own := `{"eventType":"org.pacifica.metadata.ingest","data":[{"destinationTable":"TransactionKeyValue","key":"do_processing","value":"True"},` +
		`{"destinationTable":"TransactionKeyValue","key":"Transactions._id","value":12}]}`
	orm := `{"eventType":"org.pacifica.metadata.orm","data":[]}`
	for _, tc := range []struct{ name, doc, want string }{
		{"every matching route, in order", plain, "all-ingest,k8s,lineage-ok"},
		{"own upload matches only routes that opt in", own, "lineage-ok"},
		{"nothing matches", orm, ""},
	} {
		if got := names(table.Match(decode(t, tc.doc))); got != tc.want {
			t.Errorf("%s: matched %q, want %q", tc.name, got, tc.want)
		}
	}
	if !IsOwnUpload(decode(t, own)) || IsOwnUpload(decode(t, plain)) {
		t.Error("IsOwnUpload does not recognise the lineage key/value")
	}
	if r, ok := table.Lookup("k8s"); !ok || r.Kind != "script" {
		t.Errorf("Lookup(k8s) = %v, %v", r, ok)
	}
}

func TestNewTableRejectsBadRoutes(t *testing.T) {
	t.Parallel()
	f := jsonpath2.MustParse(`$`)
	cases := map[string][]Route{
		"empty name":     {{Name: "", Kind: "x", Filter: f}},
		"bad name":       {{Name: "a b", Kind: "x", Filter: f}},
		"duplicate name": {{Name: "a", Kind: "x", Filter: f}, {Name: "a", Kind: "x", Filter: f}},
		"no filter":      {{Name: "a", Kind: "x"}},
		"no kind":        {{Name: "a", Filter: f}},
	}
	for name, routes := range cases {
		if _, err := NewTable(routes...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOwnUploadOfSampleEvent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if IsOwnUpload(decode(t, string(b))) {
		t.Error("the sample event (a scientist's upload) is taken for the dispatcher's own upload")
	}
}

// TestMatchWithin: the routes of Match within the budget, which the lineage check and every
// filter share; past it, an error wrapping jsonpath2.ErrLimit and no route.
func TestMatchWithin(t *testing.T) {
	t.Parallel()
	ingest := jsonpath2.MustParse(`$[?(@["eventType"] = "org.pacifica.metadata.ingest")]`)
	every := jsonpath2.MustParse(`$..*`)
	table, err := NewTable(Route{Name: "ingest", Kind: "script", Filter: ingest}, Route{Name: "every", Kind: "script", Filter: every})
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, `{"eventType": "org.pacifica.metadata.ingest", "data": [`+strings.Repeat(`{"a": [1, 2, 3]},`, 1000)+`{}]}`)
	got, steps, err := table.MatchWithin(doc, jsonpath2.MaxSteps)
	if err != nil || names(got) != names(table.Match(doc)) || names(got) != "ingest,every" {
		t.Fatalf("MatchWithin = %s, %v; Match = %s", names(got), err, names(table.Match(doc)))
	}
	got, _, err = table.MatchWithin(doc, steps-1)
	if !errors.Is(err, jsonpath2.ErrLimit) || got != nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d steps", steps-1)) {
		t.Errorf("within %d of its %d steps: %s, %v", steps-1, steps, names(got), err)
	}
}
