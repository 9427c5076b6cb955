package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// storeCollector exports the job store's counts. They come from counters the job store's
// triggers keep (jobstore.Store.Counts), not from counting the table, and are cached for
// cacheFor so that many scrapers cost no more than one.
type storeCollector struct {
	store *jobstore.Store
	log   *slog.Logger

	jobs    *prometheus.Desc
	backlog *prometheus.Desc
	up      *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	counts  []jobstore.Count
	pending int64
	ok      bool
}

const cacheFor = 10 * time.Second

func newStoreCollector(store *jobstore.Store, log *slog.Logger) *storeCollector {
	return &storeCollector{
		store: store, log: log,
		jobs: prometheus.NewDesc("dispatcher_jobs",
			"Jobs in the job store, by route and state (refreshed at most every 10s).", []string{"route", "state"}, nil),
		backlog: prometheus.NewDesc("dispatcher_outbox_backlog",
			"Queued jobs not yet published to RabbitMQ.", nil, nil),
		up: prometheus.NewDesc("dispatcher_jobstore_up",
			"1 when the last count of the job store succeeded.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.backlog
	ch <- c.up
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > cacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		counts, err := c.store.Counts(ctx)
		var pending int64
		if err == nil {
			pending, err = c.store.Backlog(ctx)
		}
		cancel()
		c.at, c.ok = time.Now(), err == nil
		if err == nil {
			c.counts, c.pending = counts, pending
		} else {
			c.log.Debug("metrics: counting jobs failed", "error", err)
		}
	}
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
