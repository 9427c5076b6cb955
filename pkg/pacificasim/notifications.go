package pacificasim

import (
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// maxEventBody bounds the bodies notifications reads.
const maxEventBody = 64 << 20

// NotificationsHandler returns notifications: /eventmatch subscriptions and POST /receive
// (as pacifica-notifications answers).
func (s *Sim) NotificationsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/eventmatch", s.eventMatch)
	mux.HandleFunc("/eventmatch/", s.eventMatch)
	mux.HandleFunc("/receive", s.receive)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The path '"+r.URL.Path+"' was not found.")
	})
	return s.withFaults(ServiceNotifications, mux)
}

func (s *Sim) remoteUser(r *http.Request) string {
	if u := r.Header.Get("Http-Remote-User"); u != "" {
		return u
	}
	return s.cfg.DefaultUser
}

func (s *Sim) eventMatch(w http.ResponseWriter, r *http.Request) {
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/eventmatch"), "/")
	switch {
	case r.Method == http.MethodGet && id == "":
		s.listSubscriptions(w, r)
	case r.Method == http.MethodPost && id == "":
		s.createSubscription(w, r)
	case id == "" || strings.Contains(id, "/") || r.Method == http.MethodPost:
		writeError(w, http.StatusNotFound, "Not Found")
	case r.Method == http.MethodGet:
		if sub, ok := s.ownSubscription(w, r, id); ok {
			writeJSON(w, http.StatusOK, sub.toJSON())
		}
	case r.Method == http.MethodPut:
		s.updateSubscription(w, r, id)
	case r.Method == http.MethodDelete:
		s.deleteSubscription(w, r, id)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func (s *Sim) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	user := s.remoteUser(r)
	var list []subscriptionJSON
	for _, sub := range s.Subscriptions() {
		if sub.User == user && sub.Deleted == nil {
			list = append(list, sub.toJSON())
		}
	}
	if len(list) == 0 { // notifications answers an empty list so
		writeError(w, http.StatusForbidden, "Forbidden")
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// ownSubscription finds the subscription id of the caller; notifications answers 403 for an
// unknown, foreign or deleted one, and 500 for a malformed uuid.
func (s *Sim) ownSubscription(w http.ResponseWriter, r *http.Request, id string) (Subscription, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "badly formed hexadecimal UUID string")
		return Subscription{}, false
	}
	s.mu.Lock()
	sub, ok := s.subs[u.String()]
	var c Subscription
	if ok {
		c = sub.clone()
	}
	s.mu.Unlock()
	if !ok || c.User != s.remoteUser(r) || c.Deleted != nil {
		writeError(w, http.StatusForbidden, "Forbidden")
		return Subscription{}, false
	}
	return c, true
}

func (s *Sim) createSubscription(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	b, err := parseEventMatch(body)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, k := range []string{"name", "jsonpath", "target_url"} {
		if _, ok := b.strs[k]; !ok {
			writeError(w, http.StatusInternalServerError, "NOT NULL constraint failed: eventmatch."+k)
			return
		}
	}
	f, err := compileFilter(b.strs["jsonpath"])
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	now := s.now()
	sub := &subscription{filter: f, Subscription: Subscription{
		UUID: uuid.NewString(), User: s.remoteUser(r), Name: b.strs["name"],
		JSONPath: b.strs["jsonpath"], TargetURL: b.strs["target_url"],
		Auth: []byte("{}"), Extensions: []byte("{}"), Created: now, Updated: now,
	}}
	if b.auth != nil {
		sub.Auth = b.auth
	}
	if b.ext != nil {
		sub.Extensions = b.ext
	}
	if p, ok := b.nullables["disabled"]; ok {
		sub.Disabled = p
	}
	if p, ok := b.nullables["error"]; ok {
		sub.Error = p
	}
	s.mu.Lock()
	s.subs[sub.UUID] = sub
	s.subOrder = append(s.subOrder, sub.UUID)
	c := sub.clone()
	s.mu.Unlock()
	s.log.Info("notifications: subscription created", "uuid", c.UUID, "user", c.User, "target", c.TargetURL)
	writeJSON(w, http.StatusOK, c.toJSON())
}

func (s *Sim) updateSubscription(w http.ResponseWriter, r *http.Request, id string) {
	cur, ok := s.ownSubscription(w, r, id)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	b, err := parseEventMatch(body)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var f *filter
	if expr, ok := b.strs["jsonpath"]; ok {
		if f, err = compileFilter(expr); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	s.mu.Lock()
	sub := s.subs[cur.UUID]
	if v, ok := b.strs["name"]; ok {
		sub.Name = v
	}
	if v, ok := b.strs["target_url"]; ok {
		sub.TargetURL = v
	}
	if f != nil {
		sub.JSONPath, sub.filter = b.strs["jsonpath"], f
	}
	// PUT is not a partial update for auth and extensions (observed on the real service,
	// v0.5.2): a body without them resets them to {}; the other fields keep their values.
	sub.Auth, sub.Extensions = []byte("{}"), []byte("{}")
	if b.auth != nil {
		sub.Auth = b.auth
	}
	if b.ext != nil {
		sub.Extensions = b.ext
	}
	if p, ok := b.nullables["disabled"]; ok {
		sub.Disabled = p
	}
	if p, ok := b.nullables["error"]; ok {
		sub.Error = p
	}
	sub.Updated = s.now()
	c := sub.clone()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, c.toJSON())
}

func (s *Sim) deleteSubscription(w http.ResponseWriter, r *http.Request, id string) {
	cur, ok := s.ownSubscription(w, r, id)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	sub := s.subs[cur.UUID]
	sub.Deleted, sub.Updated = &now, now
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// receive is POST /receive, where the metadata service hands its events over.
func (s *Sim) receive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := s.dispatch(body, true); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeText(w, http.StatusOK, uuid.NewString()) // the id of notifications' Celery task
}
