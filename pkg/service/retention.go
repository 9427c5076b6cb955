package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
)

// deleteExpired deletes the jobs past RETENTION (RETENTION_FAILED for failed ones), their
// attempts and their events, every RETENTION_INTERVAL until ctx ends. Every process runs
// it; the job store lets one at a time work.
func (s *Service) deleteExpired(ctx context.Context) {
	deleted := s.retentionDeleted
	r := jobstore.Retention{Finished: s.cfg.Retention, Failed: s.cfg.RetentionFailed}
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		d, err := s.store.DeleteExpired(ctx, r)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention: expired jobs not deleted", "error", err)
		case d.Jobs > 0:
			deleted.WithLabelValues("jobs").Add(float64(d.Jobs))
			deleted.WithLabelValues("events").Add(float64(d.Events))
			s.log.Info("retention: expired jobs deleted", "jobs", d.Jobs, "events", d.Events)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newRetentionMetric is dispatcher_retention_deleted_total, registered on reg.
func newRetentionMetric(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dispatcher_retention_deleted_total",
		Help: "Rows deleted because they passed RETENTION (or RETENTION_FAILED): jobs, events.",
	}, []string{"what"})
	c.WithLabelValues("jobs")
	c.WithLabelValues("events")
	reg.MustRegister(c)
	return c
}
