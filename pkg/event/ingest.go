package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// ErrInvalid marks an ingest event whose data is well-formed JSON but unsafe or
// inconsistent: it must not be processed.
var ErrInvalid = errors.New("event: invalid")

// Ingest is the typed view of an ingest event's data.
type Ingest struct {
	Transaction Transaction
	// KeyValues are the TransactionKeyValue entries, in event order.
	KeyValues []KeyValue
	// Files are the Files entries, in event order.
	Files []File
	// FileKeyValues are the FileKeyValue entries, in event order.
	FileKeyValues []FileKeyValue
}

// Transaction holds the Transactions.* fields; a zero Value means absent.
type Transaction struct {
	ID, Submitter, Project, Instrument, Description, AnalyticalTool, SuspenseDate Value
}

// KeyValue is a TransactionKeyValue.
type KeyValue struct {
	Key   string
	Value Value
}

// FileKeyValue is a FileKeyValue entry.
type FileKeyValue struct {
	Key    string
	Value  Value
	FileID Value
}

// File is a Files entry.
type File struct {
	// ID is the archive file id, used to download the file.
	ID       int64
	Name     string
	Subdir   string
	Size     int64
	HashType string
	HashSum  string
	MimeType string
	CTime    string
	MTime    string
}

// Dir returns the subdir normalised: no leading or trailing slash, "" at the root.
func (f File) Dir() string { return strings.Join(splitDir(f.Subdir), "/") }

// Path returns Dir()/Name, or Name at the root.
func (f File) Path() string {
	if d := f.Dir(); d != "" {
		return d + "/" + f.Name
	}
	return f.Name
}

// Lookup returns the value of the first TransactionKeyValue with the key.
func (in *Ingest) Lookup(key string) (Value, bool) {
	for _, kv := range in.KeyValues {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// Value is a JSON scalar of an event, with its JSON type kept (a project is often a
// string, ids are numbers).
type Value struct{ raw json.RawMessage }

// IsZero reports whether the value is absent.
func (v Value) IsZero() bool { return len(v.raw) == 0 }

// Raw returns the JSON text of the value (nil when absent).
func (v Value) Raw() json.RawMessage { return v.raw }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { return len(v.raw) > 0 && v.raw[0] == '"' }

// String returns a string's text, or the JSON text of any other value.
func (v Value) String() string {
	if v.IsString() {
		var s string
		if json.Unmarshal(v.raw, &s) == nil {
			return s
		}
	}
	return string(v.raw)
}

// Int64 returns the value as an integer, when it is an integer number.
func (v Value) Int64() (int64, bool) {
	if len(v.raw) == 0 || v.IsString() {
		return 0, false
	}
	i, err := strconv.ParseInt(string(v.raw), 10, 64)
	return i, err == nil
}

// MarshalJSON writes the value as it came (null when absent).
func (v Value) MarshalJSON() ([]byte, error) {
	if len(v.raw) == 0 {
		return []byte("null"), nil
	}
	return v.raw, nil
}

// UnmarshalJSON keeps the JSON text.
func (v *Value) UnmarshalJSON(b []byte) error {
	v.raw = append(json.RawMessage(nil), bytes.TrimSpace(b)...)
	return nil
}

// NewValue returns the Value of a Go string, number or bool.
func NewValue(x any) Value {
	b, err := json.Marshal(x)
	if err != nil {
		return Value{}
	}
	return Value{raw: b}
}

// ParseIngest reads and validates an ingest event's data: a JSON list of entries, each
// with a destinationTable. Entries that are not objects, unknown tables, and unknown keys
// are ignored. Errors wrap ErrInvalid and name the entry at fault.
func ParseIngest(data []byte) (*Ingest, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%w: data: want a list of entries: %s", ErrInvalid, jsonErr(err))
	}
	return readIngest(len(entries), func(i int) (entry, bool) {
		var e map[string]json.RawMessage
		if json.Unmarshal(entries[i], &e) != nil {
			return nil, false // not an object: junk, ignored
		}
		return rawEntry(e), true
	})
}

// IngestFromDocument is ParseIngest(e.Data()) read from doc, the event's document as
// jsonpath2.Decode(e.Document()) gives it, instead of decoding the data again: the same
// entries, errors and validation, for the price of a walk over values already decoded. The
// Raw text of its Values is written again from the decoded values: the same JSON values,
// not always the same text (a string's escapes). When doc has no data list (no data, null,
// not a list, or doc is not an event document), it is ParseIngest(e.Data()).
func (e *Event) IngestFromDocument(doc any) (*Ingest, error) {
	if o, ok := doc.(*jsonpath2.Object); ok {
		if d, _ := o.Get("data"); d != nil {
			if entries, ok := d.([]any); ok {
				return readIngest(len(entries), func(i int) (entry, bool) {
					o, ok := entries[i].(*jsonpath2.Object)
					return docEntry{o}, ok
				})
			}
		}
	}
	return ParseIngest(e.Data())
}

// readIngest reads the n entries of an ingest event's data (at gives the i-th, and false
// when it is not an object) and validates them.
func readIngest(n int, at func(i int) (entry, bool)) (*Ingest, error) {
	in := &Ingest{}
	seen := map[string]bool{}
	for i := range n {
		e, ok := at(i)
		if !ok {
			continue
		}
		t := e.get("destinationTable")
		if t.kind != kindString {
			continue
		}
		switch table := t.text(); {
		case strings.HasPrefix(table, "Transactions."):
			field := strings.TrimPrefix(table, "Transactions.")
			dst := in.Transaction.field(field)
			if dst == nil {
				continue // a Transactions field we do not use
			}
			if seen[table] {
				return nil, fmt.Errorf("%w: %s given twice (data entry %d)", ErrInvalid, table, i)
			}
			seen[table] = true
			v, err := scalar(e.get("value"))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, table, err)
			}
			*dst = v
		case table == "TransactionKeyValue":
			kv, err := keyValue(e)
			if err != nil {
				return nil, fmt.Errorf("%w: %v (data entry %d)", ErrInvalid, err, i)
			}
			in.KeyValues = append(in.KeyValues, kv)
		case table == "Files":
			f, err := file(e)
			if err != nil {
				return nil, fmt.Errorf("%w: %v (data entry %d)", ErrInvalid, err, i)
			}
			in.Files = append(in.Files, f)
		case table == "FileKeyValue":
			var fkv FileKeyValue
			if k := e.get("key"); k.kind == kindString {
				fkv.Key = k.text()
			}
			fkv.Value, _ = scalar(e.get("value"))
			fkv.FileID, _ = scalar(e.get("file_id"))
			in.FileKeyValues = append(in.FileKeyValues, fkv)
		}
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	return in, nil
}

