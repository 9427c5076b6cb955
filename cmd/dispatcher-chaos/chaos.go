package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// A window is a stretch of time while something was out: it explains the failures seen
// in it (and a grace period after it).
type window struct {
	what     string // "postgres", "rabbitmq", "receiver", "cartd", "ingest", "worker"
	from, to time.Time
}

// chaos plays the schedule of faults: local services stopped and started, processes
// killed, the simulated Pacifica failing or hanging.
type chaos struct {
	svc  *localServices
	fl   *fleet
	sim  *pacificasim.Sim
	gap  time.Duration
	hold time.Duration
	log  func(format string, args ...any)

	mu      sync.Mutex
	windows []window
	errs    []error
}

type step struct {
	name string
	run  func(ctx context.Context) error
}

func (c *chaos) steps() []step {
	return []step{
		{"SIGKILL worker-1", c.killer("worker-1", time.Second, "worker")},
		{"RabbitMQ stopped", c.rabbit},
		{"cartd answers 503", c.simFault(pacificasim.ServiceCartd, pacificasim.Fault{Status: http.StatusServiceUnavailable})},
		{"SIGKILL receiver", c.killer("receiver", 2*time.Second, "receiver")},
		{"PostgreSQL restarted", c.postgres},
		{"SIGKILL worker-2", c.killer("worker-2", time.Second, "worker")},
		{"ingest hangs 8s", c.simFault(pacificasim.ServiceIngest, pacificasim.Fault{Delay: 8 * time.Second})},
		{"RabbitMQ stopped again", c.rabbit},
		{"ingest answers 500", c.simFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusInternalServerError})},
		{"cartd hangs 8s", c.simFault(pacificasim.ServiceCartd, pacificasim.Fault{Delay: 8 * time.Second})},
	}
}

// play runs the steps one after the other, c.gap apart, until they are done or ctx ends.
func (c *chaos) play(ctx context.Context) {
	for _, s := range c.steps() {
		if !pause(ctx, c.gap) {
			return
		}
		if err := s.run(ctx); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Errorf("%s: %w", s.name, err))
			c.mu.Unlock()
			c.log("%s: %v", s.name, err)
		}
	}
}

func (c *chaos) record(what string, from time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.windows = append(c.windows, window{what: what, from: from, to: time.Now()})
}

func (c *chaos) killer(name string, down time.Duration, what string) func(context.Context) error {
	return func(context.Context) error {
		from := time.Now()
		old, nw, err := c.fl.kill(name, down)
		c.record(what, from)
		if err != nil {
			return err
		}
		c.log("SIGKILL %s (pid %d); restarted as pid %d after %s", name, old, nw, down)
		return nil
	}
}

// rabbit stops the RabbitMQ application for c.hold, then starts it again (even when ctx
// ends meanwhile).
func (c *chaos) rabbit(ctx context.Context) error {
	from := time.Now()
	c.log("RabbitMQ: rabbitmqctl stop_app")
	err := c.svc.rabbitStop()
	if err == nil {
		c.log("RabbitMQ stopped; starting it again in %s", c.hold)
		pause(ctx, c.hold)
	}
	serr := c.svc.rabbitStart()
	c.record("rabbitmq", from)
	if err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	c.log("RabbitMQ running again (out %s)", time.Since(from).Round(100*time.Millisecond))
	return nil
}

func (c *chaos) postgres(context.Context) error {
	from := time.Now()
	c.log("PostgreSQL: pg_ctlcluster %s restart", c.svc.pgCluster)
	err := c.svc.pgRestart()
	c.record("postgres", from)
	if err != nil {
		return err
	}
	c.log("PostgreSQL running again (out %s)", time.Since(from).Round(100*time.Millisecond))
	return nil
}

// simFault makes a service of the simulated Pacifica misbehave for c.hold.
func (c *chaos) simFault(service string, f pacificasim.Fault) func(context.Context) error {
	return func(ctx context.Context) error {
		from := time.Now()
		c.sim.SetFault(service, f)
		what := fmt.Sprintf("answers %d", f.Status)
		if f.Status == 0 {
			what = fmt.Sprintf("hangs %s on every request", f.Delay)
		}
		c.log("simulated %s %s for %s", service, what, c.hold)
		pause(ctx, c.hold)
		c.sim.ClearFault(service)
		c.record(service, from)
		c.log("simulated %s behaves again", service)
		return nil
	}
}

// explained reports whether a failure at t of the given kind falls in a window that
// explains it, or within grace after one.
func (c *chaos) explained(t time.Time, kinds []string, grace time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.windows {
		for _, k := range kinds {
			if w.what == k && !t.Before(w.from) && !t.After(w.to.Add(grace)) {
				return true
			}
		}
	}
	return false
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
