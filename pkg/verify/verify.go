// Package verify checks an ingest event against Pacifica's metadata before a job acts on
// it, and gives the job metadata's facts instead of the event's.
//
// Anyone who can reach the receiver can post an event, and an ingest event names the files
// to download (archive ids and hashes), the submitter, project and instrument of the
// upload, and the key/values that drive the job: a job that believed the event could be
// made to fetch another project's files and upload results anywhere. Pacifica's metadata
// service holds the truth: ingest stores a transaction there, and only then does metadata
// send its event, whose data is the upload's metadata as uploaded. So a job reads the
// transaction the event names (GET /transactioninfo/by_id/<id>), requires every claim of
// the event to agree with it, and works from metadata's values only.
package verify

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// Metadata reads a transaction from Pacifica's metadata service;
// *pacifica.MetadataClient is one.
type Metadata interface {
	TransactionInfo(ctx context.Context, id int64) (*pacifica.TransactionInfo, error)
}

// Mismatch is an event that Pacifica's metadata contradicts: the first difference found.
type Mismatch struct {
	// What differs: "submitter", "file 117 hashsum", "key/value proxymod.configs_count".
	What string
	// Event and Metadata are what each says; Absent means metadata has no such thing.
	Event, Metadata string
	Absent          bool
}

func (m *Mismatch) Error() string {
	if m.Absent {
		return fmt.Sprintf("event does not match Pacifica metadata: %s: event says %q, metadata has none", m.What, m.Event)
	}
	return fmt.Sprintf("event does not match Pacifica metadata: %s: event says %q, metadata says %q", m.What, m.Event, m.Metadata)
}

// Ingest reads job j's ingest event, fetches the transaction it names from metadata (once,
// for this attempt), checks the event against it (Compare) and returns the ingest data as
// metadata holds it (FromMetadata). Errors are classified for the worker: an unsafe event,
// an event without a transaction id, a transaction unknown to metadata, a difference, or
// metadata's facts failing the event checks are permanent; metadata unreachable, 5xx or a
// time-out is transient (a retryable *pacifica.Error); cancellation stays cancellation.
func Ingest(ctx context.Context, md Metadata, j *worker.Job) (*event.Ingest, error) {
	claimed, err := event.ParseIngest(j.Event.Data())
	if err != nil {
		// The event is unsafe: nothing of it is downloaded, run or uploaded.
		return nil, worker.Permanent(err)
	}
	id, err := TransactionID(claimed)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	info, err := md.TransactionInfo(ctx, id)
	if err != nil {
		if pacifica.IsRetryable(err) {
			j.Logf("Pacifica metadata did not answer for transaction %d: %v", id, err)
		}
		return nil, err // *pacifica.UnknownTransactionError and 4xx: permanent; the rest: retryable
	}
	if err := Compare(claimed, info); err != nil {
		j.Logf("%v", err)
		return nil, worker.Permanent(err)
	}
	in, err := FromMetadata(claimed, info)
	if err != nil {
		j.Logf("%v", err)
		return nil, worker.Permanent(fmt.Errorf("transaction %d in Pacifica metadata: %w", id, err))
	}
	j.Logf("the event agrees with Pacifica metadata: transaction %d, %d files, %d key/values", id, len(in.Files), len(in.KeyValues))
	return in, nil
}

// TransactionID is the transaction an ingest event names: its Transactions._id, an
// integer (a number, or a string holding one), not negative.
func TransactionID(in *event.Ingest) (int64, error) {
	v := in.Transaction.ID
	if v.IsZero() {
		return 0, fmt.Errorf("the event names no transaction (no Transactions._id): it cannot be checked against Pacifica metadata")
	}
	id, ok := v.Int64()
	if !ok && v.IsString() {
		var err error
		id, err = strconv.ParseInt(v.String(), 10, 64)
		ok = err == nil
	}
	if !ok || id < 0 {
		return 0, fmt.Errorf("the event's Transactions._id %s is not a transaction id", v.Raw())
	}
	return id, nil
}

