package pacificasim

import (
	"encoding/json"
	"slices"
	"time"
)

// Transaction is an upload the simulator ingested.
type Transaction struct {
	// ID is the transaction's _id, the job id of its upload.
	ID int64
	// User is the acting user of the upload (header X-Http-Authed-User, "root" without it).
	User string
	// Fields holds the Transactions.<field> values as uploaded, by field name ("submitter",
	// "project", "instrument", ...), JSON types kept.
	Fields map[string]json.RawMessage
	// KeyValues are the TransactionKeyValue entries, in upload order, JSON types kept.
	KeyValues []KeyValue
	// Files are the archived files, in upload order.
	Files []File
	// Created is when the transaction was stored.
	Created time.Time
	// Event is the ingest event built for the transaction, as notifications received it.
	Event json.RawMessage
}

// KeyValue is a transaction key/value.
type KeyValue struct {
	Key   string
	Value json.RawMessage
}

// File is an archived file of a transaction.
type File struct {
	ID       int64
	Name     string
	Subdir   string // as uploaded
	Size     int64
	HashType string
	HashSum  string
	MimeType string
	CTime    string // opaque, as uploaded
	MTime    string // opaque, as uploaded
	Path     string // the archived copy on disk
}

// Transactions returns the stored transactions, oldest first.
func (s *Sim) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transaction, 0, len(s.txOrder))
	for _, id := range s.txOrder {
		out = append(out, s.txs[id].clone())
	}
	return out
}

// Transaction returns the transaction id, if it was stored.
func (s *Sim) Transaction(id int64) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[id]
	if !ok {
		return Transaction{}, false
	}
	return tx.clone(), true
}

func (t *Transaction) clone() Transaction {
	c := *t
	c.Fields = make(map[string]json.RawMessage, len(t.Fields))
	for k, v := range t.Fields {
		c.Fields[k] = slices.Clone(v)
	}
	c.KeyValues = slices.Clone(t.KeyValues)
	c.Files = slices.Clone(t.Files)
	c.Event = slices.Clone(t.Event)
	return c
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
