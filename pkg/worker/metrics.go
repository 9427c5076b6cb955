package worker

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the workers' Prometheus metrics.
type Metrics struct {
	messages  *prometheus.CounterVec
	finished  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	running   prometheus.Gauge
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
			Help: "Jobs running in this process.",
		}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_jobs_reclaimed_total",
			Help: "Jobs of lost workers handed back (or failed) after their lease expired.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.finished, m.duration, m.running, m.reclaimed)
	}
	return m
}
