package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// storeCollector exports the job store's counts, and gives them to the jobs web page's
// dashboard. They come from counters the job store's triggers keep
// (jobstore.Store.Counts), not from counting the table, and are cached for cacheFor so that
// many scrapers and viewers cost no more than one.
type storeCollector struct {
	store *jobstore.Store
	log   *slog.Logger

	jobs    *prometheus.Desc
	backlog *prometheus.Desc
	up      *prometheus.Desc

	mu sync.Mutex
	// at is when the last count was tried, countedAt when one last succeeded.
	at, countedAt time.Time
	counts        []jobstore.Count
	pending       int64
	ok            bool
}

const cacheFor = 10 * time.Second

func newStoreCollector(store *jobstore.Store, log *slog.Logger) *storeCollector {
	return &storeCollector{
		store: store, log: log,
		jobs: prometheus.NewDesc("dispatcher_jobs",
			"Jobs in the job store, by route and state (refreshed at most every 10s).", []string{"route", "state"}, nil),
		backlog: prometheus.NewDesc("dispatcher_outbox_backlog",
			"Queued jobs whose time has come and that are not on RabbitMQ yet (those waiting out a retry delay are dispatcher_jobs_retry_waiting).", nil, nil),
		up: prometheus.NewDesc("dispatcher_jobstore_up",
			"1 when the last count of the job store succeeded.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.backlog
	ch <- c.up
}

// refresh counts again when the last count is older than cacheFor. The caller holds c.mu.
func (c *storeCollector) refresh(ctx context.Context) {
	if time.Since(c.at) <= cacheFor {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	counts, err := c.store.Counts(ctx)
	var pending int64
	if err == nil {
		pending, err = c.store.Backlog(ctx)
	}
	c.at, c.ok = time.Now(), err == nil
	if err == nil {
		c.counts, c.pending, c.countedAt = counts, pending, c.at
	} else {
		c.log.Debug("metrics: counting jobs failed", "error", err)
	}
}

// Counts returns the jobs by route and state as last counted, and when; the count is
// the metrics' own, made again at most every cacheFor (the jobs web page's dashboard).
// The error says the last count failed; the previous one, if any, is returned with it.
func (c *storeCollector) Counts(ctx context.Context) ([]jobstore.Count, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh(ctx)
	if !c.ok {
		return c.counts, c.countedAt, errors.New("the job store could not count the jobs")
	}
	return c.counts, c.countedAt, nil
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh(context.Background())
	up := 0.0
	if c.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	if !c.ok {
		return
	}
	for _, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n.N), n.Route, string(n.State))
	}
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(c.pending))
}
