package catchup_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/catchup"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// The event catch-up rebuilds from metadata carries what the event Pacifica sent carries:
// the same transaction, submitter, project, instrument, files (ids, paths, sizes, hashes)
// and key/values (as text, which is how metadata keeps them). And the listing of recent
// transactions finds the upload, oldest first.
func TestBuildEventMatchesPacificasEvent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir(), IngestStepDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ingest := httptest.NewServer(sim.IngestHandler())
	t.Cleanup(ingest.Close)
	meta := httptest.NewServer(sim.MetadataHandler())
	t.Cleanup(meta.Close)
	client, err := pacifica.New(pacifica.Config{UploadURL: ingest.URL + "/upload", UploadStatusURL: ingest.URL + "/get_state",
		DownloadURL: "http://127.0.0.1:1", NotificationsURL: "http://127.0.0.1:1", MetadataURL: meta.URL})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	dir := t.TempDir()
	for rel, body := range map[string]string{"a.txt": "alpha\n", "sub/b.csv": "x,y\n1,2\n"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meta1 := pacifica.UploadMeta{Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"1234a"`), Instrument: json.RawMessage(`54`),
		KeyValues: []pacifica.KeyValue{{Key: "do_processing", Value: json.RawMessage(`"True"`)}, {Key: "run", Value: json.RawMessage(`"7"`)}}}
	id, err := client.Ingest.Upload(ctx, dir, meta1)
	if err != nil {
		t.Fatal(err)
	}
	recent, err := client.Metadata.TransactionsCreatedAfter(ctx, before, 1, 10)
	if err != nil || len(recent) != 1 || recent[0].ID != id {
		t.Fatalf("recent transactions %+v, %v; want %d", recent, err, id)
	}
	if later, err := client.Metadata.TransactionsCreatedAfter(ctx, recent[0].Created, 1, 10); err != nil || len(later) != 0 {
		t.Errorf("transactions after the newest: %+v, %v", later, err)
	}
	info, err := client.Metadata.TransactionInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := sim.Transaction(id)
	real := ingestOf(t, tx.Event)
	rebuilt, err := catchup.BuildEvent(info, "http://metadata.pacifica.org/transactions?_id=1", "metadata.ingest.1")
	if err != nil {
		t.Fatal(err)
	}
	got := ingestOf(t, rebuilt)
	if !reflect.DeepEqual(got, real) {
		t.Errorf("rebuilt event:\n%+v\nPacifica's:\n%+v", got, real)
	}
}

type facts struct {
	Tx, Submitter, Project, Instrument string
	Files                              []string
	KeyValues                          map[string]string
}

func ingestOf(t *testing.T, body []byte) facts {
	t.Helper()
	evs, err := event.Parse(nil, body)
	if err != nil || len(evs) != 1 {
		t.Fatalf("parse: %v", err)
	}
	in, err := event.ParseIngest(evs[0].Data())
	if err != nil {
		t.Fatal(err)
	}
	f := facts{Tx: in.Transaction.ID.String(), Submitter: in.Transaction.Submitter.String(),
		Project: in.Transaction.Project.String(), Instrument: in.Transaction.Instrument.String(), KeyValues: map[string]string{}}
	for _, fl := range in.Files {
		b, _ := json.Marshal(fl)
		f.Files = append(f.Files, string(b))
	}
	for _, kv := range in.KeyValues {
		f.KeyValues[kv.Key] = kv.Value.String()
	}
	return f
}
