// Package devenv holds what the demo and the benchmarks share: the local PostgreSQL and
// RabbitMQ they borrow a private schema and private queues of, the dispatcher they wait
// for, and the sample proxymod upload they send through the simulator.
package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
)

// EnvOr returns the environment variable k, or def when it is empty.
func EnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// WaitReady waits up to 30 s for the dispatcher at base to answer /readyz with 200 and
// both PostgreSQL and RabbitMQ ok.
func WaitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			// A receiver is ready with either store; the tools want both, migrated.
			var ready map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&ready)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && ready["postgres"] == "ok" && ready["rabbitmq"] == "ok" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the dispatcher did not become ready within 30s (PostgreSQL and RabbitMQ reachable?)")
}

// DeleteQueues removes the queues and the exchange of a dispatcher whose
// BROKER_QUEUE_PREFIX and BROKER_EXCHANGE are prefix (best effort).
func DeleteQueues(mqURL, prefix string) {
	conn, err := amqp.Dial(mqURL)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, q := range []string{prefix + ".jobs", prefix + ".intake", prefix + ".dead"} {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
	_ = ch.ExchangeDelete(prefix, false, false)
}

// GetJSON decodes the JSON answer of a GET.
func GetJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// ReadSample reads the sample event (run from the repository root).
func ReadSample() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "proxymod-event", "event.json"))
	if err != nil {
		return nil, fmt.Errorf("the sample event (run me from the repository root): %w", err)
	}
	return b, nil
}

// SampleMeta is the upload metadata of the sample event: its submitter, project,
// instrument and key/values.
func SampleMeta(sample []byte) (pacifica.UploadMeta, error) {
	evs, err := event.Parse(http.Header{"Content-Type": {"application/json"}}, sample)
	if err != nil {
		return pacifica.UploadMeta{}, err
	}
	in, err := event.ParseIngest(evs[0].Data())
	if err != nil {
		return pacifica.UploadMeta{}, err
	}
	m := pacifica.UploadMeta{Submitter: in.Transaction.Submitter.Raw(), Project: in.Transaction.Project.Raw(),
		Instrument: in.Transaction.Instrument.Raw()}
	for _, kv := range in.KeyValues {
		m.KeyValues = append(m.KeyValues, pacifica.KeyValue{Key: kv.Key, Value: kv.Value.Raw()})
	}
	return m, nil
}

// WriteSource writes a proxymod source upload into dir: the sample's two input CSVs and
// the named model scripts of testdata/proxymod/models (the sample's own scripts are not
// published).
func WriteSource(dir string, models ...string) error {
	files := map[string]string{
		"inputs/in_file_one.csv": filepath.Join("testdata", "proxymod-event", "data", "inputs", "in_file_one.csv"),
		"inputs/in_file_two.csv": filepath.Join("testdata", "proxymod-event", "data", "inputs", "in_file_two.csv"),
	}
	for _, m := range models {
		files["models/"+m+".py"] = filepath.Join("testdata", "proxymod", "models", m+".py")
	}
	for rel, from := range files {
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Sender is the credentials of event senders that a tool gives the dispatcher it starts
// (RECEIVER_AUTH_*) and every delivery to it: the receiver accepts nothing without them.
type Sender struct{ Username, Password string }

// NewSender returns fresh sender credentials.
func NewSender() Sender { return Sender{Username: "pacifica", Password: "sender-" + dsn.Token()} }

// Env is the dispatcher's configuration of the credentials.
func (s Sender) Env() []string {
	return []string{"RECEIVER_AUTH_TYPE=basic", "RECEIVER_AUTH_USERNAME=" + s.Username, "RECEIVER_AUTH_PASSWORD=" + s.Password}
}

// Authorize gives req the credentials.
func (s Sender) Authorize(req *http.Request) { req.SetBasicAuth(s.Username, s.Password) }

// Subscription is the auth of a notifications subscription that delivers with them.
func (s Sender) Subscription() *pacifica.SubscriptionAuth {
	a := &pacifica.SubscriptionAuth{Type: "basic"}
	a.Basic = &struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{s.Username, s.Password}
	return a
}
