package pacifica_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// The watchdog's Reenable gives back the plan's credentials: to a subscription disabled by an
// operator's update (which erased its auth, as notifications' PUT does) when it re-enables
// it, and to an enabled one that lost them; one already right is left alone.
func TestReenableRestoresTheCredentials(t *testing.T) {
	t.Parallel()
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim.NotificationsHandler())
	t.Cleanup(srv.Close)
	client, err := pacifica.New(pacifica.Config{UploadURL: "http://127.0.0.1:1/upload", UploadStatusURL: "http://127.0.0.1:1/get_state",
		DownloadURL: "http://127.0.0.1:1", NotificationsURL: srv.URL, MetadataURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	n := client.Notifications
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	auth := pacifica.NewBasicAuth("pacifica", "s3cret")
	plan := pacifica.SubscriptionPlan{User: "dispatcher", TargetURL: "http://dispatcher/receive", Auth: auth,
		Wanted: []pacifica.WantedSubscription{{Name: "a", JSONPath: "$"}, {Name: "b", JSONPath: "$"}, {Name: "c", JSONPath: "$"}}}
	made, err := n.Reconcile(ctx, plan)
	if err != nil || len(made) != 3 {
		t.Fatalf("Reconcile = %v, %v", made, err)
	}
	// a: disabled by hand (the PUT erases its auth); b: updated by hand without auth; c untouched.
	if _, err := n.Update(ctx, "dispatcher", made[0].UUID, map[string]any{"disabled": "2026-12-07T10:00:00", "error": "paused by hand"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Update(ctx, "dispatcher", made[1].UUID, map[string]any{"target_url": "http://dispatcher/receive"}); err != nil {
		t.Fatal(err)
	}
	got, err := n.Reenable(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": pacifica.SubscriptionReenabled, "b": pacifica.SubscriptionUpdated, "c": pacifica.SubscriptionEnabled}
	for _, r := range got {
		if r.Action != want[r.Name] {
			t.Errorf("%s: %s, want %s", r.Name, r.Action, want[r.Name])
		}
	}
	if got[0].WasError != "paused by hand" {
		t.Errorf("the reason recorded: %q", got[0].WasError)
	}
	for _, s := range sim.Subscriptions() {
		if !s.Active() || !strings.Contains(string(s.Auth), "s3cret") {
			t.Errorf("subscription %s after Reenable: active %v, auth %s", s.Name, s.Active(), s.Auth)
		}
	}
	// Once repaired, nothing more to do.
	again, err := n.Reenable(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Action != pacifica.SubscriptionEnabled {
			t.Errorf("second pass: %s %s, want enabled", r.Name, r.Action)
		}
	}
}
