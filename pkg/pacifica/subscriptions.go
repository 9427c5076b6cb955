package pacifica

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Notifications' update of a subscription (PUT /eventmatch/<uuid>) is not a partial update
// for auth and extensions: a body without them resets them to {} (observed on the real
// service, v0.5.2), while the other fields keep their stored values. GET returns the stored
// auth, password included. So every update here sends the whole subscription: the auth and
// extensions given, or those stored.

// NewBasicAuth is the basic form of a subscription's delivery credentials.
func NewBasicAuth(username, password string) *SubscriptionAuth {
	a := &SubscriptionAuth{Type: "basic"}
	a.Basic = &struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{username, password}
	return a
}

// NewHeaderAuth is the header form: notifications sends "typ credentials" as the
// Authorization header.
func NewHeaderAuth(typ, credentials string) *SubscriptionAuth {
	a := &SubscriptionAuth{Type: "header"}
	a.Header = &struct {
		Type        string `json:"type"`
		Credentials string `json:"credentials"`
	}{typ, credentials}
	return a
}

// ParseHeaderAuth reads "TYPE CREDENTIALS" (an Authorization header value).
func ParseHeaderAuth(v string) (*SubscriptionAuth, error) {
	typ, creds, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || typ == "" || strings.TrimSpace(creds) == "" {
		return nil, fmt.Errorf(`want "TYPE CREDENTIALS", e.g. "Bearer abc"`)
	}
	return NewHeaderAuth(typ, strings.TrimSpace(creds)), nil
}

// subscriptionBody is the whole subscription a PUT sends, re-enabling it: disabled and
// error are sent as null.
type subscriptionBody struct {
	Name       string          `json:"name"`
	JSONPath   string          `json:"jsonpath"`
	TargetURL  string          `json:"target_url"`
	Auth       any             `json:"auth"`
	Extensions map[string]any  `json:"extensions"`
	Disabled   json.RawMessage `json:"disabled"`
	Error      json.RawMessage `json:"error"`
}

// Replace writes the whole subscription s (name, jsonpath, target URL, auth, extensions)
// and clears its disabled mark and error: an update and a re-enable in one.
func (n *NotificationsClient) Replace(ctx context.Context, user, id string, s Subscription) (Subscription, error) {
	body := subscriptionBody{Name: s.Name, JSONPath: s.JSONPath, TargetURL: s.TargetURL, Auth: map[string]any{},
		Extensions: s.Extensions, Disabled: json.RawMessage("null"), Error: json.RawMessage("null")}
	if s.Auth != nil && s.Auth.Type != "" {
		body.Auth = s.Auth
	}
	if body.Extensions == nil {
		body.Extensions = map[string]any{}
	}
	var out Subscription
	err := n.do(ctx, fmtOp("update subscription %s", id), http.MethodPut, "/eventmatch/"+url.PathEscape(id), user, body, &out)
	return out, err
}

// WantedSubscription is one route's subscription: its name and jsonpath2 filter.
type WantedSubscription struct {
	Name, JSONPath string
}

// SubscriptionPlan is what a service wants of notifications: one subscription per route,
// owned by User, delivering to TargetURL with Auth (nil: keep what is stored; a new
// subscription then has none).
type SubscriptionPlan struct {
	User      string
	TargetURL string
	Auth      *SubscriptionAuth
	Wanted    []WantedSubscription
}

// Subscription actions.
const (
	SubscriptionCreated   = "created"
	SubscriptionUpdated   = "updated"
	SubscriptionReenabled = "re-enabled"
	SubscriptionRemoved   = "removed"
	SubscriptionAbsent    = "absent"
	SubscriptionEnabled   = "enabled"
	SubscriptionMissing   = "missing"
)

// SubscriptionResult is what became of one route's subscription.
type SubscriptionResult struct {
	Name   string
	UUID   string
	Action string
	// WasError is notifications' recorded reason when the subscription was disabled.
	WasError string
	// Subscription is the subscription as notifications answered.
	Subscription Subscription
}

// existing returns user's subscriptions by name (the first of each name).
func (n *NotificationsClient) existing(ctx context.Context, user string) (map[string]Subscription, error) {
	list, err := n.List(ctx, user)
	if err != nil {
		return nil, err
	}
	out := map[string]Subscription{}
	for _, s := range list {
		if _, dup := out[s.Name]; !dup {
			out[s.Name] = s
		}
	}
	return out, nil
}

