package worker

import "github.com/prometheus/client_golang/prometheus"

// Values of the labels of the workers' metrics. Each is exported at zero from the start
// (for every route of the worker), so that a rate or an alert on one has a series to read
// before the first time it happens.
var (
	messageResults  = []string{"claimed", "ignored", "requeued", "invalid"}
	attemptOutcomes = []string{"succeeded", "failed", "cancelled", "rescheduled", "lease_lost"}
)

// Metrics are the workers' Prometheus metrics.
type Metrics struct {
	messages  *prometheus.CounterVec
	finished  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	running   prometheus.Gauge
	computing prometheus.Gauge
	slots     *prometheus.GaugeVec
	reclaimed prometheus.Counter
}

// NewMetrics creates the workers' metrics and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_worker_messages_total",
			Help: "Job messages taken from RabbitMQ, by what became of them (claimed, ignored, requeued, invalid).",
		}, []string{"result"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_job_attempts_total",
			Help: "Job attempts ended, by route and outcome (succeeded, failed, cancelled, rescheduled, lease_lost).",
		}, []string{"route", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dispatcher_job_attempt_duration_seconds",
			Help:    "Duration of job attempts, by route.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12),
		}, []string{"route"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_jobs_running",
			Help: "Jobs running in this process (at most dispatcher_worker_slots{kind=\"jobs\"}).",
		}),
		computing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_jobs_computing",
			Help: "Jobs of this process running a model or a script (at most dispatcher_worker_slots{kind=\"compute\"}).",
		}),
		slots: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dispatcher_worker_slots",
			Help: "What this process's workers may run at once: jobs (WORKER_CONCURRENCY) and jobs computing (COMPUTE_CONCURRENCY).",
		}, []string{"kind"}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_jobs_reclaimed_total",
			Help: "Jobs of lost workers handed back (or failed) after their lease expired.",
		}),
	}
	for _, r := range messageResults {
		m.messages.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.finished, m.duration, m.running, m.computing, m.slots, m.reclaimed)
	}
	return m
}

// start exports the worker's capacity, and its routes' counters at zero.
func (m *Metrics) start(cfg Config) {
	m.slots.WithLabelValues("jobs").Set(float64(cfg.Concurrency))
	m.slots.WithLabelValues("compute").Set(float64(cfg.ComputeConcurrency))
	for route := range cfg.Handlers {
		for _, o := range attemptOutcomes {
			m.finished.WithLabelValues(route, o)
		}
		m.duration.WithLabelValues(route)
	}
}
