package receiver

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a delivery, the "outcome" label of dispatcher_events_received_total.
const (
	outcomeAccepted     = "accepted"
	outcomeDuplicate    = "duplicate"
	outcomeUnrouted     = "unrouted"
	outcomeInvalid      = "invalid"
	outcomeRefused      = "refused"
	outcomeMalformed    = "malformed"
	outcomeTooLarge     = "too_large"
	outcomeUnsupported  = "unsupported_media_type"
	outcomeUnauthorized = "unauthorized"
)

// ingestType is the type of the events of Pacifica's uploads, those the routes act on.
const ingestType = "org.pacifica.metadata.ingest"

// knownTypes bounds the "type" label: any other event type counts as "other", so that a
// sender cannot grow the metric without limit.
var knownTypes = map[string]bool{
	ingestType:                        true,
	"org.pacifica.metadata.orm":       true,
	"org.pacifica.metadata.doientry":  true,
	"org.pacifica.metadata.doiupdate": true,
}

// Metrics are the receiver's Prometheus metrics.
type Metrics struct {
	received *prometheus.CounterVec
}

// NewMetrics creates the receiver's metrics and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{received: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dispatcher_events_received_total",
		Help: "Events delivered to the receiver, by event type and outcome.",
	}, []string{"type", "outcome"})}
	// Every outcome of Pacifica's upload events is exported from the start, at zero, so that
	// a rate of refusals or rejections has a series to read before the first one.
	for _, o := range []string{outcomeAccepted, outcomeDuplicate, outcomeUnrouted, outcomeInvalid, outcomeRefused,
		outcomeMalformed, outcomeTooLarge, outcomeUnsupported, outcomeUnauthorized} {
		m.received.WithLabelValues(ingestType, o)
	}
	if reg != nil {
		reg.MustRegister(m.received)
	}
	return m
}

func (m *Metrics) observe(typ, outcome string) {
	switch {
	case typ == "":
		typ = "unknown"
	case !knownTypes[typ]:
		typ = "other"
	}
	m.received.WithLabelValues(typ, outcome).Inc()
}
