package pacificasim

import (
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
		{"/trans_key_value?transaction_id=" + id, `[{"transaction_id": 1, "key": "k", "value": "v"}, ` +
			`{"transaction_id": 1, "key": "n", "value": 5}]`},
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
