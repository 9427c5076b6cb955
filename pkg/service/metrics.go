package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// waitingCollector exports what the queued jobs wait for: a retry's delay, or a worker.
// Like the job counts, it is measured at most every cacheFor.
type waitingCollector struct {
	store *jobstore.Store
	log   *slog.Logger

	retry  *prometheus.Desc
	oldest *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	last jobstore.Waiting
	ok   bool
}

func newWaitingCollector(store *jobstore.Store, log *slog.Logger) *waitingCollector {
	return &waitingCollector{
		store: store, log: log,
		retry: prometheus.NewDesc("dispatcher_jobs_retry_waiting",
			"Queued jobs waiting out the delay before their next attempt (refreshed at most every 10s).", nil, nil),
		oldest: prometheus.NewDesc("dispatcher_jobs_queued_oldest_seconds",
			"How long the queued job whose time came first has waited for a worker since (0: none due; refreshed at most every 10s).", nil, nil),
	}
}

func (c *waitingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.retry
	ch <- c.oldest
}

func (c *waitingCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > cacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		w, err := c.store.Waiting(ctx)
		cancel()
		c.at, c.ok = time.Now(), err == nil
		if err == nil {
			c.last = w
		} else {
			c.log.Debug("metrics: measuring the queued jobs failed", "error", err)
		}
	}
	if !c.ok {
		return // dispatcher_jobstore_up says why
	}
	ch <- prometheus.MustNewConstMetric(c.retry, prometheus.GaugeValue, float64(c.last.Retry))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, c.last.Oldest.Seconds())
}

// durableCollector exports, for a receiver, where it can make an event durable now:
// PostgreSQL (reachable and migrated) and RabbitMQ, as /readyz finds them. A receiver that
// can do neither answers 503 to deliveries, and notifications disables the subscription.
type durableCollector struct {
	s    *Service
	desc *prometheus.Desc
}

func newDurableCollector(s *Service) *durableCollector {
	return &durableCollector{s: s, desc: prometheus.NewDesc("dispatcher_intake_durable",
		"Receivers: 1 when an event can be made durable there now (held_in postgres: reachable and migrated; broker: RabbitMQ reachable), 0 otherwise.",
		[]string{"held_in"}, nil)}
}

func (c *durableCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *durableCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pg, mq := 0.0, 0.0
	if c.s.store.Ping(ctx) == nil {
		select {
		case <-c.s.migrated:
			pg = 1
		default:
		}
	}
	if c.s.broker.Ping(ctx) == nil {
		mq = 1
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, pg, "postgres")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, mq, "broker")
}

// trafficCounters exports what this process has sent PostgreSQL: statements and round trips
// (a pipelined batch is one). Their rates per job or per event are what the benchmark prints.
func trafficCounters(store *jobstore.Store) prometheus.Collector {
	return trafficCollector{store: store,
		statements: prometheus.NewDesc("dispatcher_jobstore_statements_total",
			"Statements sent to PostgreSQL (each of a batch, BEGIN and COMMIT count; those triggers run do not).", nil, nil),
		roundTrips: prometheus.NewDesc("dispatcher_jobstore_round_trips_total",
			"Round trips to PostgreSQL (a pipelined batch is one).", nil, nil)}
}

type trafficCollector struct {
	store                  *jobstore.Store
	statements, roundTrips *prometheus.Desc
}

func (c trafficCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.statements
	ch <- c.roundTrips
}

func (c trafficCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.store.Traffic()
	ch <- prometheus.MustNewConstMetric(c.statements, prometheus.CounterValue, float64(t.Statements))
	ch <- prometheus.MustNewConstMetric(c.roundTrips, prometheus.CounterValue, float64(t.RoundTrips))
}
