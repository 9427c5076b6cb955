package pacificasim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// subscribe creates a subscription as user and returns the stored object.
func (e *env) subscribe(t *testing.T, user, body string) map[string]any {
	t.Helper()
	resp, b := do(t, http.MethodPost, e.notifications+"/eventmatch", "application/json", []byte(body), "Http-Remote-User", user)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /eventmatch: %s %s", resp.Status, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEventMatchCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	const ingestOnly = `$[?(@["eventType"] = "org.pacifica.metadata.ingest")]`
	body := `{"name": "mine", "jsonpath": ` + quote(ingestOnly) + `, "target_url": "http://127.0.0.1:1/receive",
		"extensions": {"x": 1}, "auth": {"type": "header", "header": {"type": "Bearer", "credentials": "xyz"}}}`
	resp, b := do(t, http.MethodPost, e.notifications+"/eventmatch", "application/json", []byte(body), "Http-Remote-User", "alice")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST: %s %s", resp.Status, b)
	}
	var created map[string]any
	if err := json.Unmarshal(b, &created); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"uuid", "user", "name", "jsonpath", "target_url", "auth", "extensions",
		"disabled", "error", "created", "updated", "deleted", "version"}
	for _, k := range wantKeys {
		if _, ok := created[k]; !ok {
			t.Errorf("stored object lacks %q: %s", k, b)
		}
	}
	if created["user"] != "alice" || created["name"] != "mine" || created["jsonpath"] != ingestOnly ||
		created["disabled"] != nil || created["error"] != nil || created["deleted"] != nil ||
		created["version"] != "v0.1" || !strings.Contains(string(b), `"extensions": {"x": 1}`) ||
		!strings.Contains(string(b), `"auth": {"type": "header", "header": {"type": "Bearer", "credentials": "xyz"}}`) {
		t.Errorf("stored object %s", b)
	}
	id := created["uuid"].(string)
	one := e.notifications + "/eventmatch/" + id

	t.Run("get", func(t *testing.T) {
		resp, b := do(t, http.MethodGet, one, "", nil, "Http-Remote-User", "alice")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), id) {
			t.Errorf("GET one: %s %s", resp.Status, b)
		}
		resp, b = do(t, http.MethodGet, e.notifications+"/eventmatch", "", nil, "Http-Remote-User", "alice")
		var list []map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list) != 1 || list[0]["uuid"] != id {
			t.Errorf("GET list: %s %s", resp.Status, b)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		resp, b := do(t, http.MethodGet, one, "", nil, "Http-Remote-User", "bob")
		checkErrorBody(t, resp, b, http.StatusForbidden)
		resp, b = do(t, http.MethodGet, e.notifications+"/eventmatch", "", nil, "Http-Remote-User", "bob")
		checkErrorBody(t, resp, b, http.StatusForbidden) // an empty list answers 403
		resp, b = do(t, http.MethodGet, e.notifications+"/eventmatch/6f1c3b1e-0000-4000-8000-000000000000", "", nil, "Http-Remote-User", "alice")
		checkErrorBody(t, resp, b, http.StatusForbidden)
		resp, b = do(t, http.MethodGet, e.notifications+"/eventmatch/not-a-uuid", "", nil, "Http-Remote-User", "alice")
		checkErrorBody(t, resp, b, http.StatusInternalServerError)
	})
	t.Run("partial update", func(t *testing.T) {
		// The other fields keep their values; auth and extensions, absent, are reset to {}.
		resp, b := do(t, http.MethodPut, one, "application/json", []byte(`{"target_url": "http://127.0.0.1:2/r"}`), "Http-Remote-User", "alice")
		var m map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
			t.Fatalf("PUT: %s %s", resp.Status, b)
		}
		if m["target_url"] != "http://127.0.0.1:2/r" || m["name"] != "mine" || m["jsonpath"] != ingestOnly ||
			!strings.Contains(string(b), `"extensions": {}`) || !strings.Contains(string(b), `"auth": {}`) {
			t.Errorf("after PUT: %s", b)
		}
		resp, b = do(t, http.MethodPut, one, "application/json", []byte(`{"extensions": {"x": 1}, "auth": {"type": "header", "header": {"type": "Bearer", "credentials": "c"}}}`), "Http-Remote-User", "alice")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"extensions": {"x": 1}`) || !strings.Contains(string(b), `"credentials": "c"`) ||
			!strings.Contains(string(b), `"target_url": "http://127.0.0.1:2/r"`) {
			t.Errorf("PUT with auth and extensions: %s %s", resp.Status, b)
		}
		resp, b = do(t, http.MethodPut, one, "application/json", []byte(`{"jsonpath": "$[?("}`), "Http-Remote-User", "alice")
		checkErrorBody(t, resp, b, http.StatusInternalServerError)
		if subs := e.sim.Subscriptions(); subs[0].JSONPath != ingestOnly {
			t.Errorf("a rejected PUT changed the jsonpath to %q", subs[0].JSONPath)
		}
	})
	t.Run("soft delete", func(t *testing.T) {
		resp, b := do(t, http.MethodDelete, one, "", nil, "Http-Remote-User", "alice")
		if resp.StatusCode != http.StatusOK || len(b) != 0 {
			t.Errorf("DELETE: %s %q", resp.Status, b)
		}
		resp, b = do(t, http.MethodGet, one, "", nil, "Http-Remote-User", "alice")
		checkErrorBody(t, resp, b, http.StatusForbidden)
		resp, b = do(t, http.MethodGet, e.notifications+"/eventmatch", "", nil, "Http-Remote-User", "alice")
		checkErrorBody(t, resp, b, http.StatusForbidden)
		subs := e.sim.Subscriptions()
		if len(subs) != 1 || subs[0].Deleted == nil || subs[0].Active() {
			t.Errorf("after DELETE the store holds %+v, want the subscription marked deleted", subs)
		}
	})
}

func TestEventMatchDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	resp, b := do(t, http.MethodPost, e.notifications+"/eventmatch", "application/json",
		[]byte(`{"name": "n", "jsonpath": "$", "target_url": "http://x"}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %s %s", resp.Status, b)
	}
	if !strings.Contains(string(b), `"user": "default_user"`) || !strings.Contains(string(b), `"auth": {}`) ||
		!strings.Contains(string(b), `"extensions": {}`) {
		t.Errorf("stored object %s, want the default user and empty auth and extensions", b)
	}
}

func TestEventMatchRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	tests := []struct{ name, body string }{
		{"not JSON", `{"name": `},
		{"not an object", `["name"]`},
		{"jsonpath does not parse", `{"name": "n", "jsonpath": "$[?(@.a = )]", "target_url": "http://x"}`},
		{"no name", `{"jsonpath": "$", "target_url": "http://x"}`},
		{"no jsonpath", `{"name": "n", "target_url": "http://x"}`},
		{"no target_url", `{"name": "n", "jsonpath": "$"}`},
		{"name not a string", `{"name": 1, "jsonpath": "$", "target_url": "http://x"}`},
		{"extensions not an object", `{"name": "n", "jsonpath": "$", "target_url": "http://x", "extensions": []}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, http.MethodPost, e.notifications+"/eventmatch", "application/json", []byte(tc.body))
			checkErrorBody(t, resp, b, http.StatusInternalServerError)
		})
	}
	if n := len(e.sim.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions stored from rejected bodies", n)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
