package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
)

// subscribe against the simulator's notifications: created once, updated in place on a
// second run, re-enabled after notifications disabled it, listed and removed.
func TestSubscribe(t *testing.T) {
	sim, err := pacificasim.New(pacificasim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	notif := httptest.NewServer(sim.NotificationsHandler())
	defer notif.Close()
	t.Setenv("NOTIFICATIONS_URL", notif.URL)

	sub := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"subscribe"}, args...), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, e := sub(); code != 2 || !strings.Contains(e, "--url is required") {
		t.Errorf("without --url: %d %q", code, e)
	}
	if code, _, e := sub("--url", "http://d/receive", "--auth-basic", "nopassword"); code != 2 || !strings.Contains(e, "USER:PASSWORD") {
		t.Errorf("bad --auth-basic: %d %q", code, e)
	}
	code, out, e := sub("--url", "http://old/receive", "--auth-header", "Bearer abc")
	if code != 0 || !strings.Contains(out, proxymod.RouteName+": created") {
		t.Fatalf("first subscribe: %d %q %q", code, out, e)
	}
	subs := sim.Subscriptions()
	if len(subs) != 1 || subs[0].JSONPath != proxymod.RouteText || subs[0].User != "dispatcher" ||
		!strings.Contains(strings.ReplaceAll(string(subs[0].Auth), " ", ""), `"credentials":"abc"`) {
		t.Fatalf("subscriptions %+v", subs)
	}

	// Notifications disables it on a failed delivery.
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer dead.Close()
	code, _, e = sub("--url", dead.URL)
	if code != 0 {
		t.Fatalf("second subscribe: %d %q", code, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, notif.URL+"/receive", strings.NewReader(sampleEventText(t)))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if _, err := sim.WaitDeliveries(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); sim.Subscriptions()[0].Active() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if sim.Subscriptions()[0].Active() {
		t.Fatal("the failed delivery did not disable the subscription")
	}
	if _, out, _ := sub("--list"); !strings.Contains(out, "DISABLED") {
		t.Errorf("list of a disabled subscription: %q", out)
	}
	code, out, e = sub("--url", "http://new/receive")
	if code != 0 || !strings.Contains(out, "re-enabled") {
		t.Fatalf("third subscribe: %d %q %q", code, out, e)
	}
	subs = sim.Subscriptions()
	if len(subs) != 1 || !subs[0].Active() || subs[0].TargetURL != "http://new/receive" {
		t.Fatalf("after re-enabling: %+v", subs)
	}
	// Run again without credentials, the subscription keeps those it has: notifications'
	// update erases auth when the body lacks it, so subscribe sends the stored one back.
	if !strings.Contains(strings.ReplaceAll(string(subs[0].Auth), " ", ""), `"credentials":"abc"`) {
		t.Errorf("subscribe without --auth-header stripped the delivery credentials: %s", subs[0].Auth)
	}
	// Without a flag but with the receivers' sender credentials configured, the subscription
	// gets those: the ones its deliveries must carry.
	t.Setenv("RECEIVER_AUTH_TYPE", "basic")
	t.Setenv("RECEIVER_AUTH_USERNAME", "pacifica")
	t.Setenv("RECEIVER_AUTH_PASSWORD", "from-the-config")
	if code, out, e := sub("--url", "http://new/receive"); code != 0 || !strings.Contains(out, "updated") {
		t.Fatalf("subscribe with RECEIVER_AUTH_*: %d %q %q", code, out, e)
	}
	if a := string(sim.Subscriptions()[0].Auth); !strings.Contains(a, "from-the-config") {
		t.Errorf("subscribe without a flag did not send the configured sender credentials: %s", a)
	}
	if code, out, _ := sub("--remove"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: %d %q", code, out)
	}
	for _, s := range sim.Subscriptions() {
		if s.Active() {
			t.Errorf("subscription %s still active after --remove", s.Name)
		}
	}
}

func sampleEventText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
