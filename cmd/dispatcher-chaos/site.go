package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// The script every script job runs: it lists the downloaded files into its output and
// marks the output so that its own upload matches no route.
const chaosScript = "#!/bin/sh\nls -R download > output/files.txt\necho do_processing,False > output/kvp.csv\n"

// site is the simulated Pacifica of a run.
type site struct {
	sim  *pacificasim.Sim
	urls pacificasim.Addrs
	pc   *pacifica.Client
	stop func()
}

func startSite(ctx context.Context, dir string) (*site, error) {
	sim, err := pacificasim.New(pacificasim.Config{DataDir: filepath.Join(dir, "sim"),
		StagingDelay: 20 * time.Millisecond, IngestStepDelay: 2 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sim.Serve(sctx, pacificasim.Addrs{Cartd: "127.0.0.1:0", Ingest: "127.0.0.1:0", Notifications: "127.0.0.1:0",
			Metadata: "127.0.0.1:0"})
	}()
	stop := func() { cancel(); <-done; _ = sim.Close() }
	addrs, err := sim.Addrs(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	u := addrs.URLs()
	pc, err := pacifica.New(pacifica.Config{UploadURL: u.Ingest + "/upload", UploadStatusURL: u.Ingest + "/get_state",
		DownloadURL: u.Cartd, NotificationsURL: u.Notifications, MetadataURL: u.Metadata, CABundle: "True",
		RequestTimeout: 30 * time.Second, CartTimeout: time.Minute, IngestTimeout: time.Minute})
	if err != nil {
		stop()
		return nil, err
	}
	return &site{sim: sim, urls: u, pc: pc, stop: stop}, nil
}

// uploadScriptSource uploads a source for script jobs (a few small files, key/value
// do_processing = "True") and returns its ingest event.
func (s *site) uploadScriptSource(ctx context.Context, dir string, i int) (int64, []byte, error) {
	files := map[string]string{
		"data/readme.txt":           fmt.Sprintf("source %d of the chaos run\n", i),
		"data/values.csv":           "x,y\n1,2\n3,4\n",
		fmt.Sprintf("run%d.log", i): "measured\n",
	}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return 0, nil, err
		}
	}
	meta := pacifica.UploadMeta{Submitter: json.RawMessage("10"), Project: json.RawMessage(`"1234a"`),
		Instrument: json.RawMessage("54"),
		KeyValues:  []pacifica.KeyValue{{Key: "do_processing", Value: json.RawMessage(`"True"`)}}}
	return s.upload(ctx, dir, meta)
}

// uploadProxymodSource uploads a proxymod source (the sample's key/values and input CSVs,
// one fast model) and returns its ingest event.
func (s *site) uploadProxymodSource(ctx context.Context, dir string, sample []byte) (int64, []byte, error) {
	if err := devenv.WriteSource(dir, "loose_coupling"); err != nil {
		return 0, nil, err
	}
	meta, err := devenv.SampleMeta(sample)
	if err != nil {
		return 0, nil, err
	}
	return s.upload(ctx, dir, meta)
}

func (s *site) upload(ctx context.Context, dir string, meta pacifica.UploadMeta) (int64, []byte, error) {
	id, err := s.pc.Ingest.Upload(ctx, dir, meta)
	if err != nil {
		return 0, nil, fmt.Errorf("source upload: %w", err)
	}
	tx, ok := s.sim.Transaction(id)
	if !ok || len(tx.Event) == 0 {
		return 0, nil, fmt.Errorf("source upload %d: no event", id)
	}
	return id, tx.Event, nil
}

// withEventID returns the event with another eventID: a distinct event about the same
// source upload, hence a distinct job.
func withEventID(ev []byte, id string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(ev))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	m["eventID"] = id
	return json.Marshal(m)
}

// delivery is one POST the sender makes; dups re-send the bytes of an earlier one.
type delivery struct {
	n    int // the distinct event's number
	body []byte
	dup  bool
}

// plan orders the deliveries: the distinct events in order, and each re-sent one placed
// at a random later position.
func plan(distinct [][]byte, dups int, rng *rand.Rand) []delivery {
	type keyed struct {
		key float64
		d   delivery
	}
	all := make([]keyed, 0, len(distinct)+dups)
	for i, b := range distinct {
		all = append(all, keyed{float64(i), delivery{n: i, body: b}})
	}
	for k := 0; k < dups; k++ {
		i := rng.IntN(len(distinct))
		all = append(all, keyed{float64(i) + 0.5 + rng.Float64()*float64(len(distinct)-i),
			delivery{n: i, body: distinct[i], dup: true}})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].key < all[b].key })
	out := make([]delivery, len(all))
	for i, k := range all {
		out[i] = k.d
	}
	return out
}

// upload is one transaction the dispatcher made.
type upload struct {
	tx     int64
	stored time.Time
}

// uploadsByJob groups the simulator's transactions by their dispatcher.job_id key/value.
func uploadsByJob(sim *pacificasim.Sim) map[string][]upload {
	out := map[string][]upload{}
	for _, tx := range sim.Transactions() {
		for _, kv := range tx.KeyValues {
			var job string
			if kv.Key == pacifica.JobIDKey && json.Unmarshal(kv.Value, &job) == nil && job != "" {
				out[job] = append(out[job], upload{tx: tx.ID, stored: tx.Created})
			}
		}
	}
	return out
}
