package pacificasim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// subscriptionVersion is the "version" of every stored subscription.
const subscriptionVersion = "v0.1"

// Subscription is an /eventmatch object of notifications.
type Subscription struct {
	UUID      string
	User      string
	Name      string
	JSONPath  string
	TargetURL string
	// Auth is the subscription's auth object ({} when none): {"type": "basic", "basic":
	// {"username", "password"}} or {"type": "header", "header": {"type", "credentials"}}.
	Auth json.RawMessage
	// Extensions are merged into the extensions of every event delivered.
	Extensions json.RawMessage
	// Disabled is when a failed delivery disabled the subscription (as stored: an ISO
	// time, or whatever a PUT set); nil while enabled.
	Disabled *string
	// Error is the failed delivery's error text; nil when none.
	Error   *string
	Created time.Time
	Updated time.Time
	// Deleted is when the subscription was deleted; nil while it exists.
	Deleted *time.Time
}

// Active reports whether the subscription receives events: neither disabled nor deleted.
func (s Subscription) Active() bool { return s.Disabled == nil && s.Deleted == nil }

// subscription is a stored subscription with its parsed filter and delivery queue.
type subscription struct {
	Subscription
	filter *filter
	tail   chan struct{} // closed when the last queued delivery is done; nil when none
}

// Subscriptions returns every subscription, deleted ones included, oldest first.
func (s *Sim) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.subOrder))
	for _, id := range s.subOrder {
		out = append(out, s.subs[id].clone())
	}
	return out
}

func (s *subscription) clone() Subscription {
	c := s.Subscription
	c.Auth = slices.Clone(s.Auth)
	c.Extensions = slices.Clone(s.Extensions)
	if s.Disabled != nil {
		d := *s.Disabled
		c.Disabled = &d
	}
	if s.Error != nil {
		e := *s.Error
		c.Error = &e
	}
	if s.Deleted != nil {
		d := *s.Deleted
		c.Deleted = &d
	}
	return c
}

// subscriptionJSON is the stored object as /eventmatch answers it.
type subscriptionJSON struct {
	UUID       string          `json:"uuid"`
	User       string          `json:"user"`
	Name       string          `json:"name"`
	JSONPath   string          `json:"jsonpath"`
	TargetURL  string          `json:"target_url"`
	Auth       json.RawMessage `json:"auth"`
	Extensions json.RawMessage `json:"extensions"`
	Disabled   *string         `json:"disabled"`
	Error      *string         `json:"error"`
	Created    string          `json:"created"`
	Updated    string          `json:"updated"`
	Deleted    *string         `json:"deleted"`
	Version    string          `json:"version"`
}

func (s Subscription) toJSON() subscriptionJSON {
	j := subscriptionJSON{UUID: s.UUID, User: s.User, Name: s.Name, JSONPath: s.JSONPath,
		TargetURL: s.TargetURL, Auth: s.Auth, Extensions: s.Extensions, Disabled: s.Disabled,
		Error: s.Error, Created: isoformat(s.Created), Updated: isoformat(s.Updated),
		Version: subscriptionVersion}
	if s.Deleted != nil {
		d := isoformat(*s.Deleted)
		j.Deleted = &d
	}
	return j
}

// isoformat writes t in local time as Python's datetime.isoformat does for a naive
// datetime: microseconds only when there are some.
func isoformat(t time.Time) string {
	t = t.Local()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}
