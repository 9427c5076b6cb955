package service

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// Notifications disables a subscription for good on a failed delivery. The watchdog finds
// it disabled within its period and re-enables it with its credentials (a re-enable that
// sent only disabled/error would strip them, and the next delivery would be refused
// again): later uploads make jobs again, and catch-up recovers the one whose delivery
// failed.
func TestWatchdogReenablesADisabledSubscription(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	h := startHarness(t, func(c *Config) {
		s.workerConfig(t, c)
		c.Role = RoleReceiver
		c.ReceiverAuthType, c.ReceiverAuthUsername, c.ReceiverAuthPassword = "basic", "pacifica", "delivery-secret"
		c.SubscriptionCheckInterval = 300 * time.Millisecond
		c.CatchUpInterval = 300 * time.Millisecond
		c.SubscriptionUser = "dispatcher"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan := SubscriptionPlan(h.svc.routes, "dispatcher", h.base+"/receive", pacifica.NewBasicAuth("pacifica", "delivery-secret"))
	if _, err := s.client.Notifications.Reconcile(ctx, plan); err != nil {
		t.Fatal(err)
	}
	// A delivery fails (neither store answers: 503), and notifications disables the
	// subscription.
	h.pgProxy.Cut()
	h.mqProxy.Cut()
	lost := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	// The failed delivery, which disabled the subscription: the disabled state itself may
	// last only until the watchdog's next check (300 ms), too short to be seen reliably.
	var proxymodSub string
	for _, sub := range s.sim.Subscriptions() {
		if sub.Name == "proxymod" {
			proxymodSub = sub.UUID
		}
	}
	eventually(t, 10*time.Second, "the delivery refused, disabling the subscription", func() bool {
		for _, d := range s.sim.Deliveries() {
			if d.Subscription == proxymodSub && d.Error != "" {
				return true
			}
		}
		return false
	})
	h.pgProxy.Restore()
	h.mqProxy.Restore()
	start := time.Now()
	eventually(t, 10*time.Second, "the subscription re-enabled", func() bool {
		for _, sub := range s.sim.Subscriptions() {
			if sub.Name == "proxymod" && sub.Active() {
				return strings.Contains(string(sub.Auth), "delivery-secret")
			}
		}
		return false
	})
	t.Logf("re-enabled %s after the stores came back (check period %s)", time.Since(start).Round(time.Millisecond), h.cfg.SubscriptionCheckInterval)
	later := s.upload(t, map[string]string{"loose_coupling": ""}, nil)
	var page struct {
		Jobs []jobJSON `json:"jobs"`
	}
	eventually(t, 20*time.Second, "a job for the upload made after the re-enable", func() bool {
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(later), &page)
		return len(page.Jobs) == 1
	})
	// The upload whose delivery failed is recovered by catch-up, once.
	eventually(t, 20*time.Second, "a job for the upload whose delivery failed", func() bool {
		h.get("/jobs?event_id=metadata.ingest."+jsonInt(lost), &page)
		return len(page.Jobs) == 1
	})
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`dispatcher_subscription_reenabled_total{route="proxymod"} 1`, `dispatcher_subscription_enabled{route="proxymod"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(body), "subscription"))
		}
	}
}
