package pacificasim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// subscriber is a test receiver of deliveries.
type subscriber struct {
	url    string
	status int // answer; 0 means 200
	mu     sync.Mutex
	got    []received
}

type received struct {
	header http.Header
	body   []byte
}

func newSubscriber(t *testing.T, status int) *subscriber {
	t.Helper()
	s := &subscriber{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, received{header: r.Header.Clone(), body: b})
		s.mu.Unlock()
		if s.status != 0 {
			w.WriteHeader(s.status)
			_, _ = w.Write([]byte("receiver says no"))
		}
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/receive"
	return s
}

func (s *subscriber) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func subBody(name, jsonpath, target, extra string) string {
	b := `{"name": ` + quote(name) + `, "jsonpath": ` + quote(jsonpath) + `, "target_url": ` + quote(target)
	if extra != "" {
		b += ", " + extra
	}
	return b + "}"
}

const (
	matchIngest  = `$[?(@["eventType"] = "org.pacifica.metadata.ingest")]`
	matchKV      = `$[?( $["data"][*][?( @["destinationTable"] = "TransactionKeyValue" and @["key"] = "k" and @["value"] = "v" )] )]`
	matchNothing = `$[?(@["eventType"] = "org.pacifica.metadata.orm")]`
)

func TestDeliveryFilterAuthExtensions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	basic := newSubscriber(t, 0)
	header := newSubscriber(t, 0)
	none := newSubscriber(t, 0)
	bs := e.subscribe(t, "alice", subBody("basic", matchKV, basic.url,
		`"extensions": {"sub": "one", "n": 2}, "auth": {"type": "basic", "basic": {"username": "u", "password": "p:w"}}`))
	hs := e.subscribe(t, "alice", subBody("header", matchIngest, header.url,
		`"auth": {"type": "header", "header": {"type": "Bearer", "credentials": "xyz"}}`))
	e.subscribe(t, "alice", subBody("no match", matchNothing, none.url, ""))

	tx := e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "a.txt", body: "a"}))
	evs := e.sim.Events()
	if len(evs) != 1 || strings.Join(evs[0].Routed, ",") != bs["uuid"].(string)+","+hs["uuid"].(string) {
		t.Fatalf("event routed to %v, want the two matching subscriptions in creation order", evs[0].Routed)
	}
	ds, err := e.sim.WaitDeliveries(testCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status != http.StatusOK || d.Error != "" || d.EventID != "metadata.ingest."+itoa(tx.ID) {
			t.Errorf("delivery %+v", d)
		}
	}

	tests := []struct {
		name, auth, extensions string
		sub                    *subscriber
	}{
		{"basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w")), `{"sub": "one", "n": 2}`, basic},
		{"header", "Bearer xyz", `{}`, header},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.sub.requests()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if a := r.header.Get("Authorization"); a != tc.auth {
				t.Errorf("Authorization %q, want %q", a, tc.auth)
			}
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "ce-") {
					t.Errorf("CloudEvents header %s sent", k)
				}
			}
			// The body is the event with the subscription's extensions merged in.
			want := strings.Replace(string(tx.Event), `"extensions": {}`, `"extensions": `+tc.extensions, 1)
			if string(r.body) != want {
				t.Errorf("body\n got %s\nwant %s", r.body, want)
			}
		})
	}
	if n := len(none.requests()); n != 0 {
		t.Errorf("the subscription whose filter does not match got %d requests", n)
	}
}

