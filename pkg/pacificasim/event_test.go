package pacificasim

import (
	"testing"
	"time"
)

// TestIngestEvent checks the event built after an upload against the ingest events Pacifica's metadata service sends: the
// envelope's keys in order, eventTime in local time without zone, extensions {}, and as data
// the uploaded entries, unchanged and in order (unknown tables kept), the Files entries
// given their _id, and Transactions._id appended last.
func TestIngestEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Now: func() time.Time { return fixedNow }})
	a, b := "1,2\n", "é"
	metadata := `[{"destinationTable": "Transactions.submitter", "value": 10},
{"destinationTable": "Transactions.project", "value": "1234a"},
{"destinationTable": "Transactions.instrument", "value": 54},
{"destinationTable": "TransactionKeyValue", "key": "k", "value": "v"},
{"destinationTable": "NothingReally", "metaID": "x", "displayType": ["a", 1.50]},
{"destinationTable": "Files", "name": "a.csv", "subdir": "out", "size": 4, "hashtype": "sha1",
 "hashsum": "` + sha1hex(a) + `", "mimetype": "text/csv", "ctime": "2020-05-13T22:16:18", "mtime": "2020-05-13T22:16:18"},
{"_id": -1, "destinationTable": "Files", "name": "b.txt", "subdir": "", "size": 2, "hashtype": "sha1",
 "hashsum": "` + sha1hex(b) + `", "mimetype": "text/plain", "ctime": "c", "mtime": "m"}]`
	tx := e.ingestOK(t, makeTar(t, []tarFile{
		{name: "data/out/a.csv", body: a},
		{name: "data/b.txt", body: b},
		{name: "metadata.txt", body: metadata},
	}))
	if tx.ID != 1 || tx.Files[0].ID != 1 || tx.Files[1].ID != 2 {
		t.Fatalf("ids: transaction %d, files %d %d; want 1, 1 2 in a new simulator", tx.ID, tx.Files[0].ID, tx.Files[1].ID)
	}
	want := `{"cloudEventsVersion": "0.1", "eventType": "org.pacifica.metadata.ingest", ` +
		`"source": "http://metadata.pacifica.org/transactions?_id=1", "eventID": "metadata.ingest.1", ` +
		`"eventTime": "2020-05-13T15:16:18", "extensions": {}, "contentType": "application/json", "data": [` +
		`{"destinationTable": "Transactions.submitter", "value": 10}, ` +
		`{"destinationTable": "Transactions.project", "value": "1234a"}, ` +
		`{"destinationTable": "Transactions.instrument", "value": 54}, ` +
		`{"destinationTable": "TransactionKeyValue", "key": "k", "value": "v"}, ` +
		`{"destinationTable": "NothingReally", "metaID": "x", "displayType": ["a", 1.50]}, ` +
		`{"destinationTable": "Files", "name": "a.csv", "subdir": "out", "size": 4, "hashtype": "sha1", ` +
		`"hashsum": "` + sha1hex(a) + `", "mimetype": "text/csv", "ctime": "2020-05-13T22:16:18", ` +
		`"mtime": "2020-05-13T22:16:18", "_id": 1}, ` +
		`{"_id": 2, "destinationTable": "Files", "name": "b.txt", "subdir": "", "size": 2, "hashtype": "sha1", ` +
		`"hashsum": "` + sha1hex(b) + `", "mimetype": "text/plain", "ctime": "c", "mtime": "m"}, ` +
		`{"destinationTable": "Transactions._id", "value": 1}]}`
	if string(tx.Event) != want {
		t.Errorf("event\n got %s\nwant %s", tx.Event, want)
	}
	evs := e.sim.Events()
	if len(evs) != 1 || string(evs[0].Body) != want || evs[0].ID != "metadata.ingest.1" || evs[0].Received || evs[0].Lost {
		t.Errorf("notifications received %+v", evs)
	}
}
