package pacificasim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUploadAnswerAndStates(t *testing.T) {
	t.Parallel()
	// The policy holds the job in "Policy Validation" until the test has seen it there.
	inPolicy, release := make(chan struct{}), make(chan struct{})
	policy := func(ctx context.Context, _ PolicyRequest) error {
		close(inPolicy)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	e := newEnv(t, Config{IngestStepDelay: 5 * time.Millisecond, IngestPolicy: policy, Now: func() time.Time { return fixedNow }})
	resp, body := do(t, http.MethodPost, e.ingest+"/upload", "application/octet-stream",
		bundleOf(t, txEntries, upFile{subdir: "out", name: "a.csv", body: "1,2\n", mimetype: "text/csv"}))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("upload: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	// The answer is the job state, with task_percent a string.
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	id := int64(raw["job_id"].(float64))
	if raw["state"] != "OK" || raw["task"] != "UPLOADING" || raw["exception"] != "" || raw["complete"] != false ||
		raw["created"] != "2020-05-13 15:16:18" || raw["updated"] != "2020-05-13 15:16:18" {
		t.Errorf("upload answer %s", body)
	}
	if _, ok := raw["task_percent"].(string); !ok {
		t.Errorf("task_percent is not a string: %s", body)
	}

	// Poll as a client does: the tasks come in Pacifica's order.
	order := []string{"UPLOADING", "open tar", "load metadata", "Policy Validation", "ingest files", "ingest metadata"}
	var seen []string
	deadline := time.Now().Add(10 * time.Second)
	var st JobState
	for time.Now().Before(deadline) {
		st = e.getState(t, id)
		if _, err := strconv.ParseFloat(st.TaskPercent, 64); err != nil {
			t.Fatalf("task_percent %q: %v", st.TaskPercent, err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != st.Task {
			seen = append(seen, st.Task)
		}
		if st.Task == "Policy Validation" && st.State == "OK" {
			select {
			case <-inPolicy:
				if st.Complete || st.TaskPercent != "0.0" {
					t.Errorf("state during Policy Validation %+v", st)
				}
				close(release)
				inPolicy = nil // seen once
			default:
			}
		}
		if st.State != "OK" || st.Complete {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if st.State != "OK" || st.Task != "ingest metadata" || st.TaskPercent != "100.0" || !st.Complete {
		t.Fatalf("final state %+v", st)
	}
	if !slices.Contains(seen, "Policy Validation") {
		t.Errorf("never saw the job in Policy Validation: %v", seen)
	}
	last := -1
	for _, task := range seen {
		i := slices.Index(order, task)
		if i < last {
			t.Fatalf("tasks out of order: %v", seen)
		}
		last = i
	}
}

func TestUploadStoresTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	files := []upFile{
		{subdir: "out", name: "a.csv", body: "1,2\n", mimetype: "text/csv"},
		{subdir: "", name: "root.txt", body: "root"},
	}
	tx1 := e.ingestOK(t, bundleOf(t, txEntries, files...))
	tx2 := e.ingestOK(t, bundleOf(t, txEntries, files...))

	if tx2.ID <= tx1.ID {
		t.Errorf("transaction ids %d then %d: not increasing", tx1.ID, tx2.ID)
	}
	if tx2.Files[0].ID <= tx1.Files[len(tx1.Files)-1].ID || tx1.Files[1].ID <= tx1.Files[0].ID {
		t.Errorf("file ids not increasing: %v then %v", tx1.Files, tx2.Files)
	}
	if got := string(tx1.Fields["submitter"]) + " " + string(tx1.Fields["project"]) + " " +
		string(tx1.Fields["instrument"]); got != `10 "1234a" 54` {
		t.Errorf("fields %s, want JSON types kept", got)
	}
	if len(tx1.KeyValues) != 2 || tx1.KeyValues[0].Key != "k" || string(tx1.KeyValues[0].Value) != `"v"` ||
		string(tx1.KeyValues[1].Value) != "5" {
		t.Errorf("key/values %+v", tx1.KeyValues)
	}
	for i, f := range tx1.Files {
		if f.Name != files[i].name || f.Subdir != files[i].subdir || f.Size != int64(len(files[i].body)) ||
			f.HashSum != sha1hex(files[i].body) {
			t.Errorf("file %d: %+v", i, f)
		}
		b, err := os.ReadFile(f.Path)
		if err != nil || string(b) != files[i].body {
			t.Errorf("archived copy of %s: %q %v", f.Name, b, err)
		}
	}
	if got := len(e.sim.Transactions()); got != 2 {
		t.Errorf("%d transactions, want 2", got)
	}
}

func TestUploadPUTAndMissingContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	for _, tc := range []struct{ method, ct string }{{http.MethodPut, "application/octet-stream"}, {http.MethodPost, ""}} {
		resp, body := do(t, tc.method, e.ingest+"/upload", tc.ct, bundleOf(t, txEntries, upFile{name: "a", body: "a"}))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with Content-Type %q: %s %s", tc.method, tc.ct, resp.Status, body)
		}
	}
}

func TestUploadFormContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		t.Run(ct, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, e.ingest+"/upload", ct, bundleOf(t, txEntries, upFile{name: "a", body: "a"}))
			checkErrorBody(t, resp, body, http.StatusInternalServerError)
		})
	}
	if n := len(e.sim.Transactions()); n != 0 {
		t.Errorf("%d transactions after rejected uploads", n)
	}
}

