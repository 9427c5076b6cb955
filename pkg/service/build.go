package service

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
)

// buildInfoGauge is dispatcher_build_info{version,revision,goversion} 1: which build runs,
// to join on in queries and dashboards.
func buildInfoGauge(b buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "dispatcher_build_info",
		Help:        "Always 1; its labels say which build of the dispatcher runs (version, VCS revision, Go release).",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}
