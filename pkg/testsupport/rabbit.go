package testsupport

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DeleteQueue deletes a queue of a test, whatever its contents.
func DeleteQueue(brokerURL, name string) error {
	return withChannel(brokerURL, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(name, false, false, false)
		return err
	})
}

// DeleteExchange deletes an exchange of a test.
func DeleteExchange(brokerURL, name string) error {
	return withChannel(brokerURL, func(ch *amqp.Channel) error {
		return ch.ExchangeDelete(name, false, false)
	})
}

func withChannel(brokerURL string, f func(*amqp.Channel) error) error {
	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		return fmt.Errorf("testsupport: dial RabbitMQ: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("testsupport: open channel: %w", err)
	}
	defer ch.Close()
	return f(ch)
}
