package pacificasim

import (
	"cmp"
	"crypto/md5" //nolint:gosec // the id pacifica-metadata gives a key/value row, not a security hash
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// The metadata service keeps transaction key/values in three tables: Keys (each key text
// once), Values (each value text once), and TransactionKeyValue, one row per transaction
// and pair. A value is kept as text: Python's str() of the uploaded value ("78", not 78).

// kvText is a row of Keys or Values: its id, its text, and its rows of TransactionKeyValue.
type kvText struct {
	id      int64
	text    string
	created string
	links   []kvRow
}

// kvRow is a row of TransactionKeyValue.
type kvRow struct {
	tx, key, value int64
	created        string
}

// kvTables are the three tables, ids given in the order the texts were first stored.
type kvTables struct {
	keys, values []*kvText
	rows         []kvRow // ordered by transaction, key, value: the table's primary key
}

// keyValueTables builds the tables from the transactions, oldest first.
func keyValueTables(txs []Transaction) (*kvTables, error) {
	t := &kvTables{}
	keyIDs, valueIDs := map[string]*kvText{}, map[string]*kvText{}
	intern := func(table *[]*kvText, ids map[string]*kvText, text, created string) *kvText {
		if e, ok := ids[text]; ok {
			return e
		}
		e := &kvText{id: int64(len(*table) + 1), text: text, created: created}
		*table = append(*table, e)
		ids[text] = e
		return e
	}
	for _, tx := range txs {
		created := isoformat(tx.Created)
		seen := map[[2]int64]bool{}
		var rows []kvRow
		for _, kv := range tx.KeyValues {
			v, err := pyjson.Decode(kv.Value)
			if err != nil {
				return nil, fmt.Errorf("key/value %q of transaction %d: %w", kv.Key, tx.ID, err)
			}
			k := intern(&t.keys, keyIDs, kv.Key, created)
			val := intern(&t.values, valueIDs, pyStr(v), created)
			if seen[[2]int64{k.id, val.id}] {
				continue
			}
			seen[[2]int64{k.id, val.id}] = true
			rows = append(rows, kvRow{tx: tx.ID, key: k.id, value: val.id, created: created})
		}
		sortRows(rows)
		for _, r := range rows {
			keyByID(t.keys, r.key).links = append(keyByID(t.keys, r.key).links, r)
			keyByID(t.values, r.value).links = append(keyByID(t.values, r.value).links, r)
		}
		t.rows = append(t.rows, rows...)
	}
	return t, nil
}

func keyByID(table []*kvText, id int64) *kvText { return table[id-1] }

// sortRows orders one transaction's rows by key, then value.
func sortRows(rows []kvRow) {
	slices.SortFunc(rows, func(a, b kvRow) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.value, b.value))
	})
}

// recursionDepth reads recursion_depth (default 1): the real service lists the rows that
// use a key or value (trans_links, file_links, instrument_links) only at depth 1, and
// fails (500) on a depth that is not 0 or 1.
func recursionDepth(q url.Values) (int, error) {
	if !q.Has("recursion_depth") {
		return 1, nil
	}
	d, err := strconv.Atoi(q.Get("recursion_depth"))
	if err != nil {
		return 0, err
	}
	if d != 0 && d != 1 {
		return 0, errors.New("recursion depth must be in the range of 0->2")
	}
	return d, nil
}

// textObjects serves GET /keys (field "key") and GET /values (field "value"): filtered by
// _id (a number: an empty or other text fails with 500, as the database does) and by the
// text itself (compared exactly; an empty text is a text like any other and matches no
// stored one), ordered by _id.
func textObjects(field string, table func(*kvTables) []*kvText) func(txs []Transaction, q url.Values) ([]any, error) {
	return func(txs []Transaction, q url.Values) ([]any, error) {
		id, byID, err := idParam(q, "_id")
		if err != nil {
			return nil, err
		}
		depth, err := recursionDepth(q)
		if err != nil {
			return nil, err
		}
		t, err := keyValueTables(txs)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, e := range table(t) {
			if byID && e.id != id || q.Has(field) && e.text != q.Get(field) ||
				q.Has("encoding") && q.Get("encoding") != "UTF8" {
				continue
			}
			o := &pyjson.Object{}
			o.Set("_id", jsonInt(e.id))
			o.Set(field, e.text)
			o.Set("display_name", "")
			o.Set("description", "")
			o.Set("encoding", "UTF8")
			if depth > 0 {
				links := make([]any, 0, len(e.links))
				for _, r := range e.links {
					links = append(links, &pyjson.Object{Keys: []string{"key_id", "value_id"},
						Values: []any{jsonInt(r.key), jsonInt(r.value)}})
				}
				o.Set("trans_links", links)
				o.Set("file_links", []any{})
				o.Set("instrument_links", []any{})
			}
			o.Set("created", e.created)
			o.Set("updated", e.created)
			o.Set("deleted", nil)
			out = append(out, o)
		}
		return out, nil
	}
}

// keyValueObjects serves GET /trans_key_value: one row per transaction holding a pair,
// filtered by transaction, key and value ids (each also as <name>_id; numbers: an empty or
// other text fails with 500, as the database does), ordered by transaction, key, value.
// A row's _id is the hex MD5 of the key, transaction and value ids' digits.
func keyValueObjects(txs []Transaction, q url.Values) ([]any, error) {
	var filters [3]struct {
		id int64
		on bool
	}
	for i, name := range []string{"transaction", "key", "value"} {
		id, on, err := idParam(q, name, name+"_id")
		if err != nil {
			return nil, err
		}
		filters[i].id, filters[i].on = id, on
	}
	t, err := keyValueTables(txs)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, r := range t.rows {
		skip := false
		for i, v := range []int64{r.tx, r.key, r.value} {
			if filters[i].on && filters[i].id != v {
				skip = true
			}
		}
		if skip {
			continue
		}
		sum := md5.Sum([]byte(strconv.FormatInt(r.key, 10) + strconv.FormatInt(r.tx, 10) + strconv.FormatInt(r.value, 10))) //nolint:gosec // see the import
		out = append(out, &pyjson.Object{
			Keys: []string{"_id", "transaction", "key", "value", "created", "updated", "deleted"},
			Values: []any{hex.EncodeToString(sum[:]), jsonInt(r.tx), jsonInt(r.key), jsonInt(r.value),
				r.created, r.created, nil},
		})
	}
	return out, nil
}
