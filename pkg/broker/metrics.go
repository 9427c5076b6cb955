package broker

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published  *prometheus.CounterVec
	latency    prometheus.Histogram
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	consumed   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_broker_publishes_total",
			Help: "Messages published to RabbitMQ, by result (ok, nack, unroutable, error, unavailable).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dispatcher_broker_publish_confirm_seconds",
			Help:    "Time from publishing a message to the broker's confirm.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dispatcher_broker_connected",
			Help: "1 while connected to RabbitMQ with the topology declared.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dispatcher_broker_connection_losses_total",
			Help: "Times the RabbitMQ connection was lost.",
		}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_broker_deliveries_total",
			Help: "Messages consumed, by disposition (ack, requeue, reject).",
		}, []string{"disposition"}),
	}
	// Every result and disposition is exported from the start, at zero.
	for _, r := range []string{"ok", "nack", "unroutable", "error", "unavailable"} {
		m.published.WithLabelValues(r)
	}
	for _, d := range []string{"ack", "requeue", "reject"} {
		m.consumed.WithLabelValues(d)
	}
	if reg != nil {
		reg.MustRegister(m.published, m.latency, m.connected, m.reconnects, m.consumed)
	}
	return m
}
