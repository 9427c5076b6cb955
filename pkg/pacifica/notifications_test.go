package pacifica

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestNotificationsCRUD(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	subs := map[string]map[string]any{}
	users := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		user := r.Header.Get("Http-Remote-User")
		users[user] = true
		id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/eventmatch"), "/")
		switch {
		case r.Method == http.MethodPost && id == "":
			var s map[string]any
			_ = json.NewDecoder(r.Body).Decode(&s)
			s["uuid"], s["user"], s["disabled"], s["error"] = "u-1", user, nil, nil
			subs["u-1"] = s
			_ = json.NewEncoder(w).Encode(s)
		case r.Method == http.MethodGet && id == "":
			if len(subs) == 0 {
				w.WriteHeader(403)
				_, _ = w.Write([]byte(`{"status": "403 Forbidden", "message": "no subscriptions"}`))
				return
			}
			var out []map[string]any
			for _, s := range subs {
				out = append(out, s)
			}
			_ = json.NewEncoder(w).Encode(out)
		case r.Method == http.MethodGet:
			s, ok := subs[id]
			if !ok {
				w.WriteHeader(404)
				return
			}
			_ = json.NewEncoder(w).Encode(s)
		case r.Method == http.MethodPut:
			var patch map[string]any
			_ = json.NewDecoder(r.Body).Decode(&patch)
			for k, v := range patch {
				subs[id][k] = v
			}
			_ = json.NewEncoder(w).Encode(subs[id])
		case r.Method == http.MethodDelete:
			delete(subs, id)
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{UploadURL: srv.URL, UploadStatusURL: srv.URL, DownloadURL: srv.URL, NotificationsURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := c.Notifications
	if l, err := n.List(ctx, "dispatcher"); err != nil || len(l) != 0 {
		t.Errorf("empty list (403): %v, %v; want none and no error", l, err)
	}
	s, err := n.Create(ctx, "dispatcher", Subscription{Name: "proxymod", JSONPath: "$", TargetURL: "http://x/receive"})
	if err != nil || s.UUID != "u-1" || s.User != "dispatcher" {
		t.Fatalf("Create = %+v, %v", s, err)
	}
	if l, err := n.List(ctx, "dispatcher"); err != nil || len(l) != 1 {
		t.Errorf("List = %v, %v", l, err)
	}
	s, err = n.Update(ctx, "dispatcher", "u-1", map[string]any{"disabled": "2020-01-01", "error": "500"})
	if err != nil || !s.IsDisabled() {
		t.Errorf("Update = %+v, %v", s, err)
	}
	s, err = n.Update(ctx, "dispatcher", "u-1", map[string]any{"disabled": nil, "error": nil})
	if err != nil || s.IsDisabled() {
		t.Errorf("re-enable = %+v, %v", s, err)
	}
	if err := n.Delete(ctx, "dispatcher", "u-1"); err != nil {
		t.Error(err)
	}
	if _, err := n.Get(ctx, "dispatcher", "u-1"); err == nil {
		t.Error("read a deleted subscription")
	}
	if len(users) != 1 || !users["dispatcher"] {
		t.Errorf("Http-Remote-User seen: %v", users)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{UploadURL: "http://a/upload", UploadStatusURL: "http://a/get_state", DownloadURL: "http://a", NotificationsURL: "http://a"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"UPLOAD_URL":              func(c *Config) { c.UploadURL = "ftp://x" },
		"AUTHENTICATION_TYPE":     func(c *Config) { c.AuthType = "kerberos" },
		"AUTHENTICATION_USERNAME": func(c *Config) { c.AuthType = "basic" },
		"AUTHENTICATION_CERT":     func(c *Config) { c.AuthType = "clientssl" },
		"CA_BUNDLE":               func(c *Config) { c.CABundle = "/nonexistent/ca.pem" },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}
