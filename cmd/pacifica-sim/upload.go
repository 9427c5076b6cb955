package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

func runUpload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ingestURL := fs.String("ingest", "http://127.0.0.1:8066", "ingest base URL (or its /upload URL)")
	dir := fs.String("dir", "", "directory to upload (or give it as the argument)")
	var submitter, project, instrument optString
	fs.Var(&submitter, "submitter", "Transactions.submitter value")
	fs.Var(&project, "project", "Transactions.project value")
	fs.Var(&instrument, "instrument", "Transactions.instrument value")
	var kvs kvFlags
	fs.Var(&kvs, "kv", "a transaction key/value, key=value (repeatable)")
	fromEvent := fs.String("from-event", "", "JSON file, an event or an event's data list, to take fields and key/values from")
	asJSON := fs.Bool("json", false, "print a JSON summary")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the upload to be ingested")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: pacifica-sim upload [flags] DIR   (or --dir DIR)\n\n"+
			"Uploads DIR (its files under data/) as a new transaction, waits until ingest has\n"+
			"stored it and prints the new transaction id.\n\n"+
			"--from-event takes Transactions.submitter, .project and .instrument (JSON types\n"+
			"kept) and the TransactionKeyValue entries of an event; its Files and\n"+
			"Transactions._id are ignored. Flags override it. A value given by flag that is a\n"+
			"JSON number (10, -1, 2.5) is sent as a number, anything else as a string.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args)
	if done {
		return code
	}
	switch {
	case len(pos) > 1:
		return usageError(fs, stderr, "unexpected argument %q: give one directory", pos[1])
	case len(pos) == 1 && *dir != "" && pos[0] != *dir:
		return usageError(fs, stderr, "two directories: --dir %s and %s", *dir, pos[0])
	case len(pos) == 1:
		*dir = pos[0]
	}
	if *dir == "" {
		return usageError(fs, stderr, "give the directory to upload")
	}

	var meta pacifica.UploadMeta
	if *fromEvent != "" {
		b, err := os.ReadFile(*fromEvent)
		if err != nil {
			fmt.Fprintf(stderr, "pacifica-sim upload: %v\n", err)
			return 1
		}
		if meta, err = metaFromEvent(b); err != nil {
			fmt.Fprintf(stderr, "pacifica-sim upload: %s: %v\n", *fromEvent, err)
			return 1
		}
	}
	for _, f := range []struct {
		opt *optString
		dst *json.RawMessage
	}{{&submitter, &meta.Submitter}, {&project, &meta.Project}, {&instrument, &meta.Instrument}} {
		if f.opt.set {
			*f.dst = jsonValue(f.opt.value)
		}
	}
	for _, kv := range kvs {
		meta.KeyValues = setKeyValue(meta.KeyValues, kv.key, jsonValue(kv.value))
	}

	base := strings.TrimSuffix(strings.TrimRight(*ingestURL, "/"), "/upload")
	client, err := pacifica.New(pacifica.Config{
		UploadURL:        base + "/upload",
		UploadStatusURL:  base + "/get_state",
		DownloadURL:      "http://127.0.0.1:8081",
		NotificationsURL: "http://127.0.0.1:8070",
		IngestTimeout:    *timeout,
	})
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	id, err := client.Ingest.Upload(ctx, *dir, meta)
	if err != nil {
		fmt.Fprintf(stderr, "pacifica-sim upload: %v\n", err)
		return 1
	}
	if !*asJSON {
		fmt.Fprintln(stdout, id)
		return 0
	}
	files, err := pacifica.BundleFiles(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "pacifica-sim upload: %v\n", err)
		return 1
	}
	summary := uploadSummary{TransactionID: id, Submitter: meta.Submitter, Project: meta.Project,
		Instrument: meta.Instrument, KeyValues: []summaryKV{}, Files: []string{}}
	for _, kv := range meta.KeyValues {
		summary.KeyValues = append(summary.KeyValues, summaryKV{kv.Key, kv.Value})
	}
	for _, f := range files {
		summary.Files = append(summary.Files, f.Rel)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(summary); err != nil {
		fmt.Fprintf(stderr, "pacifica-sim upload: %v\n", err)
		return 1
	}
	return 0
}

// uploadSummary is what upload --json prints.
type uploadSummary struct {
	TransactionID int64           `json:"transaction_id"`
	Submitter     json.RawMessage `json:"submitter,omitempty"`
	Project       json.RawMessage `json:"project,omitempty"`
	Instrument    json.RawMessage `json:"instrument,omitempty"`
	KeyValues     []summaryKV     `json:"key_values"`
	Files         []string        `json:"files"`
}

type summaryKV struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// metaFromEvent takes the transaction fields and key/values of an event, or of an event's
// data list.
func metaFromEvent(b []byte) (pacifica.UploadMeta, error) {
	var meta pacifica.UploadMeta
	var data json.RawMessage = b
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err == nil { // an object: a whole event
		if len(env.Data) == 0 {
			return meta, errors.New("the event has no data")
		}
		data = env.Data
	}
	var entries []struct {
		Table string          `json:"destinationTable"`
		Key   *string         `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return meta, fmt.Errorf("not an event nor an event's data list: %w", err)
	}
	for _, e := range entries {
		switch e.Table {
		case "Transactions.submitter":
			meta.Submitter = e.Value
		case "Transactions.project":
			meta.Project = e.Value
		case "Transactions.instrument":
			meta.Instrument = e.Value
		case "TransactionKeyValue":
			if e.Key != nil && len(e.Value) > 0 {
				meta.KeyValues = setKeyValue(meta.KeyValues, *e.Key, e.Value)
			}
		}
	}
	return meta, nil
}

// setKeyValue sets key in place when present, last otherwise.
func setKeyValue(kvs []pacifica.KeyValue, key string, value json.RawMessage) []pacifica.KeyValue {
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = value
			return kvs
		}
	}
	return append(kvs, pacifica.KeyValue{Key: key, Value: value})
}
