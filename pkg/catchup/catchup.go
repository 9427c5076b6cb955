// Package catchup recovers the uploads whose event never reached the dispatcher.
//
// Pacifica loses events on its own: when ingest stores an upload, the metadata service
// sends notifications exactly one event and only logs a warning when notifications does
// not take it; notifications sends each subscription one delivery and disables the
// subscription for good on any failure. The transaction is still in metadata. Catch-up
// lists the transactions metadata stored since the last it looked at (GET /transactions
// ?created=<time>&created_operator=gt, oldest first, minus a margin for stragglers), and
// for each one whose event was never recorded, and that some route wants, it builds the
// event metadata would have
// sent - the same source and event id (from the templates metadata uses, site settings
// defaulting to Pacifica's: http://metadata.pacifica.org/transactions?_id={_id} and
// metadata.ingest.{_id}), the transaction's creation time, and the upload's metadata as
// data - and hands it to the intake like a delivered one. Its jobs get the ids the real
// event's would have, so a late real delivery is a duplicate, never a second run; the
// dispatcher's own uploads are routed nowhere, as usual. A cursor in PostgreSQL survives
// restarts; an advisory lock lets one process at a time do it.
package catchup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/intake"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// Pacifica's defaults of metadata's NOTIFICATIONS_INGEST_SOURCE and
// NOTIFICATIONS_INGEST_EVENTID.
const (
	DefaultSourceTemplate = "http://metadata.pacifica.org/transactions?_id={_id}"
	DefaultIDTemplate     = "metadata.ingest.{_id}"
)

// CursorName is the name of catch-up's cursor in the job store.
const CursorName = "catchup"

// lockKey is catch-up's advisory lock.
const lockKey = 7307102

// Extension marks the events catch-up built (in their CloudEvents extensions).
const Extension = "dispatcher_recovered_by"

// Metadata is what catch-up reads of Pacifica; *pacifica.MetadataClient is one.
type Metadata interface {
	TransactionsCreatedAfter(ctx context.Context, after time.Time, page, perPage int) ([]pacifica.RecentTransaction, error)
	TransactionInfo(ctx context.Context, id int64) (*pacifica.TransactionInfo, error)
}

// Store is what catch-up keeps in the job store; *jobstore.Store is one.
type Store interface {
	Cursor(ctx context.Context, name string) (time.Time, bool, error)
	SetCursor(ctx context.Context, name string, t time.Time) error
	HasEvent(ctx context.Context, source, id string) (bool, error)
	TryLock(ctx context.Context, key int64) (unlock func(), ok bool, err error)
}

// Accepter makes an event durable and routes it; *intake.Intake is one.
type Accepter interface {
	Routed(ev *event.Event) bool
	Accept(ctx context.Context, ev *event.Event) (intake.Receipt, error)
}

// Config configures catch-up.
type Config struct {
	Metadata Metadata
	Store    Store
	Intake   Accepter
	// SourceTemplate and IDTemplate make an event's source and id from "{_id}".
	SourceTemplate, IDTemplate string
	// Interval between passes; Margin is looked at again behind the cursor, for
	// transactions stored out of order (default 5m).
	Interval, Margin time.Duration
	// Start is where a first pass begins when there is no cursor (zero: now, not the
	// beginning of the archive).
	Start time.Time
	// PageSize is the number of transactions asked at once (default 100).
	PageSize int
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Metrics are catch-up's.
type Metrics struct {
	recovered prometheus.Counter
	passes    *prometheus.CounterVec
	lag       prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_catchup_events_recovered_total",
			Help: "Ingest events Pacifica never delivered, rebuilt from metadata by catch-up and taken in.",
		}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_catchup_passes_total",
			Help: "Catch-up passes, by result (ok, error, locked: another process had it).",
		}, []string{"result"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_catchup_cursor_age_seconds",
			Help: "Age of catch-up's cursor: how far behind Pacifica's newest transaction it has looked.",
		}),
	}
	for _, r := range []string{"ok", "error", "locked"} {
		m.passes.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.recovered, m.passes, m.lag)
	}
	return m
}

// CatchUp recovers lost uploads.
type CatchUp struct{ cfg Config }

