package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// refParseIngest is ParseIngest as it was before it shared its reading of entries with
// IngestFromDocument (validate and the Transactions fields are shared still), kept as the
// reference of the differential tests.
func refParseIngest(data []byte) (*Ingest, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%w: data: want a list of entries: %s", ErrInvalid, jsonErr(err))
	}
	in := &Ingest{}
	seen := map[string]bool{}
	for i, raw := range entries {
		var e map[string]json.RawMessage
		if json.Unmarshal(raw, &e) != nil {
			continue // not an object: junk, ignored
		}
		var table string
		if json.Unmarshal(e["destinationTable"], &table) != nil {
			continue
		}
		switch {
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
			v, err := refScalar(e["value"])
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, table, err)
			}
			*dst = v
		case table == "TransactionKeyValue":
			kv, err := refKeyValue(e)
			if err != nil {
				return nil, fmt.Errorf("%w: %v (data entry %d)", ErrInvalid, err, i)
			}
			in.KeyValues = append(in.KeyValues, kv)
		case table == "Files":
			f, err := refFile(e)
			if err != nil {
				return nil, fmt.Errorf("%w: %v (data entry %d)", ErrInvalid, err, i)
			}
			in.Files = append(in.Files, f)
		case table == "FileKeyValue":
			var fkv FileKeyValue
			_ = json.Unmarshal(e["key"], &fkv.Key)
			fkv.Value, _ = refScalar(e["value"])
			fkv.FileID, _ = refScalar(e["file_id"])
			in.FileKeyValues = append(in.FileKeyValues, fkv)
		}
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	return in, nil
}

// scalar accepts a string, number, boolean or null; objects and lists are errors.
func refScalar(raw json.RawMessage) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Value{}, nil
	}
	switch raw[0] {
	case '{', '[':
		return Value{}, fmt.Errorf("value: want a string or a number, got %s", jsonKind(raw))
	}
	return Value{raw: append(json.RawMessage(nil), raw...)}, nil
}

func refKeyValue(e map[string]json.RawMessage) (KeyValue, error) {
	var kv KeyValue
	if err := json.Unmarshal(e["key"], &kv.Key); err != nil || kv.Key == "" {
		return kv, fmt.Errorf("TransactionKeyValue: key: want a non-empty string, got %s", jsonKind(e["key"]))
	}
	v, err := refScalar(e["value"])
	if err != nil {
		return kv, fmt.Errorf("key/value %q: %v", kv.Key, err)
	}
	kv.Value = v
	return kv, nil
}

func refFile(e map[string]json.RawMessage) (File, error) {
	var f File
	label := func() string {
		if f.Name != "" {
			return fmt.Sprintf("file %q", f.Name)
		}
		return "a Files entry"
	}
	strField := func(key string, dst *string, required bool) error {
		raw, ok := e[key]
		if !ok || string(raw) == "null" {
			if required {
				return fmt.Errorf("%s: %s: missing", label(), key)
			}
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%s: %s: want a string, got %s", label(), key, jsonKind(raw))
		}
		return nil
	}
	intField := func(key string, dst *int64) error {
		raw, ok := e[key]
		if !ok {
			return fmt.Errorf("%s: %s: missing", label(), key)
		}
		var n json.Number
		if jsonKind(raw) != "a number" {
			return fmt.Errorf("%s: %s: want an integer, got %s", label(), key, jsonKind(raw))
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("%s: %s: want an integer, got %s", label(), key, jsonKind(raw))
		}
		i, err := n.Int64()
		if err != nil {
			return fmt.Errorf("%s: %s: want an integer, got %s", label(), key, n)
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
