package pacifica

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

const metadata = "metadata"

// MetadataMaxBytes bounds an answer of the metadata service (a transaction of about a
// hundred thousand files); a longer one is refused.
const MetadataMaxBytes = 64 << 20

// MetadataClient reads what Pacifica's metadata service knows about a transaction. The
// metadata service is the source of truth behind every ingest event: ingest stores an
// upload's metadata there, and only then does metadata send the event. Reads need no
// rights of their own; the configuration's credentials are sent for a fronting proxy.
type MetadataClient struct {
	c        caller
	base     string
	maxBytes int64
}

// TransactionInfo is metadata's whole view of one transaction, the answer of GET
// /transactioninfo/by_id/<id> (pacifica-metadata v0.13.0). Submitter and instrument are
// numbers and the project a string, as metadata's tables hold them; nil when metadata has
// none. Key/values are strings whatever JSON type the upload gave them ("78", not 78).
type TransactionInfo struct {
	ID         int64   `json:"_id"`
	Submitter  *int64  `json:"submitter"`
	Project    *string `json:"project"`
	Instrument *int64  `json:"instrument"`
	Created    string  `json:"created"`
	// FileIDs lists the ids of Files (order not meaningful).
	FileIDs []int64 `json:"file_ids"`
	// Files are the transaction's files by id; metadata keys them by the id's text.
	Files     map[int64]TransactionFile `json:"-"`
	KeyValues map[string]string         `json:"key_values"`
}

// TransactionFile is a file of a transaction as metadata holds it. Subdir is "" at the
// root.
type TransactionFile struct {
	ID          int64  `json:"_id"`
	Name        string `json:"name"`
	Subdir      string `json:"subdir"`
	Size        int64  `json:"size"`
	HashType    string `json:"hashtype"`
	HashSum     string `json:"hashsum"`
	MimeType    string `json:"mimetype"`
	CTime       string `json:"ctime"`
	MTime       string `json:"mtime"`
	Transaction int64  `json:"transaction"`
}

// SortedFiles returns the files in id order.
func (t *TransactionInfo) SortedFiles() []TransactionFile {
	out := make([]TransactionFile, 0, len(t.Files))
	for _, f := range t.Files {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b TransactionFile) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// UnknownTransactionError is the answer for a transaction metadata does not have (404).
// Retrying does not help: metadata stores a transaction before its event is sent.
type UnknownTransactionError struct {
	ID int64
	// Message is metadata's own message ("No Transaction with an ID of 79 was found").
	Message string
}

func (e *UnknownTransactionError) Error() string {
	return fmt.Sprintf("transaction %d is unknown to Pacifica metadata", e.ID)
}

// Retryable reports false: the transaction will not appear later.
func (e *UnknownTransactionError) Retryable() bool { return false }

// TransactionInfo reads transaction id: GET <METADATA_URL>/transactioninfo/by_id/<id>.
// Metadata answers 200 with one object, 404 for an unknown id
// (*UnknownTransactionError), 400 ("400 Invalid Transaction ID") for an id that is not a
// number. A 4xx or an answer that is not that object is a permanent *Error; no answer, a
// 5xx, 429 or a time-out is a retryable one (IsRetryable).
func (m *MetadataClient) TransactionInfo(ctx context.Context, id int64) (*TransactionInfo, error) {
	op := fmtOp("transaction info %d", id)
	code, _, body, err := m.c.callLimit(ctx, metadata, op, http.MethodGet,
		m.base+"/transactioninfo/by_id/"+strconv.FormatInt(id, 10), nil, nil, m.maxBytes)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > m.maxBytes {
		return nil, &Error{Service: metadata, Op: op, StatusCode: code,
			Message: fmt.Sprintf("the answer is larger than %d bytes", m.maxBytes)}
	}
	switch code {
	case http.StatusOK:
	case http.StatusNotFound:
		var pj struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &pj)
		return nil, &UnknownTransactionError{ID: id, Message: pj.Message}
	default:
		return nil, statusError(metadata, op, code, body)
	}
	info, err := parseTransactionInfo(body)
	if err != nil {
		return nil, &Error{Service: metadata, Op: op, StatusCode: code, Message: "unexpected answer: " + err.Error()}
	}
	if info.ID != id {
		return nil, &Error{Service: metadata, Op: op, StatusCode: code,
			Message: fmt.Sprintf("unexpected answer: the transaction of the answer is %d", info.ID)}
	}
	return info, nil
}

// parseTransactionInfo reads the answer: every field with its documented type, files keyed
// by their own id's text.
func parseTransactionInfo(body []byte) (*TransactionInfo, error) {
	var raw struct {
		TransactionInfo
		ID    *int64                     `json:"_id"`
		Files map[string]TransactionFile `json:"files"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%v: %s", err, excerpt(body))
	}
	if raw.ID == nil {
		return nil, fmt.Errorf("no _id: %s", excerpt(body))
	}
	info := raw.TransactionInfo
	info.ID = *raw.ID
	info.Files = make(map[int64]TransactionFile, len(raw.Files))
	for k, f := range raw.Files {
		if k != strconv.FormatInt(f.ID, 10) {
			return nil, fmt.Errorf("file %q has the _id %d", k, f.ID)
		}
		info.Files[f.ID] = f
	}
	if info.KeyValues == nil {
		info.KeyValues = map[string]string{}
	}
	return &info, nil
}
