package pacificasim

import (
	"encoding/json"
	"strconv"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// Event is an event notifications received: built by ingest after an upload, or POSTed to
// /receive.
type Event struct {
	// ID is the event's eventID ("" when it has none).
	ID string
	// Body is the event as notifications received it, in Python's JSON form.
	Body json.RawMessage
	// Received is true for an event POSTed to /receive, false for one built by ingest.
	Received bool
	// Lost is true when a fault of notifications made the metadata service's POST fail:
	// Pacifica only logs that, and the event goes nowhere.
	Lost bool
	// Routed lists the subscriptions the event was routed to.
	Routed []string
}

// ingestEvent builds the event of a stored transaction as Pacifica's metadata service
// does: the CloudEvents 0.1 envelope, its keys in this order, and as data the uploaded
// metadata entries, the Files entries given their _id, with Transactions._id appended last.
func ingestEvent(txID int64, meta []*pyjson.Object, fileIDs map[*pyjson.Object]int64, eventTime string) ([]byte, error) {
	data := make([]any, 0, len(meta)+1)
	for _, obj := range meta {
		c := obj.Clone()
		if id, ok := fileIDs[obj]; ok {
			c.Set("_id", json.Number(strconv.FormatInt(id, 10)))
		}
		data = append(data, c)
	}
	data = append(data, &pyjson.Object{
		Keys:   []string{"destinationTable", "value"},
		Values: []any{txIDTable, json.Number(strconv.FormatInt(txID, 10))},
	})
	id := strconv.FormatInt(txID, 10)
	env := &pyjson.Object{
		Keys: []string{"cloudEventsVersion", "eventType", "source", "eventID", "eventTime",
			"extensions", "contentType", "data"},
		Values: []any{"0.1", eventTypeIngst, "http://metadata.pacifica.org/transactions?_id=" + id,
			"metadata.ingest." + id, eventTime, &pyjson.Object{}, "application/json", data},
	}
	return pyjson.Marshal(env)
}