func (t *Transaction) field(name string) *Value {
	switch name {
	case "_id":
		return &t.ID
	case "submitter":
		return &t.Submitter
	case "project":
		return &t.Project
	case "instrument":
		return &t.Instrument
	case "description":
		return &t.Description
	case "analytical_tool":
		return &t.AnalyticalTool
	case "suspense_date":
		return &t.SuspenseDate
	}
	return nil
}

// scalar accepts a string, number, boolean or null; objects and lists are errors.
func scalar(m member) (Value, error) {
	switch m.kind {
	case kindNothing:
		return Value{}, nil
	case kindObject, kindList:
		return Value{}, fmt.Errorf("value: want a string or a number, got %s", m.kind)
	}
	return m.value(), nil
}

func keyValue(e entry) (KeyValue, error) {
	var kv KeyValue
	k := e.get("key")
	if k.kind == kindString {
		kv.Key = k.text()
	}
	if kv.Key == "" {
		return kv, fmt.Errorf("TransactionKeyValue: key: want a non-empty string, got %s", k.kind)
	}
	v, err := scalar(e.get("value"))
	if err != nil {
		return kv, fmt.Errorf("key/value %q: %v", kv.Key, err)
	}
	kv.Value = v
	return kv, nil
}

func file(e entry) (File, error) {
	var f File
	label := func() string {
		if f.Name != "" {
			return fmt.Sprintf("file %q", f.Name)
		}
		return "a Files entry"
	}
	strField := func(key string, dst *string, required bool) error {
		m := e.get(key)
		switch m.kind {
		case kindNothing, kindNull:
			if required {
				return fmt.Errorf("%s: %s: missing", label(), key)
			}
			return nil
		case kindString:
			*dst = m.text()
			return nil
		}
		return fmt.Errorf("%s: %s: want a string, got %s", label(), key, m.kind)
	}
	intField := func(key string, dst *int64) error {
		m := e.get(key)
		switch m.kind {
		case kindNothing:
			return fmt.Errorf("%s: %s: missing", label(), key)
		case kindNumber:
		default:
			return fmt.Errorf("%s: %s: want an integer, got %s", label(), key, m.kind)
		}
		text := m.text()
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %s: want an integer, got %s", label(), key, text)
		}
		*dst = i
		return nil
	}
	if err := strField("name", &f.Name, true); err != nil {
		return f, err
	}
	for _, step := range []error{
		strField("subdir", &f.Subdir, false),
		intField("_id", &f.ID),
		intField("size", &f.Size),
		strField("hashtype", &f.HashType, true),
		strField("hashsum", &f.HashSum, true),
		strField("mimetype", &f.MimeType, false),
		strField("ctime", &f.CTime, false),
		strField("mtime", &f.MTime, false),
	} {
		if step != nil {
			return f, step
		}
	}
	return f, nil
}