func TestGetState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	resp, body := do(t, http.MethodGet, e.ingest+"/get_state?job_id=42", "", nil)
	checkErrorBody(t, resp, body, http.StatusNotFound)
	resp, body = do(t, http.MethodGet, e.ingest+"/get_state?job_id=x", "", nil)
	checkErrorBody(t, resp, body, http.StatusInternalServerError)
	resp, body = do(t, http.MethodGet, e.ingest+"/upload", "", nil)
	checkErrorBody(t, resp, body, http.StatusMethodNotAllowed)
}

func TestUploadFailures(t *testing.T) {
	t.Parallel()
	good := upFile{subdir: "out", name: "a.csv", body: "1,2\n", mimetype: "text/csv"}
	goodMeta := func(t *testing.T, extra ...map[string]any) string {
		var m []any
		if err := json.Unmarshal([]byte(txEntries), &m); err != nil {
			t.Fatal(err)
		}
		m = append(m, fileEntry(good))
		for _, x := range extra {
			m = append(m, x)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	withFile := func(t *testing.T, f map[string]any) string {
		b, _ := json.Marshal(append([]any{map[string]any{"destinationTable": "Transactions.submitter", "value": 1}}, f))
		return string(b)
	}
	policy := func(_ context.Context, r PolicyRequest) error {
		if string(r.Submitter) == "666" {
			return errors.New("submitter 666 is not allowed")
		}
		return nil
	}
	goodTar := tarFile{name: "data/out/a.csv", body: good.body}

	tests := []struct {
		name      string
		bundle    func(t *testing.T) []byte
		task      string
		exception string
	}{
		{"not a tar", func(*testing.T) []byte { return []byte(strings.Repeat("not a tar ", 100)) }, "open tar", ""},
		{"empty body", func(*testing.T) []byte { return nil }, "open tar", "empty file"},
		// Like Python's tarfile, a tar cut short between entries reads as a shorter tar.
		{"tar cut before metadata.txt", func(t *testing.T) []byte { return bundleOf(t, txEntries, good)[:700] },
			"load metadata", "filename 'metadata.txt' not found"},
		{"no metadata.txt", func(t *testing.T) []byte { return makeTar(t, []tarFile{goodTar}) },
			"load metadata", "filename 'metadata.txt' not found"},
		{"metadata.txt not last", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{{name: "metadata.txt", body: goodMeta(t)}, goodTar})
		}, "load metadata", "not the last entry"},
		{"metadata.txt not a list", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt", body: `{"a": 1}`}})
		}, "load metadata", "not a JSON list"},
		{"metadata.txt not JSON", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt", body: `[{`}})
		}, "load metadata", "not JSON"},
		{"Transactions._id given", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt",
				body: goodMeta(t, map[string]any{"destinationTable": "Transactions._id", "value": 3})}})
		}, "Policy Validation", "Transactions._id"},
		{"field twice", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt",
				body: goodMeta(t, map[string]any{"destinationTable": "Transactions.project", "value": 3})}})
		}, "Policy Validation", "Transactions.project"},
		{"policy rejects", func(t *testing.T) []byte {
			return bundleOf(t, `[{"destinationTable": "Transactions.submitter", "value": 666}]`, good)
		}, "Policy Validation", "submitter 666 is not allowed"},
		{"file missing from tar", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{{name: "metadata.txt", body: goodMeta(t)}})
		}, "ingest files", "filename 'data/out/a.csv' not found"},
		{"file in another directory", func(t *testing.T) []byte {
			return makeTar(t, []tarFile{{name: "data/a.csv", body: good.body}, {name: "metadata.txt", body: goodMeta(t)}})
		}, "ingest files", "filename 'data/out/a.csv' not found"},
		{"size differs", func(t *testing.T) []byte {
			f := fileEntry(good)
			f["size"] = 99
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt", body: withFile(t, f)}})
		}, "ingest files", "size"},
		{"hash differs", func(t *testing.T) []byte {
			f := fileEntry(good)
			f["hashsum"] = sha1hex("other")
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt", body: withFile(t, f)}})
		}, "ingest files", "does not match"},
		{"unsupported hash type", func(t *testing.T) []byte {
			f := fileEntry(good)
			f["hashtype"] = "crc32"
			return makeTar(t, []tarFile{goodTar, {name: "metadata.txt", body: withFile(t, f)}})
		}, "ingest files", "crc32"},
		{"mimetype without subtype", func(t *testing.T) []byte {
			return bundleOf(t, txEntries, upFile{name: "a", body: "a", mimetype: "text"})
		}, "ingest metadata", "mimetype"},
		{"mimetype with unknown type", func(t *testing.T) []byte {
			return bundleOf(t, txEntries, upFile{name: "a", body: "a", mimetype: "chemical/x-pdb"})
		}, "ingest metadata", "mimetype"},
		{"key/value with an object value", func(t *testing.T) []byte {
			return bundleOf(t, `[{"destinationTable": "TransactionKeyValue", "key": "k", "value": {}}]`, good)
		}, "ingest metadata", "TransactionKeyValue"},
	}
	e := newEnv(t, Config{IngestPolicy: policy})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := e.upload(t, tc.bundle(t))
			final, err := e.sim.WaitJob(testCtx(t), st.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if final.State != "FAILED" || final.Task != tc.task || final.Complete {
				t.Errorf("final state %+v, want FAILED in %q", final, tc.task)
			}
			if final.Exception == "" || !strings.Contains(final.Exception, tc.exception) {
				t.Errorf("exception %q, want it to mention %q", final.Exception, tc.exception)
			}
			if polled := e.getState(t, st.JobID); polled != final {
				t.Errorf("get_state %+v, want %+v", polled, final)
			}
			if _, ok := e.sim.Transaction(st.JobID); ok {
				t.Error("a failed upload created a transaction")
			}
		})
	}
}

func TestUploadAcceptsSampleValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tx := e.ingestOK(t, bundleOf(t, `[{"destinationTable": "Transactions.submitter", "value": -1},
		{"destinationTable": "Transactions.project", "value": -1},
		{"destinationTable": "Transactions.instrument", "value": -1}]`,
		upFile{subdir: "inputs/", name: "in.csv", body: "x"}))
	if string(tx.Fields["project"]) != "-1" || len(tx.Files) != 1 {
		t.Errorf("transaction %+v", tx)
	}
}

func TestUploadActingUser(t *testing.T) {
	t.Parallel()
	users := make(chan string, 2)
	e := newEnv(t, Config{IngestPolicy: func(_ context.Context, r PolicyRequest) error {
		users <- r.User
		return nil
	}})
	bundle := bundleOf(t, txEntries, upFile{name: "a", body: "a"})
	for _, hdr := range [][]string{nil, {"X-Http-Authed-User", "dmlb2001"}} {
		resp, body := do(t, http.MethodPost, e.ingest+"/upload", "application/octet-stream", bundle, hdr...)
		var st JobState
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("upload: %s %s", resp.Status, body)
		}
		if _, err := e.sim.WaitJob(testCtx(t), st.JobID); err != nil {
			t.Fatal(err)
		}
		want := "root"
		if hdr != nil {
			want = hdr[1]
		}
		if tx, _ := e.sim.Transaction(st.JobID); tx.User != want {
			t.Errorf("transaction user %q, want %q", tx.User, want)
		}
		if got := <-users; got != want {
			t.Errorf("policy saw user %q, want %q", got, want)
		}
	}
}
