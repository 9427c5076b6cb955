package pacificasim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestTransactionInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Now: func() time.Time { return fixedNow }})
	entries := `[{"destinationTable": "Transactions.submitter", "value": "10"},
 {"destinationTable": "Transactions.project", "value": 1234},
 {"destinationTable": "Transactions.instrument", "value": 54},
 {"destinationTable": "TransactionKeyValue", "key": "k", "value": "v"},
 {"destinationTable": "TransactionKeyValue", "key": "n", "value": 5},
 {"destinationTable": "TransactionKeyValue", "key": "f", "value": 1e3},
 {"destinationTable": "TransactionKeyValue", "key": "k", "value": "last"}]`
	tx := e.ingestOK(t, bundleOf(t, entries,
		upFile{subdir: "", name: "config_1.ini", body: "[PROJECT]\n"},
		upFile{subdir: "inputs/", name: "a.csv", body: "1,2\n", mimetype: "text/csv"}))
	id := itoa(tx.ID)
	s1, s2 := sha1hex("[PROJECT]\n"), sha1hex("1,2\n")
	want := `{"_id": 1, "transaction_id": 1, "submitter": 10, "submitter_id": 10, "project": "1234", "project_id": "1234", ` +
		`"instrument": 54, "instrument_id": 54, "submitted": "2020-05-13T15:16:18", "created": "2020-05-13T15:16:18", ` +
		`"updated": "2020-05-13T15:16:18", "deleted": null, "release_date": null, "release_state": "not_released", ` +
		`"release_state_display": "Not Released", "submitter_name": "User 10", "project_name": "Project 1234", ` +
		`"instrument_name": "Instrument 54", "file_ids": [1, 2], "files": {` +
		`"1": {"_id": 1, "name": "config_1.ini", "subdir": "", "mimetype": "text/plain", "ctime": "2020-05-13T22:16:18", ` +
		`"mtime": "2020-05-13T22:16:18", "transaction": 1, "size": 10, "hashsum": "` + s1 + `", "hashtype": "sha1", ` +
		`"suspense_date": null, "encoding": "UTF8", "key_values": {}, "created": "2020-05-13T15:16:18", ` +
		`"updated": "2020-05-13T15:16:18", "deleted": null}, ` +
		`"2": {"_id": 2, "name": "a.csv", "subdir": "inputs/", "mimetype": "text/csv", "ctime": "2020-05-13T22:16:18", ` +
		`"mtime": "2020-05-13T22:16:18", "transaction": 1, "size": 4, "hashsum": "` + s2 + `", "hashtype": "sha1", ` +
		`"suspense_date": null, "encoding": "UTF8", "key_values": {}, "created": "2020-05-13T15:16:18", ` +
		`"updated": "2020-05-13T15:16:18", "deleted": null}}, ` +
		`"key_values": {"k": "last", "n": "5", "f": "1000.0"}}`
	resp, b := do(t, http.MethodGet, e.metadata+"/transactioninfo/by_id/"+id, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s", resp.Status, b)
	}
	if string(b) != want {
		t.Errorf("\n got %s\nwant %s", b, want)
	}

	resp, b = do(t, http.MethodGet, e.metadata+"/transactioninfo/by_id/999999", "", nil)
	m := checkErrorBody(t, resp, b, http.StatusNotFound)
	if m["message"] != "No Transaction with an ID of 999999 was found" {
		t.Errorf("404 message %q", m["message"])
	}

	for _, bad := range []string{"abc", "", "1.5", "12abc"} {
		resp, b = do(t, http.MethodGet, e.metadata+"/transactioninfo/by_id/"+bad, "", nil)
		if resp.Status != "400 Invalid Transaction ID" {
			t.Errorf("%q: status line %q, want 400 Invalid Transaction ID", bad, resp.Status)
		}
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil || body["status"] != "400 Invalid Transaction ID" {
			t.Errorf("%q: body %s (%v)", bad, b, err)
		}
	}

	resp, b = do(t, http.MethodPost, e.metadata+"/transactioninfo/by_id/"+id, "application/json", []byte(`{}`))
	checkErrorBody(t, resp, b, http.StatusMethodNotAllowed)
}

// A transaction uploaded without submitter, project or instrument (which the real service
// refuses) shows them as null.
func TestTransactionInfoMissingFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tx := e.ingestOK(t, bundleOf(t, "", upFile{name: "a.txt", body: "a"}))
	resp, b := do(t, http.MethodGet, e.metadata+"/transactioninfo/by_id/"+itoa(tx.ID), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s", resp.Status, b)
	}
	var info map[string]any
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"submitter", "project", "instrument"} {
		if v, ok := info[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if kv, _ := info["key_values"].(map[string]any); kv == nil || len(kv) != 0 {
		t.Errorf("key_values = %v, want {}", info["key_values"])
	}
}

func TestPyStr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{
		{"x", "x"}, {json.Number("78"), "78"}, {json.Number("-3"), "-3"},
		{json.Number("123456789012345678901234567890"), "123456789012345678901234567890"},
		{json.Number("1.5"), "1.5"}, {json.Number("1.50"), "1.5"}, {json.Number("1e3"), "1000.0"},
		{json.Number("1e16"), "1e+16"}, {json.Number("1e22"), "1e+22"}, {json.Number("0.0001"), "0.0001"},
		{json.Number("0.00001"), "1e-05"}, {json.Number("-2.5e-7"), "-2.5e-07"}, {json.Number("0.1"), "0.1"},
		{true, "True"}, {false, "False"}, {nil, "None"},
	} {
		if got := pyStr(tc.in); got != tc.want {
			t.Errorf("pyStr(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
