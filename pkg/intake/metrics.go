package intake

import "github.com/prometheus/client_golang/prometheus"

// Metrics are intake's Prometheus metrics, registered on the registerer given to
// NewMetrics (nil: kept but not exported).
type Metrics struct {
	accepted        *prometheus.CounterVec
	refused         prometheus.Counter
	recovered       prometheus.Counter
	relayed         prometheus.Counter
	publishDeferred prometheus.Counter
	deadLettered    prometheus.Counter
	groupSize       prometheus.Histogram
	unstranded      prometheus.Counter
	deadLetters     prometheus.Gauge
}

// NewMetrics creates intake's metrics and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_intake_events_accepted_total",
			Help: "Events made durable, by where they were held (postgres, or broker while PostgreSQL was unavailable).",
		}, []string{"held_in"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_intake_events_refused_total",
			Help: "Events refused because neither PostgreSQL nor RabbitMQ could hold them (answered 503).",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_intake_held_events_recorded_total",
			Help: "Events held in the broker's intake queue and recorded in PostgreSQL later.",
		}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_intake_jobs_relayed_total",
			Help: "Queued jobs published by the outbox relay (missed publishes, retries, handed-back jobs).",
		}),
		publishDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_intake_publish_deferred_total",
			Help: "New jobs left to the relay because the background publishers were busy.",
		}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_intake_events_dead_lettered_total",
			Help: "Events held in the intake queue whose data PostgreSQL refuses, moved to the dead-letter queue for an operator.",
		}),
		unstranded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_jobs_unstranded_total",
			Help: "Queued jobs whose message left RabbitMQ without a worker claiming them (purged, dead-lettered, lost), published again by the sweeper.",
		}),
		deadLetters: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_dead_letters",
			Help: "Messages in the dead-letter queue, waiting for an operator (measured by the sweeper).",
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dispatcher_intake_group_commit_events",
			Help:    "Events recorded together in one PostgreSQL transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
	}
	m.accepted.WithLabelValues(string(InStore))
	m.accepted.WithLabelValues(string(InBroker))
	if reg != nil {
		reg.MustRegister(m.accepted, m.refused, m.recovered, m.relayed, m.publishDeferred, m.deadLettered, m.groupSize, m.unstranded, m.deadLetters)
	}
	return m
}

func (m *Metrics) observeAccepted(d Durability) { m.accepted.WithLabelValues(string(d)).Inc() }
func (m *Metrics) observeRefused()              { m.refused.Inc() }
