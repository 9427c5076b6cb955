package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

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

// QueueSpec is a queue of the topology.
type QueueSpec struct {
	Name string
	// DeliveryLimit dead-letters a message redelivered more often (quorum queues; 0: no
	// argument, the broker's default: unlimited on RabbitMQ 3.x, 20 on 4.x). A queue that
	// already exists without this limit (or with another) is used as it is, with a warning:
	// RabbitMQ refuses to redeclare a queue with other arguments.
	DeliveryLimit int
	// DeadLetter is the queue that receives rejected (and over-limit) messages.
	DeadLetter string
}

// Message is a message to publish.
type Message struct {
	ID          string
	Body        []byte
	ContentType string
	Headers     map[string]any
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
		return nil, fmt.Errorf("broker: URL %q is not an amqp URL", redact(cfg.URL))
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("broker: %s: %w", redact(cfg.URL), err)
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

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
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
				b.log.Warn("broker unreachable; reconnecting", "url", redact(b.cfg.URL), "error", err)
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
		b.log.Info("broker connected", "url", redact(b.cfg.URL), "queues", len(b.cfg.Queues), "queue_type", b.cfg.QueueType)
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

// drainReturns moves returned messages to the map, under retMu, and reports whether any
// came back.
func (b *Broker) drainReturns(returns chan amqp.Return) bool {
	b.retMu.Lock()
	defer b.retMu.Unlock()
	any := false
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return any
			}
			if len(b.returned) < 100000 {
				b.returned[r.MessageId] = true
			}
			any = true
		default:
			return any
		}
	}
}

