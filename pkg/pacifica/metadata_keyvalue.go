package pacifica

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// TransactionsWithKeyValue returns the ids of the transactions that carry the key/value
// key = value, in increasing order; none is an empty list, not an error. Value is the
// text metadata keeps (Python's str() of the uploaded value: "78" for 78, the string
// itself for a string).
//
// Metadata stores each key text and each value text once and links them to transactions,
// so it takes three reads: GET /keys?key=<key> and GET /values?value=<value> (with
// recursion_depth=0, which leaves out the lists of every transaction using the text) give
// their ids, and GET /trans_key_value?key=<key id>&value=<value id> the transactions
// holding the pair. Texts are compared exactly here too (a database may compare them
// without case); deleted rows are left out. An empty key or value is refused without a
// request: metadata answers an empty parameter with 500. Errors are classified as
// TransactionInfo's: no answer, a 5xx, 429 or a time-out is retryable, anything else
// (4xx, an answer that is not the documented list) permanent.
func (m *MetadataClient) TransactionsWithKeyValue(ctx context.Context, key, value string) ([]int64, error) {
	op := fmtOp("transactions with %s = %q", key, value)
	if key == "" || value == "" {
		return nil, &Error{Service: metadata, Op: op, Message: "an empty key or value cannot be searched"}
	}
	keyIDs, err := m.textIDs(ctx, op, "keys", "key", key)
	if err != nil || len(keyIDs) == 0 {
		return nil, err
	}
	valueIDs, err := m.textIDs(ctx, op, "values", "value", value)
	if err != nil || len(valueIDs) == 0 {
		return nil, err
	}
	var out []int64
	for _, k := range keyIDs {
		for _, v := range valueIDs {
			var rows []struct {
				Transaction *int64  `json:"transaction"`
				Key         int64   `json:"key"`
				Value       int64   `json:"value"`
				Deleted     *string `json:"deleted"`
			}
			q := url.Values{"key": {strconv.FormatInt(k, 10)}, "value": {strconv.FormatInt(v, 10)}}
			if err := m.getList(ctx, op, "/trans_key_value?"+q.Encode(), &rows); err != nil {
				return nil, err
			}
			for _, r := range rows {
				if r.Transaction == nil || r.Key != k || r.Value != v {
					return nil, &Error{Service: metadata, Op: op, StatusCode: http.StatusOK,
						Message: fmt.Sprintf("unexpected answer: a row of another pair or without a transaction (%d, %d)", r.Key, r.Value)}
				}
				if r.Deleted == nil {
					out = append(out, *r.Transaction)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// textIDs returns the ids of the rows of table (keys or values) whose field is text.
func (m *MetadataClient) textIDs(ctx context.Context, op, table, field, text string) ([]int64, error) {
	var rows []map[string]json.RawMessage
	q := url.Values{field: {text}, "recursion_depth": {"0"}}
	if err := m.getList(ctx, op, "/"+table+"?"+q.Encode(), &rows); err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range rows {
		var id *int64
		var got string
		if json.Unmarshal(r["_id"], &id) != nil || id == nil || json.Unmarshal(r[field], &got) != nil {
			return nil, &Error{Service: metadata, Op: op, StatusCode: http.StatusOK,
				Message: fmt.Sprintf("unexpected answer of /%s: a row without a numeric _id or a text %s", table, field)}
		}
		var deleted *string
		_ = json.Unmarshal(r["deleted"], &deleted)
		if got == text && deleted == nil {
			ids = append(ids, *id)
		}
	}
	return ids, nil
}

// getList reads a JSON list from metadata into v.
func (m *MetadataClient) getList(ctx context.Context, op, pathQuery string, v any) error {
	code, _, body, err := m.c.callLimit(ctx, metadata, op, http.MethodGet, m.base+pathQuery, nil, nil, m.maxBytes)
	if err != nil {
		return err
	}
	if int64(len(body)) > m.maxBytes {
		return &Error{Service: metadata, Op: op, StatusCode: code,
			Message: fmt.Sprintf("the answer is larger than %d bytes", m.maxBytes)}
	}
	if code != http.StatusOK {
		return statusError(metadata, op, code, body)
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '[' {
		return &Error{Service: metadata, Op: op, StatusCode: code, Message: "unexpected answer, not a list: " + excerpt(body)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Service: metadata, Op: op, StatusCode: code, Message: "unexpected answer: " + err.Error()}
	}
	return nil
}
