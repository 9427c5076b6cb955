package pacificasim

import (
	"context"
	"slices"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// handToNotifications is the metadata service's POST of an ingest event to notifications'
// /receive. A fault of notifications applies: a delay holds the event back, a status loses
// it, as Pacifica only logs the failed POST.
func (s *Sim) handToNotifications(ctx context.Context, event []byte) {
	if f, ok := s.takeFault(ServiceNotifications, "/receive"); ok {
		if !sleep(ctx, f.Delay) {
			return
		}
		if f.Status != 0 {
			s.log.Warn("metadata: POST to notifications /receive failed, event lost", "status", f.Status)
			s.recordEvent(Event{ID: eventID(event), Body: event, Lost: true})
			return
		}
	}
	if err := s.dispatch(event, false); err != nil {
		s.log.Error("notifications: dispatch", "error", err)
	}
}

// dispatch matches an event against every active subscription, in creation order, and
// queues a delivery to each that matches and may see it. The event must be JSON; an event
// that is not an object is recorded and goes nowhere, as in notifications.
func (s *Sim) dispatch(event []byte, received bool) error {
	parsed, err := pyjson.Decode(event)
	if err != nil {
		return err
	}
	body, err := pyjson.Marshal(parsed)
	if err != nil {
		return err
	}
	ev := Event{ID: eventID(body), Body: body, Received: received}
	env, isObject := parsed.(*pyjson.Object)
	if !isObject {
		s.recordEvent(ev)
		return nil
	}
	doc, err := filterDocument(body)
	if err != nil {
		return err
	}
	evType, _ := env.Get("eventType")

	type candidate struct {
		uuid, user string
		f          *filter
	}
	var cands []candidate
	s.mu.Lock()
	for _, id := range s.subOrder {
		sub := s.subs[id]
		if sub.Active() {
			cands = append(cands, candidate{id, sub.User, sub.filter})
		}
	}
	s.mu.Unlock()

	var routed []string
	for _, c := range cands {
		// Pacifica's policy lets non-administrators see ingest events only.
		if evType != eventTypeIngst && !slices.Contains(s.cfg.AdminUsers, c.user) {
			continue
		}
		if c.f.matches(doc) {
			routed = append(routed, c.uuid)
		}
	}
	ev.Routed = routed
	s.mu.Lock()
	for _, id := range routed {
		s.queueDelivery(s.subs[id], env.Clone(), ev.ID)
	}
	s.mu.Unlock()
	s.recordEvent(ev)
	s.log.Info("notifications: event dispatched", "event", ev.ID, "received", received, "routed", len(routed))
	return nil
}

func (s *Sim) recordEvent(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	s.notifyLocked()
}

// Events returns the events notifications received, oldest first.
func (s *Sim) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Body = slices.Clone(e.Body)
		e.Routed = slices.Clone(e.Routed)
		out[i] = e
	}
	return out
}

// WaitEvents waits until notifications has received at least n events and returns them.
func (s *Sim) WaitEvents(ctx context.Context, n int) ([]Event, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.events) >= n }); err != nil {
		return nil, err
	}
	return s.Events(), nil
}

// eventID reads the eventID of an event, "" when it has none.
func eventID(event []byte) string {
	v, err := pyjson.Decode(event)
	if err != nil {
		return ""
	}
	if o, ok := v.(*pyjson.Object); ok {
		if id, ok := o.Get("eventID"); ok {
			if s, ok := id.(string); ok {
				return s
			}
		}
	}
	return ""
}
