package pacificasim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// TestClients runs the project's own Pacifica clients against the simulator: subscribe,
// upload a directory, receive the ingest event, read the transaction back, and download its
// files through a cart.
func TestClients(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir(), StagingDelay: 10 * time.Millisecond, IngestStepDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	go func() {
		_ = sim.Serve(ctx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0"})
	}()
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := addrs.URLs()
	client, err := pacifica.New(pacifica.Config{
		UploadURL: u.Ingest + "/upload", UploadStatusURL: u.Ingest + "/get_state",
		DownloadURL: u.Cartd, NotificationsURL: u.Notifications,
	})
	if err != nil {
		t.Fatal(err)
	}

	received := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- b
	}))
	defer receiver.Close()
	sub, err := client.Notifications.Create(ctx, "dispatcher", pacifica.Subscription{
		Name:      "proxymod",
		JSONPath:  `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "proxymod.task" )] )]`,
		TargetURL: receiver.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub.UUID == "" || sub.User != "dispatcher" {
		t.Fatalf("created subscription %+v", sub)
	}

	// A directory of results: two files in two directories.
	dir := t.TempDir()
	files := map[string]string{"outputs/out.csv": "a,b\n1,2\n", "logs/run.log": "done\n"}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := client.Ingest.Upload(ctx, dir, pacifica.UploadMeta{
		Submitter: json.RawMessage(`10`), Project: json.RawMessage(`"1234a"`), Instrument: json.RawMessage(`54`),
		KeyValues: []pacifica.KeyValue{{Key: "proxymod.task", Value: json.RawMessage(`"advance"`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tx, ok := sim.Transaction(id)
	if !ok || len(tx.Files) != 2 || string(tx.Fields["project"]) != `"1234a"` {
		t.Fatalf("transaction %d: %+v", id, tx)
	}

	var event struct {
		EventID string `json:"eventID"`
		Data    []struct {
			Table    string          `json:"destinationTable"`
			ID       int64           `json:"_id"`
			Name     string          `json:"name"`
			Subdir   string          `json:"subdir"`
			Size     int64           `json:"size"`
			HashType string          `json:"hashtype"`
			HashSum  string          `json:"hashsum"`
			Value    json.RawMessage `json:"value"`
		} `json:"data"`
	}
	select {
	case b := <-received:
		if err := json.Unmarshal(b, &event); err != nil {
			t.Fatalf("delivered event %s: %v", b, err)
		}
	case <-ctx.Done():
		t.Fatal("no event delivered")
	}
	if event.EventID != "metadata.ingest."+jsonNum(id) {
		t.Errorf("eventID %q", event.EventID)
	}
	if last := event.Data[len(event.Data)-1]; last.Table != "Transactions._id" || string(last.Value) != jsonNum(id) {
		t.Errorf("last data entry %+v, want Transactions._id = %d", last, id)
	}

	// Download the event's files through a cart, as the dispatcher does.
	var cartFiles []pacifica.CartFile
	for _, d := range event.Data {
		if d.Table == "Files" {
			cartFiles = append(cartFiles, pacifica.CartFile{ID: d.ID, Path: d.Subdir + "/" + d.Name,
				HashType: d.HashType, HashSum: d.HashSum, Size: d.Size})
		}
	}
	if len(cartFiles) != 2 {
		t.Fatalf("event has %d Files entries, want 2", len(cartFiles))
	}
	out := t.TempDir()
	if err := client.Cart.Download(ctx, cartFiles, out); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, []byte(body)) {
			t.Errorf("downloaded %s: %q %v", rel, got, err)
		}
	}

	list, err := client.Notifications.List(ctx, "dispatcher")
	if err != nil || len(list) != 1 || list[0].IsDisabled() {
		t.Errorf("subscriptions after a good delivery: %+v %v", list, err)
	}
}

func jsonNum(i int64) string { b, _ := json.Marshal(i); return string(b) }
