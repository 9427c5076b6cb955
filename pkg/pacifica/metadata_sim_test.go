package pacifica_test

import (
	"context"
	"crypto/sha1" //nolint:gosec // Pacifica's hash
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// ingestAndMetadata serves a simulator's ingest and metadata, and returns a client of them
// (metadata's URL with a trailing slash when slash is set: the client takes either).
func ingestAndMetadata(t *testing.T, slash bool) (*pacificasim.Sim, *pacifica.Client) {
	t.Helper()
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir(), IngestStepDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ingest := httptest.NewServer(sim.IngestHandler())
	t.Cleanup(ingest.Close)
	meta := httptest.NewServer(sim.MetadataHandler())
	t.Cleanup(meta.Close)
	metaURL := meta.URL
	if slash {
		metaURL += "/"
	}
	client, err := pacifica.New(pacifica.Config{
		UploadURL: ingest.URL + "/upload", UploadStatusURL: ingest.URL + "/get_state",
		DownloadURL: "http://127.0.0.1:1", NotificationsURL: "http://127.0.0.1:1", MetadataURL: metaURL,
		RequestTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sim, client
}

// TestTransactionInfoFromSimulator reads back, through metadata, a transaction uploaded
// with the ingest client: its fields, files and key/values as metadata holds them, an
// unknown id, and the simulator's metadata misbehaving.
func TestTransactionInfoFromSimulator(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, client := ingestAndMetadata(t, true)

	dir := t.TempDir()
	files := map[string]string{"config_1.ini": "[PROJECT]\nruntime = 1\n", "inputs/a.csv": "1,2\n"}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := client.Ingest.Upload(ctx, dir, pacifica.UploadMeta{
		Submitter: []byte("10"), Project: []byte(`"1234a"`), Instrument: []byte("54"),
		KeyValues: []pacifica.KeyValue{{Key: "proxymod.configs_count", Value: []byte("3")}, {Key: "s", Value: []byte(`"x"`)}},
	})
	if err != nil {
		t.Fatal(err)
	}

	info, err := client.Metadata.TransactionInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || info.Submitter == nil || *info.Submitter != 10 || info.Project == nil || *info.Project != "1234a" ||
		info.Instrument == nil || *info.Instrument != 54 {
		t.Errorf("transaction %+v", info)
	}
	if len(info.KeyValues) != 2 || info.KeyValues["proxymod.configs_count"] != "3" || info.KeyValues["s"] != "x" {
		t.Errorf("key/values %v, want the uploaded ones as strings", info.KeyValues)
	}
	if len(info.Files) != 2 || len(info.FileIDs) != 2 {
		t.Fatalf("files %+v, ids %v", info.Files, info.FileIDs)
	}
	seen := map[string]bool{}
	for _, f := range info.SortedFiles() {
		p := f.Name
		if f.Subdir != "" {
			p = f.Subdir + "/" + f.Name
		}
		body, ok := files[p]
		sum := sha1.Sum([]byte(body)) //nolint:gosec
		if !ok || f.Size != int64(len(body)) || f.HashType != "sha1" || f.HashSum != hex.EncodeToString(sum[:]) ||
			f.Transaction != id || f.MimeType == "" || info.Files[f.ID] != f {
			t.Errorf("file %+v", f)
		}
		seen[p] = true
	}
	if len(seen) != 2 {
		t.Errorf("files seen %v", seen)
	}

	_, err = client.Metadata.TransactionInfo(ctx, id+1000)
	var unknown *pacifica.UnknownTransactionError
	if !errors.As(err, &unknown) || unknown.ID != id+1000 || pacifica.IsRetryable(err) ||
		err.Error() != "transaction 1001 is unknown to Pacifica metadata" ||
		!strings.Contains(unknown.Message, "No Transaction with an ID of 1001 was found") {
		t.Errorf("unknown transaction: %#v (%v)", err, err)
	}

	for _, tc := range []struct {
		name      string
		fault     pacificasim.Fault
		retryable bool
		has       string
	}{
		{"503", pacificasim.Fault{Status: 503}, true, "503 Service Unavailable"},
		{"500", pacificasim.Fault{Status: 500}, true, "500 Internal Server Error"},
		{"hangs", pacificasim.Fault{Delay: time.Minute}, true, "deadline exceeded"},
		{"garbage 200", pacificasim.Fault{Status: 200, Body: "<html>"}, false, "unexpected answer"},
		{"403", pacificasim.Fault{Status: 403}, false, "403 Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetFault(pacificasim.ServiceMetadata, tc.fault)
			defer sim.ClearFault(pacificasim.ServiceMetadata)
			_, err := client.Metadata.TransactionInfo(ctx, id)
			var pe *pacifica.Error
			if !errors.As(err, &pe) || pacifica.IsRetryable(err) != tc.retryable || !strings.Contains(err.Error(), tc.has) ||
				!strings.HasPrefix(err.Error(), "metadata: transaction info 1") {
				t.Errorf("error %v (retryable %v), want a *pacifica.Error containing %q, retryable %v", err, pacifica.IsRetryable(err), tc.has, tc.retryable)
			}
		})
	}
	// Back to normal.
	if _, err := client.Metadata.TransactionInfo(ctx, id); err != nil {
		t.Error(err)
	}
}

// Transactions found by a key/value through the simulated metadata service: only those
// holding the pair (not the value under another key), numbers found by their text, none
// as an empty list; an empty key or value refused without a request; faults classified.
func TestTransactionsWithKeyValueFromSimulator(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, client := ingestAndMetadata(t, false)
	upload := func(kvs ...pacifica.KeyValue) int64 {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
			t.Fatal(err)
		}
		id, err := client.Ingest.Upload(ctx, dir, pacifica.UploadMeta{Submitter: []byte("10"), KeyValues: kvs})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	const job = "30be2d70-c5d2-5cfb-8c5f-34a61c7f51f5"
	a := upload(pacifica.KeyValue{Key: pacifica.JobIDKey, Value: []byte(`"` + job + `"`)},
		pacifica.KeyValue{Key: "dispatcher.output", Value: []byte(`"out"`)})
	upload(pacifica.KeyValue{Key: "other", Value: []byte(`"` + job + `"`)})
	c := upload(pacifica.KeyValue{Key: "n", Value: []byte(`78`)}, pacifica.KeyValue{Key: pacifica.JobIDKey, Value: []byte(`"` + job + `"`)})

	for _, tc := range []struct {
		key, value string
		want       []int64
	}{
		{pacifica.JobIDKey, job, []int64{a, c}},
		{"other", job, []int64{a + 1}},
		{"n", "78", []int64{c}},
		{"dispatcher.output", "out", []int64{a}},
		{pacifica.JobIDKey, "no such job", nil},
		{"no such key", job, nil},
		{pacifica.JobIDKey, strings.ToUpper(job), nil},
	} {
		got, err := client.Metadata.TransactionsWithKeyValue(ctx, tc.key, tc.value)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s = %q: %v, %v; want %v", tc.key, tc.value, got, err, tc.want)
		}
	}

	// An empty key or value: refused before any request (a fault would say otherwise).
	sim.SetFault(pacificasim.ServiceMetadata, pacificasim.Fault{Status: 503})
	for _, kv := range [][2]string{{"", job}, {pacifica.JobIDKey, ""}} {
		_, err := client.Metadata.TransactionsWithKeyValue(ctx, kv[0], kv[1])
		var pe *pacifica.Error
		if !errors.As(err, &pe) || pe.StatusCode != 0 || pacifica.IsRetryable(err) || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%q = %q: %v, want a permanent error without a request", kv[0], kv[1], err)
		}
	}
	sim.ClearFault(pacificasim.ServiceMetadata)

	for _, tc := range []struct {
		name      string
		fault     pacificasim.Fault
		retryable bool
		has       string
	}{
		{"503", pacificasim.Fault{Status: 503}, true, "503 Service Unavailable"},
		{"503 on the pairs", pacificasim.Fault{Status: 503, Path: "/trans_key_value"}, true, "503 Service Unavailable"},
		{"hangs", pacificasim.Fault{Delay: time.Minute}, true, "deadline exceeded"},
		{"an object", pacificasim.Fault{Status: 200, Body: `{"_id": 1}`}, false, "not a list"},
		{"garbage rows", pacificasim.Fault{Status: 200, Body: `[{"_id": "x"}]`}, false, "unexpected answer"},
		{"404", pacificasim.Fault{Status: 404}, false, "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetFault(pacificasim.ServiceMetadata, tc.fault)
			defer sim.ClearFault(pacificasim.ServiceMetadata)
			_, err := client.Metadata.TransactionsWithKeyValue(ctx, pacifica.JobIDKey, job)
			var pe *pacifica.Error
			if !errors.As(err, &pe) || pacifica.IsRetryable(err) != tc.retryable || !strings.Contains(err.Error(), tc.has) ||
				!strings.HasPrefix(err.Error(), "metadata: transactions with dispatcher.job_id = ") {
				t.Errorf("error %v (retryable %v), want a *pacifica.Error containing %q, retryable %v", err, pacifica.IsRetryable(err), tc.has, tc.retryable)
			}
		})
	}
}
