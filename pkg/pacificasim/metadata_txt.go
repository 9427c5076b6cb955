package pacificasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// Destination tables of metadata entries.
const (
	tableFiles     = "Files"
	tableKeyValue  = "TransactionKeyValue"
	txFieldPrefix  = "Transactions."
	txIDTable      = "Transactions._id"
	eventTypeIngst = "org.pacifica.metadata.ingest"
)

// parseMetadata reads a bundle's metadata.txt: a JSON list of objects, each with a string
// "destinationTable". Key order and number texts are kept, for the event.
func parseMetadata(data []byte) ([]*pyjson.Object, error) {
	v, err := pyjson.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", metadataName, err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a JSON list", metadataName)
	}
	out := make([]*pyjson.Object, 0, len(list))
	for i, e := range list {
		obj, ok := e.(*pyjson.Object)
		if !ok {
			return nil, fmt.Errorf("%s: entry %d is not an object", metadataName, i)
		}
		if _, ok := table(obj); !ok {
			return nil, fmt.Errorf("%s: entry %d has no string destinationTable", metadataName, i)
		}
		out = append(out, obj)
	}
	return out, nil
}

func table(obj *pyjson.Object) (string, bool) {
	v, _ := obj.Get("destinationTable")
	t, ok := v.(string)
	return t, ok
}

// transactionFields collects the Transactions.<field> entries: a field given twice, or
// Transactions._id, fails the upload.
func transactionFields(meta []*pyjson.Object) (map[string]json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	for _, obj := range meta {
		t, _ := table(obj)
		if !strings.HasPrefix(t, txFieldPrefix) {
			continue
		}
		if t == txIDTable {
			return nil, errors.New("Transactions._id is given by the upload: ingest assigns it")
		}
		name := strings.TrimPrefix(t, txFieldPrefix)
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("%s is given more than once", t)
		}
		v, ok := obj.Get("value")
		if !ok {
			return nil, fmt.Errorf("%s has no value", t)
		}
		raw, err := pyjson.Marshal(v)
		if err != nil {
			return nil, err
		}
		fields[name] = compact(raw)
	}
	return fields, nil
}

// fileMeta is a Files entry of metadata.txt.
type fileMeta struct {
	obj                    *pyjson.Object
	name, subdir           string
	size                   int64
	hashType, hashSum      string
	mimeType, ctime, mtime string
	hasMimeType            bool
}

// fileEntries reads the Files entries, in metadata order.
func fileEntries(meta []*pyjson.Object) ([]fileMeta, error) {
	var out []fileMeta
	for _, obj := range meta {
		if t, _ := table(obj); t != tableFiles {
			continue
		}
		f := fileMeta{obj: obj}
		var err error
		if f.name, err = stringField(obj, "name", true); err != nil {
			return nil, err
		}
		if f.subdir, err = stringField(obj, "subdir", false); err != nil {
			return nil, err
		}
		if f.hashType, err = stringField(obj, "hashtype", true); err != nil {
			return nil, err
		}
		if f.hashSum, err = stringField(obj, "hashsum", true); err != nil {
			return nil, err
		}
		sz, _ := obj.Get("size")
		n, ok := sz.(json.Number)
		if !ok {
			return nil, fmt.Errorf("Files entry %q: size is not an integer", f.name)
		}
		if f.size, err = strconv.ParseInt(n.String(), 10, 64); err != nil || f.size < 0 {
			return nil, fmt.Errorf("Files entry %q: size %s is not an integer", f.name, n)
		}
		if mt, present := obj.Get("mimetype"); present {
			f.mimeType, ok = mt.(string)
			if !ok {
				return nil, fmt.Errorf("Files entry %q: mimetype is not a string", f.name)
			}
			f.hasMimeType = true
		}
		f.ctime, f.mtime = opaque(obj, "ctime"), opaque(obj, "mtime")
		out = append(out, f)
	}
	return out, nil
}

// tarName is where ingest looks for the file in the bundle: Python's
// os.path.join("data", subdir, name).
func (f fileMeta) tarName() string {
	return pyJoin("data", f.subdir, f.name)
}

func pyJoin(parts ...string) string {
	out := ""
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "/"):
			out = p
		case out == "" || strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

func stringField(obj *pyjson.Object, key string, required bool) (string, error) {
	v, present := obj.Get(key)
	if !present {
		if required {
			return "", fmt.Errorf("Files entry has no %s", key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("Files entry: %s is not a string", key)
	}
	return s, nil
}

// opaque returns a string field as it is, any other value as its JSON text.
func opaque(obj *pyjson.Object, key string) string {
	v, present := obj.Get(key)
	if !present {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := pyjson.Marshal(v)
	return string(b)
}

// mimeTypeRE is what Pacifica's metadata accepts as a mimetype: type/subtype with one of
// the registered top-level types.
var mimeTypeRE = regexp.MustCompile(`^(?i:application|audio|font|example|image|message|model|multipart|text|video)/[A-Za-z0-9!#$&^_.+-]+$`)

// checkIngestMetadata runs the checks of the "ingest metadata" task: mimetypes and
// key/value shapes. It returns the key/values in metadata order.
func checkIngestMetadata(meta []*pyjson.Object, files []fileMeta) ([]KeyValue, error) {
	for _, f := range files {
		if !mimeTypeRE.MatchString(f.mimeType) {
			return nil, fmt.Errorf("Files entry %q: invalid mimetype %q", f.name, f.mimeType)
		}
	}
	var kvs []KeyValue
	for _, obj := range meta {
		if t, _ := table(obj); t != tableKeyValue {
			continue
		}
		k, _ := obj.Get("key")
		key, ok := k.(string)
		if !ok {
			return nil, errors.New("TransactionKeyValue entry without a string key")
		}
		v, _ := obj.Get("value")
		switch v.(type) {
		case string, json.Number:
		default:
			return nil, fmt.Errorf("TransactionKeyValue %q: the value is not a string or a number", key)
		}
		raw, err := pyjson.Marshal(v)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, KeyValue{Key: key, Value: compact(raw)})
	}
	return kvs, nil
}

// compact returns a JSON scalar or document without Python's separators' spaces.
func compact(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return json.RawMessage(raw)
	}
	return json.RawMessage(buf.Bytes())
}