func TestDeliveryFailureDisables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	failing := newSubscriber(t, http.StatusInternalServerError)
	rejecting := newSubscriber(t, http.StatusNotFound)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + l.Addr().String() + "/receive"
	l.Close() // nothing listens there any more

	subs := map[string]string{}
	for name, target := range map[string]string{"500": failing.url, "404": rejecting.url, "unreachable": gone} {
		subs[name] = e.subscribe(t, "alice", subBody(name, matchIngest, target, ""))["uuid"].(string)
	}
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "a.txt", body: "a"}))
	ds, err := e.sim.WaitDeliveries(testCtx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Delivery{}
	for name, id := range subs {
		for _, d := range ds {
			if d.Subscription == id {
				byName[name] = d
			}
		}
	}
	if d := byName["500"]; d.Status != 500 || d.Error != "receiver says no" {
		t.Errorf("delivery to a subscriber answering 500: %+v", d)
	}
	if d := byName["404"]; d.Status != 404 || d.Error != "receiver says no" {
		t.Errorf("delivery to a subscriber answering 404: %+v", d)
	}
	if d := byName["unreachable"]; d.Status != 0 || d.Error == "" {
		t.Errorf("delivery to an unreachable subscriber: %+v", d)
	}
	for _, s := range e.sim.Subscriptions() {
		if s.Disabled == nil || s.Error == nil || s.Active() {
			t.Errorf("subscription %s not disabled: %+v", s.Name, s)
		}
		if s.Name != "unreachable" && *s.Error != "receiver says no" {
			t.Errorf("subscription %s error %q, want the subscriber's answer", s.Name, *s.Error)
		}
	}

	// A second event goes nowhere: no retry, no delivery to disabled subscriptions.
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "b.txt", body: "b"}))
	if evs := e.sim.Events(); len(evs) != 2 || len(evs[1].Routed) != 0 {
		t.Errorf("second event routed to %v, want nobody", evs[len(evs)-1].Routed)
	}
	if n := len(failing.requests()); n != 1 {
		t.Errorf("the failing subscriber got %d requests, want 1", n)
	}

	// The operator re-enables it by hand; the next event is delivered again.
	failing.mu.Lock()
	failing.status = 0
	failing.mu.Unlock()
	resp, b := do(t, http.MethodPut, e.notifications+"/eventmatch/"+subs["500"], "application/json",
		[]byte(`{"disabled": null, "error": null}`), "Http-Remote-User", "alice")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"disabled": null, "error": null`) {
		t.Fatalf("re-enable: %s %s", resp.Status, b)
	}
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "c.txt", body: "c"}))
	if _, err := e.sim.WaitDeliveries(testCtx(t), 4); err != nil {
		t.Fatal(err)
	}
	if n := len(failing.requests()); n != 2 {
		t.Errorf("the re-enabled subscriber got %d requests, want 2", n)
	}
}

func TestDeliveryDeletedSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	sub := newSubscriber(t, 0)
	id := e.subscribe(t, "alice", subBody("s", matchIngest, sub.url, ""))["uuid"].(string)
	resp, _ := do(t, http.MethodDelete, e.notifications+"/eventmatch/"+id, "", nil, "Http-Remote-User", "alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	e.ingestOK(t, bundleOf(t, txEntries, upFile{name: "a.txt", body: "a"}))
	if evs := e.sim.Events(); len(evs) != 1 || len(evs[0].Routed) != 0 {
		t.Errorf("event routed to %v after the subscription was deleted", evs[0].Routed)
	}
}

func TestReceive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{AdminUsers: []string{"admin"}})
	user := newSubscriber(t, 0)
	admin := newSubscriber(t, 0)
	all := `$[?(@["cloudEventsVersion"] = "0.1")]`
	e.subscribe(t, "alice", subBody("user", all, user.url, `"extensions": {"from": "sub"}`))
	e.subscribe(t, "admin", subBody("admin", all, admin.url, ""))

	sample, err := os.ReadFile("../../testdata/proxymod-event/event.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, b := do(t, http.MethodPost, e.notifications+"/receive", "application/json", sample)
	if resp.StatusCode != http.StatusOK || len(strings.TrimSpace(string(b))) != 36 {
		t.Fatalf("POST /receive: %s %q, want 200 and a task id", resp.Status, b)
	}
	orm := strings.Replace(string(sample), "org.pacifica.metadata.ingest", "org.pacifica.metadata.orm", 1)
	if resp, b := do(t, http.MethodPost, e.notifications+"/receive", "application/json", []byte(orm)); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /receive: %s %s", resp.Status, b)
	}
	if _, err := e.sim.WaitDeliveries(testCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	// Non-administrators only ever get ingest events.
	if got := len(user.requests()); got != 1 {
		t.Errorf("the user's subscription got %d events, want the ingest one only", got)
	}
	if got := len(admin.requests()); got != 2 {
		t.Errorf("the admin's subscription got %d events, want 2", got)
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(user.requests()[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	// The fixture has no extensions key: it is added, with the subscription's.
	if string(ev["extensions"]) != `{"from": "sub"}` || string(ev["eventID"]) != `"C234-1234-1234"` {
		t.Errorf("delivered event %s", user.requests()[0].body)
	}
	evs, err := e.sim.WaitEvents(testCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !evs[0].Received || evs[0].ID != "C234-1234-1234" || len(evs[0].Routed) != 2 || len(evs[1].Routed) != 1 {
		t.Errorf("events %+v", evs)
	}

	resp, b = do(t, http.MethodPost, e.notifications+"/receive", "application/json", []byte(`{"a": `))
	checkErrorBody(t, resp, b, http.StatusInternalServerError)
}
