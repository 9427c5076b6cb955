package pacificasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// MetadataHandler returns a read-only subset of Pacifica's metadata service, enough to show
// a transaction and to find transactions by a key/value:
//
//	GET /transactions?_id=N          [{"_id", "submitter", "project", "instrument", ...,
//	                                   "created", "updated", "deleted"}]
//	GET /transactions?created=T&created_operator=gt&recursion_depth=0[&items_per_page=N&page_number=K]
//	                                 [{"_id", "created", "updated", "deleted", "description",
//	                                   "suspense_date"}], oldest first
//	GET /files?transaction_id=N      [{"_id", "name", "subdir", "size", "hashtype", "hashsum",
//	                                   "mimetype", "ctime", "mtime", "transaction_id", ...}]
//	GET /keys?key=K                  [{"_id", "key", "display_name", "description", "encoding",
//	                                   "trans_links": [{"key_id", "value_id"}], "file_links",
//	                                   "instrument_links", "created", "updated", "deleted"}]
//	GET /values?value=V              the same, with "value"
//	GET /trans_key_value?key=K&value=V  [{"_id", "transaction", "key", "value", "created",
//	                                   "updated", "deleted"}]  (also ?transaction_id=N)
//	GET /transactioninfo/by_id/N     {"_id", "submitter", "project", "instrument", ...,
//	                                  "files": {"<file id>": {...}}, "key_values": {...}}
//
// Keys, values and key/value rows are the real service's (pacifica-metadata v0.13.0): a
// list, [] with 200 when nothing matches; a key or value text is stored once and shared;
// a value is Python's str() of the uploaded value; recursion_depth=0 leaves out the
// *_links lists; a number parameter that is empty or not a number answers 500, as the
// database layer does. The transaction view is the real one too, shapes and errors
// included (see serveTransactionInfo). Without a query parameter a list holds every
// object. /transactions?_id= and /files are flat: the real service keeps submitter, project
// and instrument in TransSIP; there every value keeps the JSON type it was uploaded with.
// Other methods answer 405.
func (s *Sim) MetadataHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/transactions", s.metaGet(transactionObjects))
	mux.HandleFunc("/files", s.metaGet(fileObjects))
	mux.HandleFunc("/keys", s.metaGet(textObjects("key", func(t *kvTables) []*kvText { return t.keys })))
	mux.HandleFunc("/values", s.metaGet(textObjects("value", func(t *kvTables) []*kvText { return t.values })))
	mux.HandleFunc("/trans_key_value", s.metaGet(keyValueObjects))
	mux.HandleFunc(transactionInfoPrefix, s.serveTransactionInfo)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The path '"+r.URL.Path+"' was not found.")
	})
	return s.withFaults(ServiceMetadata, mux)
}

// metaGet serves one table: list builds its objects from the transactions selected.
func (s *Sim) metaGet(list func(txs []Transaction, q url.Values) ([]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "the simulated metadata service is read-only")
			return
		}
		out, err := list(s.Transactions(), r.URL.Query())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// idParam reads an integer query parameter; ok is false when it is absent.
func idParam(q url.Values, names ...string) (id int64, ok bool, err error) {
	for _, n := range names {
		if q.Has(n) {
			id, err = strconv.ParseInt(q.Get(n), 10, 64)
			return id, true, err
		}
	}
	return 0, false, nil
}

// recentTransactions is GET /transactions?created=<time>&created_operator=gt&
// recursion_depth=0[&items_per_page=N&page_number=K] as the real service answers it: the
// transactions created after (gt, gte) or before (lt, lte) the time, written without a zone
// as the service writes its times, oldest first, each {"_id", "created", "updated",
// "deleted", "description", "suspense_date"}; pages from 1.
func recentTransactions(txs []Transaction, q url.Values) ([]any, error) {
	at, err := time.ParseInLocation("2006-01-02T15:04:05.999999", q.Get("created"), time.Local) // as isoformat writes
	if err != nil {
		return nil, fmt.Errorf("created: %q is not a time", q.Get("created"))
	}
	op := q.Get("created_operator")
	keep := map[string]func(t time.Time) bool{
		"gt": func(t time.Time) bool { return t.After(at) }, "gte": func(t time.Time) bool { return !t.Before(at) },
		"lt": func(t time.Time) bool { return t.Before(at) }, "lte": func(t time.Time) bool { return !t.After(at) },
		"": func(t time.Time) bool { return t.Equal(at) },
	}[op]
	if keep == nil {
		return nil, fmt.Errorf("created_operator: %q is not an operator", op)
	}
	var sel []Transaction
	for _, tx := range txs {
		// Times are compared as the service stores them: to the microsecond, without zone.
		if keep(tx.Created.Truncate(time.Microsecond)) {
			sel = append(sel, tx)
		}
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Created.Before(sel[j].Created) })
	if q.Has("items_per_page") || q.Has("page_number") {
		per, err1 := strconv.Atoi(q.Get("items_per_page"))
		page, err2 := strconv.Atoi(q.Get("page_number"))
		if err1 != nil || err2 != nil || per < 1 || page < 1 {
			return nil, fmt.Errorf("items_per_page and page_number: want whole numbers from 1")
		}
		from := min((page-1)*per, len(sel))
		sel = sel[from:min(from+per, len(sel))]
	}
	out := []any{}
	for _, tx := range sel {
		o := &pyjson.Object{}
		created := isoformat(tx.Created)
		o.Set("_id", jsonInt(tx.ID))
		o.Set("created", created)
		o.Set("updated", created)
		o.Set("deleted", nil)
		o.Set("description", nil)
		o.Set("suspense_date", nil)
		out = append(out, o)
	}
	return out, nil
}

func jsonInt(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

func transactionObjects(txs []Transaction, q url.Values) ([]any, error) {
	id, filtered, err := idParam(q, "_id")
	if err != nil {
		return nil, err
	}
	if q.Has("created") {
		return recentTransactions(txs, q)
	}
	out := []any{}
	for _, tx := range txs {
		if filtered && tx.ID != id {
			continue
		}
		o := &pyjson.Object{}
		o.Set("_id", jsonInt(tx.ID))
		for _, k := range []string{"submitter", "project", "instrument"} {
			o.Set(k, nil)
		}
		for _, k := range sortedKeys(tx.Fields) {
			v, err := pyjson.Decode(tx.Fields[k])
			if err != nil {
				return nil, err
			}
			o.Set(k, v)
		}
		created := isoformat(tx.Created)
		o.Set("created", created)
		o.Set("updated", created)
		o.Set("deleted", nil)
		out = append(out, o)
	}
	return out, nil
}

func fileObjects(txs []Transaction, q url.Values) ([]any, error) {
	txID, byTx, err := idParam(q, "transaction", "transaction_id")
	if err != nil {
		return nil, err
	}
	id, byID, err := idParam(q, "_id")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, tx := range txs {
		if byTx && tx.ID != txID {
			continue
		}
		for _, f := range tx.Files {
			if byID && f.ID != id {
				continue
			}
			created := isoformat(tx.Created)
			out = append(out, &pyjson.Object{
				Keys: []string{"_id", "name", "subdir", "size", "hashtype", "hashsum", "mimetype",
					"ctime", "mtime", "transaction_id", "created", "updated", "deleted"},
				Values: []any{jsonInt(f.ID), f.Name, f.Subdir, jsonInt(f.Size), f.HashType, f.HashSum,
					f.MimeType, f.CTime, f.MTime, jsonInt(tx.ID), created, created, nil},
			})
		}
	}
	return out, nil
}
