package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrUnavailable means the broker could not be reached in time.
var ErrUnavailable = errors.New("broker: unavailable")

// Config configures a Broker. URL and at least one queue are required.
type Config struct {
	URL string
	// Exchange is the direct, durable exchange (default "pacifica.dispatcher").
	Exchange string
	// Queues are declared at every (re)connect and bound with routing key = name.
	Queues []QueueSpec
	// QueueType is "quorum" (default) or "classic".
	QueueType string
	// ConfirmTimeout bounds the wait for a publisher confirm (default 10s), within the
	// caller's context.
	ConfirmTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between connection attempts
	// (defaults 100ms and 30s).
	ReconnectMin, ReconnectMax time.Duration
	// Registerer receives the broker's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Broker is the connection owner. It is safe for concurrent use.
type Broker struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	conn    *amqp.Connection
	pub     *amqp.Channel
	up      chan struct{} // closed while connected
	lastErr error
	// returns receives the messages the broker could not route (mandatory publishing);
	// returned holds their ids until their publisher looks. retMu makes draining the
	// channel and reading the map one step (see returnedOf).
	returns  chan amqp.Return
	retMu    sync.Mutex
	returned map[string]bool
	// redeclare asks the owner to reconnect and declare the topology again.
	redeclare chan struct{}

	closing chan struct{}
	done    chan struct{}

	warnMu sync.Mutex
	warned map[string]bool
}

// New validates the configuration and starts the connection owner. It does not wait for
// the broker: it may be down at start.
func New(cfg Config) (*Broker, error) {
	if _, err := url.Parse(cfg.URL); err != nil || cfg.URL == "" {
		return nil, fmt.Errorf("broker: URL %q is not an amqp URL", dsn.Redact(cfg.URL))
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("broker: %s: %w", dsn.Redact(cfg.URL), err)
	}
	if len(cfg.Queues) == 0 {
		return nil, errors.New("broker: no queues")
	}
	if cfg.Exchange == "" {
		cfg.Exchange = "pacifica.dispatcher"
	}
	switch cfg.QueueType {
	case "":
		cfg.QueueType = "quorum"
	case "quorum", "classic":
	default:
		return nil, fmt.Errorf("broker: queue type %q: want quorum or classic", cfg.QueueType)
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = 10 * time.Second
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 100 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	b := &Broker{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		up: make(chan struct{}), closing: make(chan struct{}), done: make(chan struct{}), returned: map[string]bool{}, redeclare: make(chan struct{}, 1),
		lastErr: errors.New("not connected yet")}
	if b.log == nil {
		b.log = slog.Default()
	}
	go b.own()
	return b, nil
}

// Close stops reconnecting and closes the connection.
func (b *Broker) Close() error {
	select {
	case <-b.closing:
	default:
		close(b.closing)
	}
	<-b.done
	return nil
}

// Connected reports whether the broker is connected with its topology declared.
func (b *Broker) Connected() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pub != nil
}

// Ping is nil when the broker is connected with its topology declared.
func (b *Broker) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pub != nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, b.lastErr)
}

// own is the connection owner: connect, declare, wait for the connection to die, repeat.
func (b *Broker) own() {
	defer close(b.done)
	delay := b.cfg.ReconnectMin
	wasUp := false
	for {
		conn, pub, err := b.connect()
		if err != nil {
			b.mu.Lock()
			b.lastErr = err
			b.mu.Unlock()
			if wasUp || delay == b.cfg.ReconnectMin {
				b.log.Warn("broker unreachable; reconnecting", "url", dsn.Redact(b.cfg.URL), "error", err)
			}
			wasUp = false
			wait := delay/2 + rand.N(delay/2+1) // full jitter over the upper half
			select {
			case <-b.closing:
				return
			case <-time.After(wait):
			}
			delay = min(delay*2, b.cfg.ReconnectMax)
			continue
		}
		delay = b.cfg.ReconnectMin
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		pubClosed := pub.NotifyClose(make(chan *amqp.Error, 1))
		returns := pub.NotifyReturn(make(chan amqp.Return, 1024))
		b.mu.Lock()
		b.conn, b.pub, b.returns = conn, pub, returns
		close(b.up)
		b.mu.Unlock()
		b.m.connected.Set(1)
		b.log.Info("broker connected", "url", dsn.Redact(b.cfg.URL), "queues", len(b.cfg.Queues), "queue_type", b.cfg.QueueType)
		wasUp = true
		cause := b.watch(conn, returns, closed, pubClosed)
		if cause == nil {
			return
		}
		b.markDown(cause)
		b.m.reconnects.Inc()
		b.log.Warn("broker connection lost", "error", cause)
	}
}

// errUnroutable asks the owner to reconnect: a message came back unroutable, so the
// topology must be declared again.
var errUnroutable = errors.New("a message was returned unroutable; declaring the topology again")

// watch waits for the connection to end (or Close: nil), draining unroutable returns
// meanwhile so the connection never blocks on them.
func (b *Broker) watch(conn *amqp.Connection, returns chan amqp.Return, closed, pubClosed chan *amqp.Error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-b.closing:
			b.markDown(errors.New("closed"))
			_ = conn.Close()
			return nil
		case e := <-closed:
			return amqpErr(e, "connection closed")
		case e := <-pubClosed:
			_ = conn.Close()
			return amqpErr(e, "channel closed")
		case <-b.redeclare:
			_ = conn.Close()
			return errUnroutable
		case <-tick.C:
			if b.drainReturns(returns) {
				_ = conn.Close()
				return errUnroutable
			}
		}
	}
}

func amqpErr(e *amqp.Error, what string) error {
	if e == nil {
		return errors.New(what)
	}
	return fmt.Errorf("%s: %w", what, e)
}

func (b *Broker) markDown(cause error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conn, b.pub, b.returns, b.lastErr = nil, nil, nil, cause
	b.up = make(chan struct{})
	b.m.connected.Set(0)
}

// connect dials, declares the topology and opens the confirm-mode publishing channel.
func (b *Broker) connect() (*amqp.Connection, *amqp.Channel, error) {
	conn, err := amqp.DialConfig(b.cfg.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Dial:       amqp.DefaultDial(5 * time.Second),
		Properties: amqp.Table{"connection_name": "pacifica-dispatcher"},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	fail := func(err error) (*amqp.Connection, *amqp.Channel, error) {
		_ = conn.Close()
		return nil, nil, err
	}
	ch, err := b.declare(conn)
	if err != nil {
		return fail(err)
	}
	if err := ch.Confirm(false); err != nil {
		return fail(fmt.Errorf("confirm mode: %w", err))
	}
	return conn, ch, nil
}
