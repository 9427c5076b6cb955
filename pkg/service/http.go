package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyz answers whether this process can do its work now. A receiver (role receiver or
// all) is ready when it can make an event durable: PostgreSQL (migrated) or RabbitMQ, since
// either holds an accepted event; taking receivers out of a load balancer while one of the
// two still works would refuse deliveries for nothing, and a refused delivery disables the
// subscription for good. A worker needs both. While draining (SIGTERM) the answer is 503.
// The body gives each dependency's state.
//
// It answers within readyCheckTimeout, whatever the dependencies do: both are asked at once,
// and one that does not answer in time counts as unavailable. A dependency behind a
// network partition does not refuse, it hangs: a readiness probe that timed out (one
// second by default in Kubernetes) would take every receiver out of the Service at once,
// though RabbitMQ still holds events.
func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyCheckTimeout)
	defer cancel()
	out := map[string]string{"postgres": "ok", "rabbitmq": "ok"}
	pgOK, mqOK := true, true
	pgErr, mqErr := make(chan error, 1), make(chan error, 1)
	go func() { pgErr <- s.store.Ping(ctx) }()
	go func() { mqErr <- s.broker.Ping(ctx) }()
	if err := <-pgErr; err != nil {
		out["postgres"], pgOK = "unavailable: "+err.Error(), false
	} else {
		select {
		case <-s.migrated:
		default:
			out["postgres"], pgOK = "migrations not applied yet", false
		}
	}
	if err := <-mqErr; err != nil {
		out["rabbitmq"], mqOK = "unavailable: "+err.Error(), false
	}
	if s.sandbox != nil {
		// Informative only: a worker without a sandbox still works (SANDBOX=auto or off).
		out["sandbox"] = s.sandbox.Describe()
	}
	ok := pgOK && mqOK
	if s.cfg.Role != RoleWorker {
		ok = pgOK || mqOK
		out["intake"] = "events are made durable in " + map[bool]string{true: "PostgreSQL", false: "RabbitMQ"}[pgOK]
		if !ok {
			out["intake"] = "events cannot be made durable: PostgreSQL and RabbitMQ are both unavailable"
		}
	}
	if s.draining.Load() {
		ok = false
		out["draining"] = "shutting down: events are still taken until the listener closes"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// readyCheckTimeout bounds each dependency's check in /readyz: well inside the one-second
// timeout of a Kubernetes readiness probe.
const readyCheckTimeout = 500 * time.Millisecond

// listRoutes serves GET /routes: what the service reacts to.
func (s *Service) listRoutes(w http.ResponseWriter, _ *http.Request) {
	type view struct {
		Name       string `json:"name"`
		Kind       string `json:"kind"`
		Filter     string `json:"jsonpath"`
		OwnUploads bool   `json:"own_uploads"`
	}
	out := []view{}
	for _, r := range s.routes.Routes() {
		out = append(out, view{Name: r.Name, Kind: r.Kind, Filter: r.Filter.String(), OwnUploads: r.OwnUploads})
	}
	writeJSON(w, http.StatusOK, out)
}

// instrument adds GET /metrics, counts every request by route pattern and status code, and
// answers the mux's own errors (404, 405) in JSON. With an access logger, it also logs each
// request: method, path (its query left out: it may carry tokens), status, bytes written,
// duration and remote address; never a header.
func instrument(mux *routeMux, reg *prometheus.Registry, access *slog.Logger) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dispatcher_http_requests_total",
		Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dispatcher_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	reg.MustRegister(requests, duration)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: sw, r: r}, r)
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		took := time.Since(start)
		requests.WithLabelValues(pattern, strconv.Itoa(sw.code)).Inc()
		duration.WithLabelValues(pattern).Observe(took.Seconds())
		if access != nil {
			access.LogAttrs(r.Context(), slog.LevelInfo, "http request", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", sw.code), slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", took), slog.String("remote", r.RemoteAddr))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
