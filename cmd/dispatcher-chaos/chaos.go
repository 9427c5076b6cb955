package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim"
)

// A window is a stretch of time while something was out: it explains the failures seen
// in it (and a grace period after it). A receiver's SIGTERM restart ("receiver-term")
// explains nothing: a drained restart must refuse no delivery.
type window struct {
	what     string // "postgres", "rabbitmq", "receiver", "receiver-term", "cartd", "ingest", "worker", "subscription"
	from, to time.Time
}

// chaos plays the schedule of faults: the run's PostgreSQL and RabbitMQ stopped, killed
// and cut off, processes killed or restarted, the subscription disabled by hand, the
// simulated Pacifica failing or hanging.
type chaos struct {
	svc   *services
	fl    *fleet
	front *frontDoor
	sim   *pacificasim.Sim
	pc    *pacifica.Client
	load  *simLoad
	snd   devenv.Sender
	gap   time.Duration
	hold  time.Duration
	harsh bool
	// termLimit is how long a receiver may take to drain and stop after its SIGTERM.
	termLimit     time.Duration
	reenableLimit time.Duration
	log           func(format string, args ...any)

	mu       sync.Mutex
	windows  []window
	errs     []error
	reenable time.Duration // how long the watchdog took (-1: it did not); 0: not played
}

type step struct {
	name string
	run  func(ctx context.Context) error
}

func (c *chaos) steps() []step {
	if c.harsh {
		return []step{
			{"SIGKILL worker-1", c.killer("worker-1", time.Second, "worker")},
			{"RabbitMQ node SIGKILLed", c.rabbitKill},
			{"cartd answers 503", c.simFault(pacificasim.ServiceCartd, pacificasim.Fault{Status: http.StatusServiceUnavailable})},
			{"SIGTERM receiver-1", c.termer("receiver-1")},
			{"PostgreSQL postmaster SIGKILLed", c.postgresKill},
			{"SIGKILL receiver-2", c.killer("receiver-2", 2*time.Second, "receiver")},
			{"subscription disabled by hand", c.disableByHand},
			{"PostgreSQL network cut, worker-2 SIGKILLed in it", c.pgOutage("cut", "worker-2")},
			{"ingest hangs 8s", c.simFault(pacificasim.ServiceIngest, pacificasim.Fault{Delay: 8 * time.Second})},
			{"SIGTERM receiver-2", c.termer("receiver-2")},
			{"PostgreSQL partitioned, worker-1 SIGKILLed in it", c.pgOutage("partition", "worker-1")},
			{"RabbitMQ node SIGKILLed again", c.rabbitKill},
			{"ingest answers 500", c.simFault(pacificasim.ServiceIngest, pacificasim.Fault{Status: http.StatusInternalServerError})},
			{"PostgreSQL partitioned, both workers SIGKILLed in it", c.pgOutage("partition", "worker-1", "worker-2")},
			{"cartd hangs 8s", c.simFault(pacificasim.ServiceCartd, pacificasim.Fault{Delay: 8 * time.Second})},
		}
	}
	return []step{
		{"SIGKILL worker-1", c.killer("worker-1", time.Second, "worker")},
		{"RabbitMQ stopped", c.rabbit},
		{"cartd answers 503", c.simFault(pacificasim.ServiceCartd, pacificasim.Fault{Status: http.StatusServiceUnavailable})},
		{"SIGTERM receiver-1", c.termer("receiver-1")},
		{"SIGKILL receiver-2", c.killer("receiver-2", 2*time.Second, "receiver")},
		{"PostgreSQL restarted", c.postgres},
		{"subscription disabled by hand", c.disableByHand},
		{"SIGKILL worker-2", c.killer("worker-2", time.Second, "worker")},
		{"ingest hangs 8s", c.simFault(pacificasim.ServiceIngest, pacificasim.Fault{Delay: 8 * time.Second})},
		{"SIGTERM receiver-2", c.termer("receiver-2")},
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

// termer restarts a receiver as a rolling update does: SIGTERM (it drains: /readyz
// answers 503 while it still takes events, until the front door has dropped it), a new
// process in its place, back behind the front door. Its window lasts until then.
func (c *chaos) termer(name string) func(context.Context) error {
	return func(context.Context) error {
		from := time.Now()
		backend := "http://" + c.fl.get(name).addr
		old, nw, took, err := c.fl.term(name, c.termLimit)
		if err != nil {
			c.record("receiver-term", from)
			return err
		}
		back := c.front.waitReady(backend, time.Minute)
		c.record("receiver-term", from)
		if !back {
			return fmt.Errorf("the new %s (pid %d) not ready behind the front door within a minute", name, nw)
		}
		c.log("SIGTERM %s (pid %d): drained and stopped in %s; pid %d behind the front door %s after the signal",
			name, old, took.Round(100*time.Millisecond), nw, time.Since(from).Round(100*time.Millisecond))
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

// rabbitKill sends SIGKILL to the RabbitMQ node's Erlang VM, then boots the node again
// (rabbitmq-server -detached, rabbitmqctl await_startup).
func (c *chaos) rabbitKill(context.Context) error {
	return c.crash("rabbitmq", "RabbitMQ: SIGKILL beam (pid %d); booting the node again", c.svc.rabbitKill,
		c.svc.rabbitBoot, "RabbitMQ running again (out %s)")
}

func (c *chaos) postgres(context.Context) error {
	from := time.Now()
	c.log("PostgreSQL: pg_ctl restart -m fast")
	err := c.svc.pgRestart()
	c.record("postgres", from)
	if err != nil {
		return err
	}
	c.log("PostgreSQL running again (out %s)", time.Since(from).Round(100*time.Millisecond))
	return nil
}

// postgresKill sends SIGKILL to the postmaster (its backends follow it), then starts the
// cluster again: crash recovery replays the WAL.
func (c *chaos) postgresKill(context.Context) error {
	return c.crash("postgres", "PostgreSQL: SIGKILL postmaster (pid %d); starting it again", c.svc.pgKill,
		c.svc.pgStart, "PostgreSQL running again after crash recovery (out %s)")
}

// crash kills a service (killed says which pid), starts it again whatever happened, and
// records the window as what; start runs even when the kill failed, so the service is up
// after the step.
func (c *chaos) crash(what, killed string, kill func() (int, error), start func() error, back string) error {
	from := time.Now()
	pid, err := kill()
	if err == nil {
		c.log(killed, pid)
	}
	serr := start()
	c.record(what, from)
	if err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	c.log(back, time.Since(from).Round(100*time.Millisecond))
	return nil
}

// pgOutage cuts ("cut") or partitions ("partition") the network between the dispatcher
// and PostgreSQL for c.hold, and SIGKILLs the workers named halfway through (they
// restart inside the outage).
func (c *chaos) pgOutage(how string, workers ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		from := time.Now()
		set := c.svc.pg.SetCut
		if how == "partition" {
			set = c.svc.pg.SetPartition
		}
		set(true)
		c.log("PostgreSQL network %s for %s", map[string]string{"cut": "cut (connections closed, new ones refused)",
			"partition": "partitioned (connections open, no byte forwarded)"}[how], c.hold)
		pause(ctx, c.hold/2)
		var errs []error
		for _, w := range workers {
			if err := c.killer(w, 0, "worker")(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		pause(ctx, c.hold/2)
		set(false)
		c.record("postgres", from)
		c.log("PostgreSQL network back (out %s)", time.Since(from).Round(100*time.Millisecond))
		return errors.Join(errs...)
	}
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
