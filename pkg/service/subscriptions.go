package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

// SubscriptionPlan is the service's wish of notifications: one subscription per route,
// named after it, with the route's jsonpath2 text.
func SubscriptionPlan(t *route.Table, user, targetURL string, auth *pacifica.SubscriptionAuth) pacifica.SubscriptionPlan {
	p := pacifica.SubscriptionPlan{User: user, TargetURL: targetURL, Auth: auth}
	for _, r := range t.Routes() {
		p.Wanted = append(p.Wanted, pacifica.WantedSubscription{Name: r.Name, JSONPath: r.Filter.String()})
	}
	return p
}

// SenderSubscriptionAuth is the auth a subscription must carry for this receiver to accept
// its deliveries: the configured sender credentials (RECEIVER_AUTH_*; nil when senders are
// not authenticated: the watchdog then keeps what each subscription has, and dispatcher
// subscribe sends only what its flags give).
func SenderSubscriptionAuth(c Config) *pacifica.SubscriptionAuth {
	switch a := c.ReceiverAuth(); a.Type {
	case "basic":
		return pacifica.NewBasicAuth(a.Username, a.Password)
	case "header":
		if sa, err := pacifica.ParseHeaderAuth(a.Header); err == nil {
			return sa
		}
	}
	return nil
}

// watchMetrics are the subscription watchdog's.
type watchMetrics struct {
	enabled   *prometheus.GaugeVec
	reenabled *prometheus.CounterVec
	checks    *prometheus.CounterVec
}

// newWatchMetrics creates the watchdog's metrics, its counters at zero for every route
// and result. dispatcher_subscription_enabled is not: a route's state is unknown until the
// first check says it.
func newWatchMetrics(reg prometheus.Registerer, routes *route.Table) *watchMetrics {
	m := &watchMetrics{
		enabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dispatcher_subscription_enabled",
			Help: "Each route's notifications subscription at the last check: 1 enabled, 0 disabled or missing.",
		}, []string{"route"}),
		reenabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_subscription_reenabled_total",
			Help: "Subscriptions found disabled by notifications and re-enabled by the watchdog.",
		}, []string{"route"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_subscription_checks_total",
			Help: "Checks of the subscriptions by the watchdog, by result (ok, error).",
		}, []string{"result"}),
	}
	for _, r := range routes.Routes() {
		m.reenabled.WithLabelValues(r.Name)
	}
	m.checks.WithLabelValues("ok")
	m.checks.WithLabelValues("error")
	reg.MustRegister(m.enabled, m.reenabled, m.checks)
	return m
}

// watchSubscriptions checks this service's subscriptions every SUBSCRIPTION_CHECK_INTERVAL
// until ctx ends: notifications disables a subscription for good on any failed delivery
// (a receiver restarting, a proxy's 502), and nothing else would say so. One found
// disabled is re-enabled at once, with everything it had and this receiver's sender
// credentials, and logged at error with the reason notifications recorded; one enabled but
// without those credentials gets them back; a missing one is logged.
func (s *Service) watchSubscriptions(ctx context.Context) {
	n, m := s.notifications, s.watch
	plan := SubscriptionPlan(s.routes, s.cfg.SubscriptionUser, "", SenderSubscriptionAuth(s.cfg))
	check := func() {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		results, err := n.Reenable(cctx, plan)
		if err != nil && ctx.Err() == nil {
			m.checks.WithLabelValues("error").Inc()
			s.log.Warn("subscription watchdog: notifications did not answer", "error", err)
		} else {
			m.checks.WithLabelValues("ok").Inc()
		}
		for _, r := range results {
			switch r.Action {
			case pacifica.SubscriptionEnabled:
				m.enabled.WithLabelValues(r.Name).Set(1)
			case pacifica.SubscriptionReenabled:
				m.enabled.WithLabelValues(r.Name).Set(1)
				m.reenabled.WithLabelValues(r.Name).Inc()
				s.log.Error("subscription watchdog: notifications had disabled the subscription; re-enabled "+
					"(events it did not deliver meanwhile are lost unless catch-up finds them)",
					"route", r.Name, "subscription", r.UUID, "reason", r.WasError)
			case pacifica.SubscriptionUpdated:
				m.enabled.WithLabelValues(r.Name).Set(1)
				s.log.Error("subscription watchdog: the subscription did not carry this receiver's sender credentials "+
					"(an update without them erases them); restored, or its next delivery would be refused and disable it",
					"route", r.Name, "subscription", r.UUID)
			case pacifica.SubscriptionMissing:
				m.enabled.WithLabelValues(r.Name).Set(0)
				s.log.Warn("subscription watchdog: no subscription for the route (run dispatcher subscribe)",
					"route", r.Name, "user", plan.User)
			}
		}
	}
	check()
	t := time.NewTicker(s.cfg.SubscriptionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}
