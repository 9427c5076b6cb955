package broker

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

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
		args := b.queueArgs(q)
		_, err := ch.QueueDeclare(q.Name, true, false, false, false, args)
		var ae *amqp.Error
		if err != nil && errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed && strings.Contains(ae.Reason, "x-delivery-limit") {
			// The queue exists from before the limit was declared (or with another): keep it
			// as it is rather than stop; the operator can set the limit with a policy.
			if ch, err = conn.Channel(); err != nil {
				return nil, fmt.Errorf("open channel: %w", err)
			}
			if _, err = ch.QueueDeclarePassive(q.Name, true, false, false, false, nil); err == nil {
				b.warnOnce("limit:"+q.Name, "queue exists with another delivery limit than the configured one: used as it is",
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

// queueArgs are the arguments q is declared with.
func (b *Broker) queueArgs(q QueueSpec) amqp.Table {
	args := amqp.Table{}
	if b.cfg.QueueType == "quorum" {
		args["x-queue-type"] = "quorum"
		if q.DeliveryLimit > 0 {
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
