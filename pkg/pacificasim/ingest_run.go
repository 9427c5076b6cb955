package pacificasim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// ingestRun is one upload being ingested.
type ingestRun struct {
	id     int64
	user   string
	dir    string // staged files
	bundle *bundle
	log    *slog.Logger
}

// runIngest advances the job through ingest's tasks, IngestStepDelay apart, and fails it in
// the task where Pacifica fails. On success it stores the transaction, then builds the
// ingest event and hands it to notifications, then marks the job complete.
func (s *Sim) runIngest(ctx context.Context, run *ingestRun) {
	defer os.RemoveAll(run.dir)
	task := ""
	begin := func(t string) bool {
		if !sleep(ctx, s.cfg.IngestStepDelay) {
			return false
		}
		task = t
		s.setJob(run.id, stateOK, t, 0, "")
		return true
	}
	fail := func(err error) {
		s.failJob(run.id, task, err)
		run.log.Info("ingest: job failed", "task", task, "error", err)
	}
	done := func() { s.setJob(run.id, stateOK, task, 100, "") }

	b := run.bundle
	if !begin(taskOpenTar) {
		return
	}
	if b.openErr != nil {
		fail(b.openErr)
		return
	}
	done()

	if !begin(taskLoadMetadata) {
		return
	}
	if !b.hasMetadata {
		fail(fmt.Errorf("filename '%s' not found", metadataName))
		return
	}
	if b.lastName != metadataName {
		fail(fmt.Errorf("%s is not the last entry of the bundle (the last is %q)", metadataName, b.lastName))
		return
	}
	meta, err := parseMetadata(b.metadata)
	if err != nil {
		fail(err)
		return
	}
	done()

	if !begin(taskPolicy) {
		return
	}
	fields, err := transactionFields(meta)
	if err == nil && s.cfg.IngestPolicy != nil {
		err = s.cfg.IngestPolicy(ctx, PolicyRequest{User: run.user,
			Submitter: fields["submitter"], Project: fields["project"], Instrument: fields["instrument"]})
	}
	if err != nil {
		fail(err)
		return
	}
	done()

	if !begin(taskIngestFiles) {
		return
	}
	files, err := fileEntries(meta)
	if err != nil {
		fail(err)
		return
	}
	staged := make([]*bundleEntry, len(files))
	for i, f := range files {
		if staged[i], err = checkFile(f, b); err != nil {
			fail(err)
			return
		}
		s.setJob(run.id, stateOK, task, float64(i+1)*100/float64(len(files)), "")
	}
	done()

	if !begin(taskIngestMetadata) {
		return
	}
	kvs, err := checkIngestMetadata(meta, files)
	if err != nil {
		fail(err)
		return
	}
	ev, err := s.storeTransaction(run, fields, kvs, files, staged, meta)
	if err != nil {
		fail(err)
		return
	}
	run.log.Info("ingest: transaction stored", "transaction", run.id, "files", len(files))
	s.handToNotifications(ctx, ev)
	done()
}

// checkFile finds the tar entry of a Files entry and checks its size and hash.
func checkFile(f fileMeta, b *bundle) (*bundleEntry, error) {
	name := f.tarName()
	e, ok := b.entries[name]
	if !ok {
		return nil, fmt.Errorf("filename '%s' not found", name)
	}
	if e.size != f.size {
		return nil, fmt.Errorf("%s: size %d does not match the metadata's %d", name, e.size, f.size)
	}
	sum := e.sha1
	if f.hashType != "sha1" {
		var err error
		if sum, err = hashFile(e.path, f.hashType); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if sum != f.hashSum {
		return nil, fmt.Errorf("%s: %s %s does not match the metadata's %s", name, f.hashType, sum, f.hashSum)
	}
	return e, nil
}

// storeTransaction archives the files under new ids, stores the transaction and builds its
// ingest event.
func (s *Sim) storeTransaction(run *ingestRun, fields map[string]json.RawMessage, kvs []KeyValue, files []fileMeta,
	staged []*bundleEntry, meta []*pyjson.Object) (event []byte, err error) {
	s.mu.Lock()
	first := s.nextFileID
	s.nextFileID += int64(len(files))
	s.mu.Unlock()

	now := s.now()
	tx := &Transaction{ID: run.id, User: run.user, Fields: map[string]json.RawMessage{}, KeyValues: kvs, Created: now}
	for k, v := range fields {
		tx.Fields[k] = v
	}
	archived := make([]*archivedFile, len(files))
	moved := map[string]string{} // staged path → archive path
	fileIDs := map[*pyjson.Object]int64{}
	for i, f := range files {
		id := first + int64(i)
		dst := s.archivePath(id)
		src := staged[i].path
		if prev, ok := moved[src]; ok { // two Files entries naming the same tar entry
			err = copyFile(prev, dst)
		} else {
			err = os.Rename(src, dst)
			moved[src] = dst
		}
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", f.tarName(), err)
		}
		archived[i] = &archivedFile{id: id, path: dst, size: f.size, mtime: now}
		fileIDs[f.obj] = id
		tx.Files = append(tx.Files, File{ID: id, Name: f.name, Subdir: f.subdir, Size: f.size,
			HashType: f.hashType, HashSum: f.hashSum, MimeType: f.mimeType, CTime: f.ctime, MTime: f.mtime, Path: dst})
	}
	s.mu.Lock()
	for _, af := range archived {
		s.archive[af.id] = af
	}
	s.txs[tx.ID] = tx
	s.txOrder = append(s.txOrder, tx.ID)
	s.notifyLocked()
	s.mu.Unlock()

	// Only once the transaction is stored is its event built, as the metadata service does.
	event, err = ingestEvent(run.id, meta, fileIDs, now.Local().Format("2006-01-02T15:04:05"))
	if err != nil {
		return nil, fmt.Errorf("build the ingest event: %w", err)
	}
	s.mu.Lock()
	tx.Event = event
	s.mu.Unlock()
	return event, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
