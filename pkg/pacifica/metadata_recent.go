package pacifica

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MetadataTimeLayout is how the metadata service writes and reads times: ISO 8601 without
// a zone, in the service's local time (UTC on the usual install).
const MetadataTimeLayout = "2006-01-02T15:04:05.999999"

// RecentTransaction is one transaction of a listing: its id and when metadata stored it.
type RecentTransaction struct {
	ID      int64
	Created time.Time // read as UTC
}

// TransactionsCreatedAfter lists, oldest first, the transactions metadata stored after
// the time given (GET /transactions?created=<time>&created_operator=gt&recursion_depth=0,
// paged with items_per_page and page_number from 1). A transaction is listed once metadata
// stored it, which is before it sends its event.
func (m *MetadataClient) TransactionsCreatedAfter(ctx context.Context, after time.Time, page, perPage int) ([]RecentTransaction, error) {
	q := url.Values{"created": {after.UTC().Format(MetadataTimeLayout)}, "created_operator": {"gt"},
		"recursion_depth": {"0"}, "items_per_page": {strconv.Itoa(perPage)}, "page_number": {strconv.Itoa(page)}}
	op := fmtOp("transactions created after %s", q.Get("created"))
	code, _, body, err := m.c.callLimit(ctx, metadata, op, http.MethodGet, m.base+"/transactions?"+q.Encode(), nil, nil, m.maxBytes)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, statusError(metadata, op, code, body)
	}
	var raw []struct {
		ID      *int64 `json:"_id"`
		Created string `json:"created"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &Error{Service: metadata, Op: op, StatusCode: code, Message: "unexpected answer: " + excerpt(body)}
	}
	out := make([]RecentTransaction, 0, len(raw))
	for _, r := range raw {
		t, err := time.Parse(MetadataTimeLayout, r.Created)
		if r.ID == nil || err != nil {
			return nil, &Error{Service: metadata, Op: op, StatusCode: code,
				Message: fmt.Sprintf("unexpected answer: a transaction without _id or created time: %s", excerpt(body))}
		}
		out = append(out, RecentTransaction{ID: *r.ID, Created: t})
	}
	return out, nil
}