// New returns a CatchUp.
func New(cfg Config) (*CatchUp, error) {
	if cfg.Metadata == nil || cfg.Store == nil || cfg.Intake == nil {
		return nil, errors.New("catchup: metadata, store and intake are required")
	}
	for _, t := range []string{cfg.SourceTemplate, cfg.IDTemplate} {
		if t != "" && !strings.Contains(t, "{_id}") {
			return nil, fmt.Errorf("catchup: template %q has no {_id}", t)
		}
	}
	if cfg.SourceTemplate == "" {
		cfg.SourceTemplate = DefaultSourceTemplate
	}
	if cfg.IDTemplate == "" {
		cfg.IDTemplate = DefaultIDTemplate
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Margin < 0 {
		cfg.Margin = 0
	} else if cfg.Margin == 0 {
		cfg.Margin = 5 * time.Minute
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &CatchUp{cfg: cfg}, nil
}

// Run makes a pass every Interval until ctx ends.
func (c *CatchUp) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		n, err := c.Pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			c.cfg.Logger.Warn("catch-up: pass not finished; the next one goes on from the cursor", "error", err)
		case n > 0:
			c.cfg.Logger.Error("catch-up: uploads whose event Pacifica never delivered were recovered from metadata",
				"events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass looks at the transactions stored since the cursor (minus the margin) and takes in
// the events never recorded. It returns how many it recovered.
func (c *CatchUp) Pass(ctx context.Context) (int, error) {
	unlock, ok, err := c.cfg.Store.TryLock(ctx, lockKey)
	if err != nil {
		c.cfg.Metrics.passes.WithLabelValues("error").Inc()
		return 0, err
	}
	if !ok {
		c.cfg.Metrics.passes.WithLabelValues("locked").Inc()
		return 0, nil
	}
	defer unlock()
	n, err := c.pass(ctx)
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.cfg.Metrics.passes.WithLabelValues(result).Inc()
	return n, err
}

func (c *CatchUp) pass(ctx context.Context) (int, error) {
	cursor, ok, err := c.cfg.Store.Cursor(ctx, CursorName)
	if err != nil {
		return 0, err
	}
	if !ok {
		// A first start begins now (or at the configured date), not at the archive's start.
		cursor = c.cfg.Start
		if cursor.IsZero() {
			cursor = time.Now().UTC()
		}
		if err := c.cfg.Store.SetCursor(ctx, CursorName, cursor); err != nil {
			return 0, err
		}
		c.cfg.Logger.Info("catch-up: no cursor yet; starting from", "time", cursor.Format(time.RFC3339))
	}
	recovered := 0
	newest := cursor
	for page := 1; ; page++ {
		txs, err := c.cfg.Metadata.TransactionsCreatedAfter(ctx, cursor.Add(-c.cfg.Margin), page, c.cfg.PageSize)
		if err != nil {
			return recovered, err
		}
		for _, tx := range txs {
			got, err := c.takeIn(ctx, tx.ID)
			if err != nil {
				// The cursor stays before this transaction: the next pass tries it again.
				return recovered, c.advance(ctx, newest, recovered, err)
			}
			if got {
				recovered++
			}
			if tx.Created.After(newest) {
				newest = tx.Created
			}
		}
		if len(txs) < c.cfg.PageSize {
			break
		}
	}
	return recovered, c.advance(ctx, newest, recovered, nil)
}

// advance saves the cursor and returns err.
func (c *CatchUp) advance(ctx context.Context, newest time.Time, recovered int, err error) error {
	c.cfg.Metrics.recovered.Add(float64(recovered))
	if serr := c.cfg.Store.SetCursor(ctx, CursorName, newest); serr != nil && err == nil {
		err = serr
	}
	c.cfg.Metrics.lag.Set(time.Since(newest).Seconds())
	return err
}

// takeIn takes in the event of transaction id unless it was recorded; got is true when it
// was not.
func (c *CatchUp) takeIn(ctx context.Context, id int64) (got bool, err error) {
	idText := strconv.FormatInt(id, 10)
	source := strings.ReplaceAll(c.cfg.SourceTemplate, "{_id}", idText)
	eventID := strings.ReplaceAll(c.cfg.IDTemplate, "{_id}", idText)
	seen, err := c.cfg.Store.HasEvent(ctx, source, eventID)
	if err != nil || seen {
		return false, err
	}
	info, err := c.cfg.Metadata.TransactionInfo(ctx, id)
	var unknown *pacifica.UnknownTransactionError
	if errors.As(err, &unknown) {
		return false, nil // listed, then gone: nothing to recover
	}
	if err != nil {
		return false, err
	}
	body, err := BuildEvent(info, source, eventID)
	if err != nil {
		return false, err
	}
	evs, err := event.Parse(nil, body)
	if err != nil || len(evs) != 1 {
		return false, fmt.Errorf("catchup: the event built for transaction %d does not parse: %v", id, err)
	}
	if !c.cfg.Intake.Routed(evs[0]) {
		// No route wants it (the dispatcher's own uploads, other instruments' data):
		// notifications would not have delivered it either.
		return false, nil
	}
	rec, err := c.cfg.Intake.Accept(ctx, evs[0])
	if err != nil {
		return false, err
	}
	c.cfg.Logger.Warn("catch-up: recovered an upload whose event never arrived", "transaction", id,
		"event_id", eventID, "jobs", len(rec.Jobs))
	return true, nil
}

// BuildEvent is the CloudEvents 0.1 event metadata sends for a stored transaction: its
// data is the upload's metadata (the transaction's submitter, project and instrument, its
// key/values, its files with their archive ids), then Transactions._id last, as ingest
// appends it. Key/values come back from metadata as text, whatever JSON type the upload
// gave them. The extension dispatcher_recovered_by says who built it.
func BuildEvent(info *pacifica.TransactionInfo, source, eventID string) ([]byte, error) {
	type entry map[string]any
	data := []entry{}
	if info.Submitter != nil {
		data = append(data, entry{"destinationTable": "Transactions.submitter", "value": *info.Submitter})
	}
	if info.Project != nil {
		data = append(data, entry{"destinationTable": "Transactions.project", "value": *info.Project})
	}
	if info.Instrument != nil {
		data = append(data, entry{"destinationTable": "Transactions.instrument", "value": *info.Instrument})
	}
	keys := make([]string, 0, len(info.KeyValues))
	for k := range info.KeyValues {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		data = append(data, entry{"destinationTable": "TransactionKeyValue", "key": k, "value": info.KeyValues[k]})
	}
	for _, f := range info.SortedFiles() {
		data = append(data, entry{"destinationTable": "Files", "_id": f.ID, "name": f.Name, "subdir": f.Subdir,
			"size": f.Size, "hashtype": f.HashType, "hashsum": f.HashSum, "mimetype": f.MimeType,
			"ctime": f.CTime, "mtime": f.MTime})
	}
	data = append(data, entry{"destinationTable": "Transactions._id", "value": info.ID})
	ev := map[string]any{
		"cloudEventsVersion": "0.1",
		"eventType":          "org.pacifica.metadata.ingest",
		"source":             source,
		"eventID":            eventID,
		"eventTime":          info.Created,
		"extensions":         map[string]any{Extension: "catch-up"},
		"contentType":        "application/json",
		"data":               data,
	}
	return json.Marshal(ev)
}
