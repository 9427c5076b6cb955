package pacificasim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// maxAnswer bounds how much of a subscriber's answer is kept as the error text.
const maxAnswer = 1 << 20

// Delivery is one attempt of notifications to deliver an event to a subscriber.
type Delivery struct {
	Subscription string // the subscription's uuid
	EventID      string
	TargetURL    string
	// Status is the subscriber's HTTP status; 0 when the connection failed.
	Status int
	// Error is empty after a 2xx or 3xx answer; otherwise what went wrong: the connection
	// error, or the subscriber's answer (its status text when the body is empty). The
	// subscription was disabled.
	Error string
	Time  time.Time
}

// Deliveries returns the delivery attempts so far, in the order they ended.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// WaitDeliveries waits until at least n deliveries have been attempted and returns them.
func (s *Sim) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.deliveries) >= n }); err != nil {
		return nil, err
	}
	return s.Deliveries(), nil
}

// queueDelivery queues the delivery of env to sub behind the subscription's earlier
// deliveries, so that a subscriber receives events in order and a slow subscriber holds
// back no one else. s.mu must be held.
func (s *Sim) queueDelivery(sub *subscription, env *pyjson.Object, eventID string) {
	prev, done := sub.tail, make(chan struct{})
	sub.tail = done
	id := sub.UUID
	started := s.goBackground(func(ctx context.Context) {
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done():
				return
			}
		}
		s.deliver(ctx, id, env, eventID)
	})
	if !started {
		close(done)
	}
}

// deliver POSTs the event to the subscriber, as notifications' route_event does: the
// subscription's extensions merged into the event's, its auth header, no retry, and any
// 4xx, 5xx or connection error disables the subscription.
func (s *Sim) deliver(ctx context.Context, id string, env *pyjson.Object, eventID string) {
	s.mu.Lock()
	sub := s.subs[id]
	if !sub.Active() { // disabled or deleted since the event was dispatched
		s.mu.Unlock()
		return
	}
	target, auth, ext := sub.TargetURL, sub.Auth, sub.Extensions
	s.mu.Unlock()

	d := Delivery{Subscription: id, EventID: eventID, TargetURL: target}
	body, err := mergeExtensions(env, ext)
	if err == nil {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			setAuth(req, auth)
			var resp *http.Response
			if resp, err = s.client.Do(req); err == nil {
				answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
				_ = resp.Body.Close()
				d.Status = resp.StatusCode
				if resp.StatusCode >= 400 {
					s.disable(id, string(answer))
					d.Error = string(answer)
					if d.Error == "" {
						d.Error = resp.Status
					}
				}
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return // the simulator is closing
		}
		s.disable(id, err.Error())
		d.Error = err.Error()
	}
	d.Time = s.now()
	s.log.Info("notifications: delivery", "subscription", id, "event", eventID, "target", target,
		"status", d.Status, "error", d.Error)
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.notifyLocked()
	s.mu.Unlock()
}

// mergeExtensions writes the event with the subscription's extensions merged into its
// "extensions" object, keys updated in place or appended, as Python's dict.update does.
func mergeExtensions(env *pyjson.Object, ext json.RawMessage) ([]byte, error) {
	merged := &pyjson.Object{}
	if cur, ok := env.Get("extensions"); ok {
		if o, ok := cur.(*pyjson.Object); ok {
			merged = o.Clone()
		}
	}
	if len(ext) > 0 {
		v, err := pyjson.Decode(ext)
		if err != nil {
			return nil, err
		}
		if o, ok := v.(*pyjson.Object); ok {
			for i, k := range o.Keys {
				merged.Set(k, o.Values[i])
			}
		}
	}
	out := env.Clone()
	out.Set("extensions", merged)
	return pyjson.Marshal(out)
}

// setAuth adds the subscription's Authorization header: basic → "Basic base64(user:pass)",
// header → "<type> <credentials>".
func setAuth(req *http.Request, auth json.RawMessage) {
	var a struct {
		Type  string `json:"type"`
		Basic struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"basic"`
		Header struct {
			Type        string `json:"type"`
			Credentials string `json:"credentials"`
		} `json:"header"`
	}
	if json.Unmarshal(auth, &a) != nil {
		return
	}
	switch a.Type {
	case "basic":
		req.SetBasicAuth(a.Basic.Username, a.Basic.Password)
	case "header":
		req.Header.Set("Authorization", a.Header.Type+" "+a.Header.Credentials)
	}
}

// disable marks the subscription disabled with the error, as notifications does.
func (s *Sim) disable(id, errText string) {
	now := isoformat(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[id]
	sub.Disabled, sub.Error = &now, &errText
}