// Compare returns the first claim of the event that metadata's transaction contradicts, as
// a *Mismatch, or nil. In order: the transaction id; the submitter, project and
// instrument the event gives (compared as text: 10 and "10" are the same id); each file the
// event names, in event order (it must be a file of the transaction, with the same name,
// subdir once normalised, size, hash type and hash sum, both compared without regard to
// case, and mimetype when the event gives one); each key/value the event carries, in event
// order (metadata keeps values as strings: a string must be the same text, a number the
// same number, true, false and null Python's True, False and None). A field the event
// leaves out claims nothing; what metadata has beyond the event's claims is no difference.
func Compare(claimed *event.Ingest, info *pacifica.TransactionInfo) error {
	id, err := TransactionID(claimed)
	if err != nil {
		return err
	}
	if id != info.ID {
		return &Mismatch{What: "transaction", Event: strconv.FormatInt(id, 10), Metadata: strconv.FormatInt(info.ID, 10)}
	}
	for _, f := range []struct {
		name  string
		event event.Value
		meta  string
		has   bool
	}{
		{"submitter", claimed.Transaction.Submitter, intText(info.Submitter), info.Submitter != nil},
		{"project", claimed.Transaction.Project, strText(info.Project), info.Project != nil},
		{"instrument", claimed.Transaction.Instrument, intText(info.Instrument), info.Instrument != nil},
	} {
		if f.event.IsZero() {
			continue
		}
		if !f.has {
			return &Mismatch{What: f.name, Event: f.event.String(), Absent: true}
		}
		if f.event.String() != f.meta {
			return &Mismatch{What: f.name, Event: f.event.String(), Metadata: f.meta}
		}
	}
	for _, f := range claimed.Files {
		mf, ok := info.Files[f.ID]
		what := "file " + strconv.FormatInt(f.ID, 10)
		if !ok {
			return &Mismatch{What: what, Event: f.Path(), Absent: true}
		}
		m := fileOf(mf)
		for _, c := range []struct {
			field       string
			event, meta string
			same        bool
		}{
			{"name", f.Name, m.Name, f.Name == m.Name},
			{"subdir", f.Dir(), m.Dir(), f.Dir() == m.Dir()},
			{"size", strconv.FormatInt(f.Size, 10), strconv.FormatInt(m.Size, 10), f.Size == m.Size},
			{"hashtype", f.HashType, m.HashType, strings.EqualFold(f.HashType, m.HashType)},
			{"hashsum", f.HashSum, m.HashSum, strings.EqualFold(f.HashSum, m.HashSum)},
			{"mimetype", f.MimeType, m.MimeType, f.MimeType == "" || f.MimeType == m.MimeType},
		} {
			if !c.same {
				return &Mismatch{What: what + " " + c.field, Event: c.event, Metadata: c.meta}
			}
		}
	}
	for _, kv := range claimed.KeyValues {
		what := "key/value " + kv.Key
		mv, ok := info.KeyValues[kv.Key]
		if !ok {
			return &Mismatch{What: what, Event: kv.Value.String(), Absent: true}
		}
		if !sameValue(kv.Value, mv) {
			return &Mismatch{What: what, Event: kv.Value.String(), Metadata: mv}
		}
	}
	return nil
}

// FromMetadata is the ingest data of a job as metadata holds it, for an event that Compare
// accepted: metadata's transaction id, submitter, project and instrument; the files the
// event names, in event order, then the transaction's other files in id order, each with
// metadata's fields; the key/values the event carries, in event order (a key once), then
// metadata's others in key order, each with metadata's value (a string). FileKeyValues and
// the other Transactions fields are left empty: no job uses them. The result passes the
// checks of event.ParseIngest (Validate), or the error says why not.
func FromMetadata(claimed *event.Ingest, info *pacifica.TransactionInfo) (*event.Ingest, error) {
	in := &event.Ingest{Transaction: event.Transaction{ID: event.NewValue(info.ID)}}
	if info.Submitter != nil {
		in.Transaction.Submitter = event.NewValue(*info.Submitter)
	}
	if info.Project != nil {
		in.Transaction.Project = event.NewValue(*info.Project)
	}
	if info.Instrument != nil {
		in.Transaction.Instrument = event.NewValue(*info.Instrument)
	}
	named := map[int64]bool{}
	for _, f := range claimed.Files {
		if mf, ok := info.Files[f.ID]; ok && !named[f.ID] {
			named[f.ID] = true
			in.Files = append(in.Files, fileOf(mf))
		}
	}
	for _, mf := range info.SortedFiles() {
		if !named[mf.ID] {
			in.Files = append(in.Files, fileOf(mf))
		}
	}
	carried := map[string]bool{}
	for _, kv := range claimed.KeyValues {
		if mv, ok := info.KeyValues[kv.Key]; ok && !carried[kv.Key] {
			carried[kv.Key] = true
			in.KeyValues = append(in.KeyValues, event.KeyValue{Key: kv.Key, Value: event.NewValue(mv)})
		}
	}
	var others []string
	for k := range info.KeyValues {
		if !carried[k] {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	for _, k := range others {
		in.KeyValues = append(in.KeyValues, event.KeyValue{Key: k, Value: event.NewValue(info.KeyValues[k])})
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return in, nil
}

func fileOf(f pacifica.TransactionFile) event.File {
	return event.File{ID: f.ID, Name: f.Name, Subdir: f.Subdir, Size: f.Size, HashType: f.HashType,
		HashSum: f.HashSum, MimeType: f.MimeType, CTime: f.CTime, MTime: f.MTime}
}

// sameValue reports whether an event's key/value value is the string metadata keeps for
// it (Python's str() of the uploaded value).
func sameValue(v event.Value, meta string) bool {
	if v.IsString() {
		return v.String() == meta
	}
	text := string(v.Raw())
	switch text {
	case "true":
		return meta == "True"
	case "false":
		return meta == "False"
	case "null":
		return meta == "None"
	}
	if text == meta {
		return true
	}
	if !strings.ContainsAny(text, ".eE") {
		return false // an integer: Python writes its digits
	}
	a, err1 := strconv.ParseFloat(text, 64)
	b, err2 := strconv.ParseFloat(meta, 64)
	return err1 == nil && err2 == nil && a == b
}

func intText(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

func strText(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
