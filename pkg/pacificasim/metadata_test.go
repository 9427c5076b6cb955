package pacificasim

import (
	"crypto/md5" //nolint:gosec // the id metadata gives a key/value row
	"encoding/hex"
	"net/http"
	"testing"
	"time"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Now: func() time.Time { return fixedNow }})
	tx := e.ingestOK(t, bundleOf(t, txEntries, upFile{subdir: "out", name: "a.csv", body: "1,2\n", mimetype: "text/csv"}))
	id := itoa(tx.ID)
	sum := sha1hex("1,2\n")
	tests := []struct{ path, want string }{
		{"/transactions?_id=" + id, `[{"_id": 1, "submitter": 10, "project": "1234a", "instrument": 54, ` +
			`"created": "2020-05-13T15:16:18", "updated": "2020-05-13T15:16:18", "deleted": null}]`},
		{"/files?transaction_id=" + id, `[{"_id": 1, "name": "a.csv", "subdir": "out", "size": 4, ` +
			`"hashtype": "sha1", "hashsum": "` + sum + `", "mimetype": "text/csv", "ctime": "2020-05-13T22:16:18", ` +
			`"mtime": "2020-05-13T22:16:18", "transaction_id": 1, "created": "2020-05-13T15:16:18", ` +
			`"updated": "2020-05-13T15:16:18", "deleted": null}]`},
		{"/trans_key_value?transaction_id=" + id, `[{"_id": "` + md5hex("111") + `", "transaction": 1, "key": 1, "value": 1, ` +
			`"created": "2020-05-13T15:16:18", "updated": "2020-05-13T15:16:18", "deleted": null}, ` +
			`{"_id": "` + md5hex("212") + `", "transaction": 1, "key": 2, "value": 2, ` +
			`"created": "2020-05-13T15:16:18", "updated": "2020-05-13T15:16:18", "deleted": null}]`},
		{"/transactions?_id=99", `[]`},
		{"/files?transaction_id=99", `[]`},
		{"/trans_key_value?transaction_id=99", `[]`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, b := do(t, http.MethodGet, e.metadata+tc.path, "", nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s", resp.Status, b)
			}
			if string(b) != tc.want {
				t.Errorf("\n got %s\nwant %s", b, tc.want)
			}
		})
	}
	resp, b := do(t, http.MethodPost, e.metadata+"/transactions", "application/json", []byte(`{}`))
	checkErrorBody(t, resp, b, http.StatusMethodNotAllowed)
	resp, b = do(t, http.MethodGet, e.metadata+"/transactions?_id=x", "", nil)
	checkErrorBody(t, resp, b, http.StatusInternalServerError)
	resp, b = do(t, http.MethodGet, e.metadata+"/users", "", nil)
	checkErrorBody(t, resp, b, http.StatusNotFound)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s)) //nolint:gosec // see the import
	return hex.EncodeToString(sum[:])
}

// Transactions found by a key/value through the three tables of the metadata service:
// each key and value text stored once and shared (5 and "5" are the same text), links
// listed unless recursion_depth=0, [] when nothing matches, 500 for an empty number.
func TestMetadataKeyValueSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Now: func() time.Time { return fixedNow }})
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "a.txt", body: "a"}))
	e.ingestOK(t, bundleOf(t, `[{"destinationTable": "Transactions.submitter", "value": 10},
 {"destinationTable": "TransactionKeyValue", "key": "k", "value": "w"},
 {"destinationTable": "TransactionKeyValue", "key": "n", "value": "5"}]`, upFile{name: "b.txt", body: "b"}))
	const times = `"created": "2020-05-13T15:16:18", "updated": "2020-05-13T15:16:18", "deleted": null`
	row := func(tx, key, value string) string {
		return `{"_id": "` + md5hex(key+tx+value) + `", "transaction": ` + tx + `, "key": ` + key + `, "value": ` + value + `, ` + times + `}`
	}
	tests := []struct{ path, want string }{
		{"/keys?key=k", `[{"_id": 1, "key": "k", "display_name": "", "description": "", "encoding": "UTF8", ` +
			`"trans_links": [{"key_id": 1, "value_id": 1}, {"key_id": 1, "value_id": 3}], "file_links": [], ` +
			`"instrument_links": [], ` + times + `}]`},
		{"/keys?key=k&recursion_depth=0", `[{"_id": 1, "key": "k", "display_name": "", "description": "", ` +
			`"encoding": "UTF8", ` + times + `}]`},
		{"/values?value=5", `[{"_id": 2, "value": "5", "display_name": "", "description": "", "encoding": "UTF8", ` +
			`"trans_links": [{"key_id": 2, "value_id": 2}, {"key_id": 2, "value_id": 2}], "file_links": [], ` +
			`"instrument_links": [], ` + times + `}]`},
		{"/values?value=w&recursion_depth=0", `[{"_id": 3, "value": "w", "display_name": "", "description": "", ` +
			`"encoding": "UTF8", ` + times + `}]`},
		{"/keys?_id=2&recursion_depth=0", `[{"_id": 2, "key": "n", "display_name": "", "description": "", ` +
			`"encoding": "UTF8", ` + times + `}]`},
		{"/keys?key=nothing", `[]`},
		{"/keys?key=", `[]`},
		{"/values?value=", `[]`},
		{"/trans_key_value?key=2&value=2", `[` + row("1", "2", "2") + `, ` + row("2", "2", "2") + `]`},
		{"/trans_key_value?key=1&value=3", `[` + row("2", "1", "3") + `]`},
		{"/trans_key_value?key_id=1&value_id=1", `[` + row("1", "1", "1") + `]`},
		{"/trans_key_value?key=1&value=2", `[]`},
		{"/trans_key_value?transaction_id=2", `[` + row("2", "1", "3") + `, ` + row("2", "2", "2") + `]`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, b := do(t, http.MethodGet, e.metadata+tc.path, "", nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s", resp.Status, b)
			}
			if string(b) != tc.want {
				t.Errorf("\n got %s\nwant %s", b, tc.want)
			}
		})
	}
	for _, path := range []string{"/trans_key_value?key=&value=1", "/trans_key_value?key=1&value=",
		"/trans_key_value?transaction_id=", "/keys?_id=", "/values?_id=x", "/keys?key=k&recursion_depth=2"} {
		resp, b := do(t, http.MethodGet, e.metadata+path, "", nil)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: %s %s, want 500", path, resp.Status, b)
		}
	}
}
