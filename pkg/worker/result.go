package worker

import (
	"encoding/json"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// ResultMeta is the metadata every upload of the job's results carries, whatever its kind:
// the source transaction's submitter, project and instrument; the lineage key/value
// Transactions._id = the source's id, which marks the upload as this service's (routes skip
// such events unless they ask for them); and dispatcher.job_id = the job's id, by which a
// retry finds an upload an earlier attempt made (pacifica.IngestClient.UploadOnce, with
// identity naming the key/values that tell one of the job's uploads from another). The
// handler appends its own key/values.
func (j *Job) ResultMeta(in *event.Ingest, identity ...string) pacifica.UploadMeta {
	m := pacifica.UploadMeta{
		Submitter:    in.Transaction.Submitter.Raw(),
		Project:      in.Transaction.Project.Raw(),
		Instrument:   in.Transaction.Instrument.Raw(),
		IdentityKeys: identity,
	}
	if id := in.Transaction.ID.Raw(); id != nil {
		m.KeyValues = append(m.KeyValues, pacifica.KeyValue{Key: pacifica.LineageKey, Value: id})
	}
	m.KeyValues = append(m.KeyValues, pacifica.KeyValue{Key: pacifica.JobIDKey, Value: JSONValue(j.ID.String())})
	return m
}

// CartFiles are the event's files as cartd is asked for them (archive id, path, hash, size),
// and their total size.
func CartFiles(files []event.File) ([]pacifica.CartFile, int64) {
	out := make([]pacifica.CartFile, 0, len(files))
	var size int64
	for _, f := range files {
		out = append(out, pacifica.CartFile{ID: f.ID, Path: f.Path(), HashType: f.HashType, HashSum: f.HashSum, Size: f.Size})
		size += f.Size
	}
	return out, size
}

// JSONValue is v encoded as JSON, for key/values and job details; v must be encodable
// (strings, numbers, the handlers' own detail structs).
func JSONValue(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