// returnedOf reports whether the message with id came back unroutable. The broker sends a
// message's return before its confirm, and the client queues the return before it
// handles the confirm, so once the confirm arrived the return (if any) is in the channel
// or already in the map.
func (b *Broker) returnedOf(returns chan amqp.Return, id string) bool {
	b.drainReturns(returns)
	b.retMu.Lock()
	defer b.retMu.Unlock()
	r := b.returned[id]
	delete(b.returned, id)
	if r {
		select {
		case b.redeclare <- struct{}{}:
		default:
		}
	}
	return r
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

// declare declares the exchange and the queues on a channel of conn and returns it (a new one
// when a queue's declaration closed the first).
func (b *Broker) declare(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.ExchangeDeclare(b.cfg.Exchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("declare exchange %s: %w", b.cfg.Exchange, err)
	}
	for _, q := range b.cfg.Queues {
		args := b.queueArgs(q, true)
		_, err := ch.QueueDeclare(q.Name, true, false, false, false, args)
		var ae *amqp.Error
		if err != nil && errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed && strings.Contains(ae.Reason, "x-delivery-limit") {
			// The queue exists from before the limit was declared (or with another): keep it
			// as it is rather than stop; the operator can set the limit with a policy.
			if ch, err = conn.Channel(); err != nil {
				return nil, fmt.Errorf("open channel: %w", err)
			}
			args = b.queueArgs(q, false)
			if _, err = ch.QueueDeclare(q.Name, true, false, false, false, args); err == nil {
				b.warnOnce("limit:"+q.Name, "queue exists without the configured delivery limit: used as it is",
					"queue", q.Name, "delivery_limit", q.DeliveryLimit, "broker_said", ae.Reason,
					"fix", fmt.Sprintf("set a policy (rabbitmqctl set_policy --apply-to queues <name> '^%s$' '{\"delivery-limit\":%d}') or delete the queue while it is empty",
						regexp.QuoteMeta(q.Name), q.DeliveryLimit))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("declare queue %s (%s, arguments %v): %w; if it exists with other arguments, "+
				"delete it or set BROKER_QUEUE_TYPE to match", q.Name, b.cfg.QueueType, args, err)
		}
		if err := ch.QueueBind(q.Name, q.Name, b.cfg.Exchange, false, nil); err != nil {
			return nil, fmt.Errorf("bind queue %s: %w", q.Name, err)
		}
	}
	return ch, nil
}

// queueArgs are the arguments q is declared with, its delivery limit included or not.
func (b *Broker) queueArgs(q QueueSpec, withLimit bool) amqp.Table {
	args := amqp.Table{}
	if b.cfg.QueueType == "quorum" {
		args["x-queue-type"] = "quorum"
		if withLimit && q.DeliveryLimit > 0 {
			args["x-delivery-limit"] = q.DeliveryLimit
		}
	}
	if q.DeadLetter != "" {
		args["x-dead-letter-exchange"] = b.cfg.Exchange
		args["x-dead-letter-routing-key"] = q.DeadLetter
	}
	return args
}

// warnOnce logs a warning the first time key is seen (declarations repeat on every
// reconnection).
func (b *Broker) warnOnce(key, msg string, args ...any) {
	b.warnMu.Lock()
	seen := b.warned[key]
	if b.warned == nil {
		b.warned = map[string]bool{}
	}
	b.warned[key] = true
	b.warnMu.Unlock()
	if !seen {
		b.log.Warn(msg, args...)
	}
}

// current returns the publishing channel and its returns, or nil and a channel closed
// when it comes back.
func (b *Broker) current() (*amqp.Channel, chan amqp.Return, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pub, b.returns, b.up
}

// Publish sends a persistent message to the queue named by routingKey and waits for the
// broker's confirm. It publishes through the default exchange, whose route to every queue
// cannot be lost, as a mandatory message: a message the broker cannot route comes back and
// is an error, never a silent loss. While the broker is unreachable it waits for the connection until ctx
// ends (ErrUnavailable). A message whose confirm did not arrive is reported as an error:
// it may or may not be stored, and callers treat it as not published.
func (b *Broker) Publish(ctx context.Context, routingKey string, m Message) error {
	if !slices.ContainsFunc(b.cfg.Queues, func(q QueueSpec) bool { return q.Name == routingKey }) {
		b.m.published.WithLabelValues("error").Inc()
		return fmt.Errorf("broker: publish to %q: no such queue in the topology", routingKey)
	}
	if m.ID == "" {
		var r [12]byte
		for i := range r {
			r[i] = byte(rand.N(256))
		}
		m.ID = fmt.Sprintf("%x", r)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConfirmTimeout)
	defer cancel()
	for {
		ch, returns, up := b.current()
		if ch == nil {
			select {
			case <-up:
				continue
			case <-b.closing:
				b.m.published.WithLabelValues("unavailable").Inc()
				return fmt.Errorf("%w: closed", ErrUnavailable)
			case <-ctx.Done():
				b.m.published.WithLabelValues("unavailable").Inc()
				b.mu.Lock()
				last := b.lastErr
				b.mu.Unlock()
				return fmt.Errorf("%w: %v", ErrUnavailable, last)
			}
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", routingKey, true, false, amqp.Publishing{
			MessageId:    m.ID,
			ContentType:  m.ContentType,
			Headers:      amqp.Table(m.Headers),
			Body:         m.Body,
			DeliveryMode: amqp.Persistent,
			Timestamp:    time.Now(),
		})
		if err != nil {
			if errors.Is(err, amqp.ErrClosed) && ctx.Err() == nil {
				// The channel died before the message was sent: wait for the owner to reconnect.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			b.m.published.WithLabelValues("error").Inc()
			return fmt.Errorf("broker: publish to %s: %w", routingKey, err)
		}
		ok, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			b.m.published.WithLabelValues("error").Inc()
			return fmt.Errorf("broker: publish to %s: no confirm: %w", routingKey, err)
		case !ok:
			b.m.published.WithLabelValues("nack").Inc()
			return fmt.Errorf("broker: publish to %s: the broker refused the message (nack)", routingKey)
		case b.returnedOf(returns, m.ID):
			b.m.published.WithLabelValues("unroutable").Inc()
			return fmt.Errorf("broker: publish to %s: the broker could not route the message (queue missing?)", routingKey)
		}
		b.m.published.WithLabelValues("ok").Inc()
		b.m.latency.Observe(time.Since(start).Seconds())
		return nil
	}
}