// Reconcile makes user's subscriptions match the plan: each wanted one created when
// missing, or written whole (filter, target, auth, extensions) and re-enabled when it
// exists. It stops at the first error, returning what it did so far.
func (n *NotificationsClient) Reconcile(ctx context.Context, p SubscriptionPlan) ([]SubscriptionResult, error) {
	have, err := n.existing(ctx, p.User)
	if err != nil {
		return nil, err
	}
	var out []SubscriptionResult
	for _, w := range p.Wanted {
		cur, ok := have[w.Name]
		if !ok {
			s, err := n.Create(ctx, p.User, Subscription{Name: w.Name, JSONPath: w.JSONPath, TargetURL: p.TargetURL, Auth: p.Auth})
			if err != nil {
				return out, err
			}
			out = append(out, SubscriptionResult{Name: w.Name, UUID: s.UUID, Action: SubscriptionCreated, Subscription: s})
			continue
		}
		next := cur
		next.JSONPath, next.TargetURL = w.JSONPath, p.TargetURL
		if p.Auth != nil {
			next.Auth = p.Auth
		}
		r := SubscriptionResult{Name: w.Name, UUID: cur.UUID, Action: SubscriptionUpdated}
		if cur.IsDisabled() {
			r.Action, r.WasError = SubscriptionReenabled, errorText(cur.Error)
		}
		s, err := n.Replace(ctx, p.User, cur.UUID, next)
		if err != nil {
			return out, err
		}
		r.Subscription = s
		out = append(out, r)
	}
	return out, nil
}

// Remove deletes the plan's subscriptions.
func (n *NotificationsClient) Remove(ctx context.Context, p SubscriptionPlan) ([]SubscriptionResult, error) {
	have, err := n.existing(ctx, p.User)
	if err != nil {
		return nil, err
	}
	var out []SubscriptionResult
	for _, w := range p.Wanted {
		cur, ok := have[w.Name]
		if !ok {
			out = append(out, SubscriptionResult{Name: w.Name, Action: SubscriptionAbsent})
			continue
		}
		if err := n.Delete(ctx, p.User, cur.UUID); err != nil {
			return out, err
		}
		out = append(out, SubscriptionResult{Name: w.Name, UUID: cur.UUID, Action: SubscriptionRemoved})
	}
	return out, nil
}

// Reenable looks at the plan's subscriptions and re-enables those notifications disabled,
// with everything they had (target, filter, extensions) and the plan's Auth when it has one,
// else the auth they had: the subscription watchdog. Notifications' update erases the auth a
// PUT does not carry, so a subscription disabled by hand may have lost it; re-enabled without
// it, its next delivery would be refused and disable it again. For the same reason an enabled
// subscription whose auth is not the plan's gets the plan's (SubscriptionUpdated). The others
// are reported enabled, or missing.
func (n *NotificationsClient) Reenable(ctx context.Context, p SubscriptionPlan) ([]SubscriptionResult, error) {
	have, err := n.existing(ctx, p.User)
	if err != nil {
		return nil, err
	}
	var out []SubscriptionResult
	for _, w := range p.Wanted {
		cur, ok := have[w.Name]
		switch {
		case !ok:
			out = append(out, SubscriptionResult{Name: w.Name, Action: SubscriptionMissing})
		case !cur.IsDisabled() && (p.Auth == nil || sameAuth(cur.Auth, p.Auth)):
			out = append(out, SubscriptionResult{Name: w.Name, UUID: cur.UUID, Action: SubscriptionEnabled, Subscription: cur})
		default:
			r := SubscriptionResult{Name: w.Name, UUID: cur.UUID, Action: SubscriptionUpdated}
			if cur.IsDisabled() {
				r.Action, r.WasError = SubscriptionReenabled, errorText(cur.Error)
			}
			next := cur
			if p.Auth != nil {
				next.Auth = p.Auth
			}
			s, err := n.Replace(ctx, p.User, cur.UUID, next)
			if err != nil {
				return out, err
			}
			r.Subscription = s
			out = append(out, r)
		}
	}
	return out, nil
}

// sameAuth reports whether two subscription auths send the same credentials.
func sameAuth(a, b *SubscriptionAuth) bool {
	if a == nil || b == nil || a.Type == "" || b.Type == "" {
		return (a == nil || a.Type == "") == (b == nil || b.Type == "")
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// errorText is a subscription's recorded error as text.
func errorText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
