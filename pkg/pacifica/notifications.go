package pacifica

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

const notifications = "notifications"

// NotificationsClient manages subscriptions (pacifica-notifications' /eventmatch API).
type NotificationsClient struct {
	c    caller
	base string
}

// Subscription is a notifications subscription (an event match).
type Subscription struct {
	UUID       string            `json:"uuid,omitempty"`
	User       string            `json:"user,omitempty"`
	Name       string            `json:"name"`
	JSONPath   string            `json:"jsonpath"`
	TargetURL  string            `json:"target_url"`
	Auth       *SubscriptionAuth `json:"auth,omitempty"`
	Extensions map[string]any    `json:"extensions,omitempty"`
	Disabled   json.RawMessage   `json:"disabled,omitempty"`
	Error      json.RawMessage   `json:"error,omitempty"`
	Created    string            `json:"created,omitempty"`
	Updated    string            `json:"updated,omitempty"`
	Deleted    json.RawMessage   `json:"deleted,omitempty"`
	Version    string            `json:"version,omitempty"`
}

// IsDisabled reports whether notifications disabled the subscription.
func (s Subscription) IsDisabled() bool {
	return len(s.Disabled) > 0 && string(s.Disabled) != "null"
}

// SubscriptionAuth is the authentication notifications sends with each delivery.
type SubscriptionAuth struct {
	Type  string `json:"type"` // basic or header
	Basic *struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"basic,omitempty"`
	Header *struct {
		Type        string `json:"type"`
		Credentials string `json:"credentials"`
	} `json:"header,omitempty"`
}

func (n *NotificationsClient) do(ctx context.Context, op, method, path, user string, in, out any) error {
	var body *bytes.Reader
	h := http.Header{"Http-Remote-User": {user}}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Service: notifications, Op: op, Err: err}
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	} else {
		body = bytes.NewReader(nil)
	}
	code, _, resp, err := n.c.call(ctx, notifications, op, method, n.base+path, h, body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return statusError(notifications, op, code, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return &Error{Service: notifications, Op: op, StatusCode: code, Message: "unexpected answer: " + excerpt(resp)}
		}
	}
	return nil
}

// Create adds a subscription for user.
func (n *NotificationsClient) Create(ctx context.Context, user string, s Subscription) (Subscription, error) {
	var out Subscription
	err := n.do(ctx, fmtOp("create subscription %q", s.Name), http.MethodPost, "/eventmatch", user, s, &out)
	return out, err
}

// List returns user's subscriptions (notifications answers an empty list with 403: that
// is no subscriptions, not an error).
func (n *NotificationsClient) List(ctx context.Context, user string) ([]Subscription, error) {
	var out []Subscription
	err := n.do(ctx, "list subscriptions", http.MethodGet, "/eventmatch", user, nil, &out)
	var pe *Error
	if asError(err, &pe) && pe.StatusCode == http.StatusForbidden {
		return nil, nil
	}
	return out, err
}

// Get reads a subscription.
func (n *NotificationsClient) Get(ctx context.Context, user, id string) (Subscription, error) {
	var out Subscription
	err := n.do(ctx, fmtOp("read subscription %s", id), http.MethodGet, "/eventmatch/"+url.PathEscape(id), user, nil, &out)
	return out, err
}

// Update changes the given fields of a subscription (a partial PUT); {"disabled": nil,
// "error": nil} re-enables one that notifications disabled.
func (n *NotificationsClient) Update(ctx context.Context, user, id string, patch map[string]any) (Subscription, error) {
	var out Subscription
	err := n.do(ctx, fmtOp("update subscription %s", id), http.MethodPut, "/eventmatch/"+url.PathEscape(id), user, patch, &out)
	return out, err
}

// Delete removes a subscription (notifications keeps it, marked deleted).
func (n *NotificationsClient) Delete(ctx context.Context, user, id string) error {
	return n.do(ctx, fmtOp("delete subscription %s", id), http.MethodDelete, "/eventmatch/"+url.PathEscape(id), user, nil, nil)
}
