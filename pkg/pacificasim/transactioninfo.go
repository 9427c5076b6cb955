package pacificasim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// transactionInfoPrefix is the path of metadata's whole view of one transaction.
const transactionInfoPrefix = "/transactioninfo/by_id/"

// serveTransactionInfo answers GET /transactioninfo/by_id/<id> as pacifica-metadata
// v0.13.0 does: one JSON object with the transaction's _id (and transaction_id),
// submitter, project and instrument (and their *_id twins), times, release state and
// names, file_ids, files keyed by the file id as a string, and key_values as a flat object
// of strings, whatever JSON type the upload gave them ("78", not 78). Submitter and
// instrument are numbers and project a string, as metadata's tables hold them. An id that
// is not a number answers 400 with the status line "400 Invalid Transaction ID"; an unknown
// id answers 404 with the message "No Transaction with an ID of <id> was found".
//
// The simulator knows no names: submitter_name, project_name and instrument_name are made
// from the ids. A submitter or instrument uploaded as something other than an integer (a
// number or a string holding one) is written as it was uploaded, and a field the upload
// left out is null, where the real service would have refused the upload.
func (s *Sim) serveTransactionInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "the simulated metadata service is read-only")
		return
	}
	text := strings.TrimPrefix(r.URL.Path, transactionInfoPrefix)
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		writeInvalidTransactionID(w)
		return
	}
	tx, ok := s.Transaction(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No Transaction with an ID of %d was found", id))
		return
	}
	o, err := transactionInfo(tx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// writeInvalidTransactionID answers 400 with CherryPy's custom status line, "400 Invalid
// Transaction ID", which net/http cannot write itself: the response is written on the
// hijacked connection. Where the connection cannot be hijacked (HTTP/2), the status line is
// net/http's and only the body says so.
func writeInvalidTransactionID(w http.ResponseWriter) {
	const status = "400 Invalid Transaction ID"
	body, err := pyjson.MarshalGo(errorBody{Status: status, Message: "Invalid Transaction ID", Version: ServerVersion})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, len(body))
	_, _ = buf.Write(body)
	_ = buf.Flush()
}

// transactionInfo builds the object of one transaction.
func transactionInfo(tx Transaction) (*pyjson.Object, error) {
	created := isoformat(tx.Created)
	submitter, err := idField(tx.Fields["submitter"])
	if err != nil {
		return nil, fmt.Errorf("submitter: %w", err)
	}
	instrument, err := idField(tx.Fields["instrument"])
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	project, err := projectField(tx.Fields["project"])
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	o := &pyjson.Object{}
	o.Set("_id", jsonInt(tx.ID))
	o.Set("transaction_id", jsonInt(tx.ID))
	o.Set("submitter", submitter)
	o.Set("submitter_id", submitter)
	o.Set("project", project)
	o.Set("project_id", project)
	o.Set("instrument", instrument)
	o.Set("instrument_id", instrument)
	o.Set("submitted", created)
	o.Set("created", created)
	o.Set("updated", created)
	o.Set("deleted", nil)
	o.Set("release_date", nil)
	o.Set("release_state", "not_released")
	o.Set("release_state_display", "Not Released")
	o.Set("submitter_name", displayName("User", submitter))
	o.Set("project_name", displayName("Project", project))
	o.Set("instrument_name", displayName("Instrument", instrument))
	ids := make([]any, 0, len(tx.Files))
	files := &pyjson.Object{}
	for _, f := range tx.Files {
		ids = append(ids, jsonInt(f.ID))
		files.Set(strconv.FormatInt(f.ID, 10), &pyjson.Object{
			Keys: []string{"_id", "name", "subdir", "mimetype", "ctime", "mtime", "transaction", "size",
				"hashsum", "hashtype", "suspense_date", "encoding", "key_values", "created", "updated", "deleted"},
			Values: []any{jsonInt(f.ID), f.Name, f.Subdir, f.MimeType, f.CTime, f.MTime, jsonInt(tx.ID), jsonInt(f.Size),
				f.HashSum, f.HashType, nil, "UTF8", &pyjson.Object{}, created, created, nil},
		})
	}
	o.Set("file_ids", ids)
	o.Set("files", files)
	kvs := &pyjson.Object{}
	for _, kv := range tx.KeyValues {
		v, err := pyjson.Decode(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("key/value %q: %w", kv.Key, err)
		}
		kvs.Set(kv.Key, pyStr(v)) // a key given twice keeps its last value, as a dict does
	}
	o.Set("key_values", kvs)
	return o, nil
}

// idField is a submitter or instrument as metadata holds it: an integer (from a number or
// a string holding one), null when absent, the uploaded value otherwise.
func idField(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := pyjson.Decode(raw)
	if err != nil {
		return nil, err
	}
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	default:
		return v, nil
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return jsonInt(i), nil
	}
	return v, nil
}

// projectField is a project as metadata holds it: a string (a number's text), null when
// absent.
func projectField(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := pyjson.Decode(raw)
	if err != nil {
		return nil, err
	}
	if n, ok := v.(json.Number); ok {
		return pyStr(n), nil
	}
	return v, nil
}

func displayName(kind string, id any) string {
	if id == nil {
		return ""
	}
	return fmt.Sprintf("%s %v", kind, id)
}

// pyStr is Python's str() of a decoded JSON scalar: a string as it is, an integer's digits,
// a float as Python writes it ("1.5", "1000.0", "1e+22"), True, False, None.
func pyStr(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case json.Number:
		s := v.String()
		if !strings.ContainsAny(s, ".eE") {
			return s // Python's int: any size, its digits
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return s
		}
		return pyFloatRepr(f)
	}
	b, _ := pyjson.Marshal(v)
	return string(b)
}

// pyFloatRepr is Python's repr of a float: the shortest digits that read back the same, in
// fixed notation with at least one decimal when the exponent is in [-4, 16), else in
// exponent notation with a sign and at least two digits.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
