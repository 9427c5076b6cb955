package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metadataURL := fs.String("metadata", "http://127.0.0.1:8121", "metadata base URL")
	cartdURL := fs.String("cartd", "http://127.0.0.1:8081", "cartd base URL")
	extract := fs.String("extract", "", "download the transaction's files through a cart into this directory")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the cart of --extract")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: pacifica-sim show ID [flags]\n\n"+
			"Prints transaction ID's fields, key/values and files from the metadata service;\n"+
			"with --extract, downloads its files through a cart, checked against their hashes.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "want one transaction id, got %d arguments", len(pos))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError(fs, stderr, "transaction id %q is not an integer", pos[0])
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "pacifica-sim show: %v\n", err)
		return 1
	}

	tx, err := readTransaction(ctx, strings.TrimRight(*metadataURL, "/"), id)
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(tx); err != nil {
			return fail(err)
		}
	} else {
		printTransaction(stdout, tx)
	}
	if *extract == "" {
		return 0
	}
	client, err := pacifica.New(pacifica.Config{
		UploadURL:        "http://127.0.0.1:8066/upload",
		UploadStatusURL:  "http://127.0.0.1:8066/get_state",
		DownloadURL:      *cartdURL,
		NotificationsURL: "http://127.0.0.1:8070",
		CartTimeout:      *timeout,
	})
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	var files []pacifica.CartFile
	for _, f := range tx.Files {
		files = append(files, pacifica.CartFile{ID: f.ID, Path: f.path(), HashType: f.HashType, HashSum: f.HashSum, Size: f.Size})
	}
	if err := client.Cart.Download(ctx, files, *extract); err != nil {
		return fail(err)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "extracted %d files into %s\n", len(files), *extract)
	}
	return 0
}

// shownTransaction is a transaction as the metadata service describes it.
type shownTransaction struct {
	Transaction map[string]json.RawMessage `json:"transaction"`
	KeyValues   []shownKV                  `json:"key_values"`
	Files       []shownFile                `json:"files"`
}

type shownKV struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type shownFile struct {
	ID       int64  `json:"_id"`
	Name     string `json:"name"`
	Subdir   string `json:"subdir"`
	Size     int64  `json:"size"`
	HashType string `json:"hashtype"`
	HashSum  string `json:"hashsum"`
	MimeType string `json:"mimetype"`
}

// path is where the file goes: subdir/name, subdir without its trailing slash.
func (f shownFile) path() string {
	if d := strings.Trim(f.Subdir, "/"); d != "" {
		return d + "/" + f.Name
	}
	return f.Name
}

func readTransaction(ctx context.Context, base string, id int64) (shownTransaction, error) {
	var tx shownTransaction
	sid := strconv.FormatInt(id, 10)
	var txs []map[string]json.RawMessage
	if err := getJSON(ctx, base+"/transactions?_id="+url.QueryEscape(sid), &txs); err != nil {
		return tx, err
	}
	if len(txs) == 0 {
		return tx, fmt.Errorf("transaction %d not found", id)
	}
	tx.Transaction = txs[0]
	kvs, err := readKeyValues(ctx, base, sid)
	if err != nil {
		return tx, err
	}
	tx.KeyValues = kvs
	if err := getJSON(ctx, base+"/files?transaction_id="+sid, &tx.Files); err != nil {
		return tx, err
	}
	if tx.KeyValues == nil {
		tx.KeyValues = []shownKV{}
	}
	if tx.Files == nil {
		tx.Files = []shownFile{}
	}
	return tx, nil
}

// readKeyValues reads a transaction's key/values as metadata keeps them: its rows of
// TransactionKeyValue, then each row's key and value text (values are text, whatever JSON
// type the upload gave them).
func readKeyValues(ctx context.Context, base, sid string) ([]shownKV, error) {
	var rows []struct {
		Key   int64 `json:"key"`
		Value int64 `json:"value"`
	}
	if err := getJSON(ctx, base+"/trans_key_value?transaction_id="+sid, &rows); err != nil {
		return nil, err
	}
	text := func(table, field string, id int64) (string, error) {
		var objs []map[string]any
		if err := getJSON(ctx, base+"/"+table+"?_id="+strconv.FormatInt(id, 10)+"&recursion_depth=0", &objs); err != nil {
			return "", err
		}
		if len(objs) != 1 {
			return "", fmt.Errorf("metadata: %s %d not found", table, id)
		}
		s, ok := objs[0][field].(string)
		if !ok {
			return "", fmt.Errorf("metadata: %s %d has no %s text", table, id, field)
		}
		return s, nil
	}
	out := make([]shownKV, 0, len(rows))
	for _, r := range rows {
		k, err := text("keys", "key", r.Key)
		if err != nil {
			return nil, err
		}
		v, err := text("values", "value", r.Value)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = append(out, shownKV{Key: k, Value: b})
	}
	return out, nil
}

func getJSON(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("metadata: GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("metadata: GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("metadata: GET %s: %w", u, err)
	}
	return nil
}

func printTransaction(w io.Writer, tx shownTransaction) {
	fmt.Fprintf(w, "transaction %s\n", tx.Transaction["_id"])
	for _, k := range []string{"submitter", "project", "instrument", "created"} {
		if v, ok := tx.Transaction[k]; ok {
			fmt.Fprintf(w, "  %-11s %s\n", k+":", v)
		}
	}
	fmt.Fprintf(w, "key/values (%d)\n", len(tx.KeyValues))
	for _, kv := range tx.KeyValues {
		fmt.Fprintf(w, "  %s = %s\n", kv.Key, kv.Value)
	}
	fmt.Fprintf(w, "files (%d)\n", len(tx.Files))
	for _, f := range tx.Files {
		fmt.Fprintf(w, "  %d  %s  %d bytes  %s:%s  %s\n", f.ID, f.path(), f.Size, f.HashType, f.HashSum, f.MimeType)
	}
}
