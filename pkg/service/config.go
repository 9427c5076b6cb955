package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
)

// Roles a process can take.
const (
	RoleAll      = "all"
	RoleReceiver = "receiver"
	RoleWorker   = "worker"
)

// Config is the dispatcher's configuration, read from the environment. Every variable is
// listed, with its default, in the README's configuration table (a test keeps the two in
// step). Pacifica's own variables (UPLOAD_URL, DOWNLOAD_URL, AUTHENTICATION_TYPE, ...) are
// those of the Pacifica CLI and the Python dispatchers.
type Config struct {
	ListenAddr  string `envconfig:"LISTEN_ADDR" default:":8069" desc:"address of the HTTP server (receiver, status API, metrics, health)"`
	DatabaseURL string `envconfig:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" desc:"PostgreSQL connection URL of the job store (add search_path=... to use a schema)"`
	BrokerURL   string `envconfig:"BROKER_URL" default:"amqp://guest:guest@127.0.0.1:5672/" desc:"RabbitMQ (AMQP 0-9-1) URL"`
	Role        string `envconfig:"ROLE" default:"all" desc:"what this process runs: all, receiver or worker (the serve --role flag overrides it)"`

	MaxEventBytes int64 `envconfig:"MAX_EVENT_BYTES" default:"16777216" desc:"largest event body accepted; larger ones are answered 413"`

	ReceiverAuthType     string `envconfig:"RECEIVER_AUTH_TYPE" default:"none" desc:"authentication of event senders: none, basic or header"`
	ReceiverAuthUsername string `envconfig:"RECEIVER_AUTH_USERNAME" desc:"basic: the user name senders must give"`
	ReceiverAuthPassword string `envconfig:"RECEIVER_AUTH_PASSWORD" desc:"basic: the password senders must give"`
	ReceiverAuthHeader   string `envconfig:"RECEIVER_AUTH_HEADER" desc:"header: the whole Authorization value senders must give, e.g. \"Bearer xyz\""`

	AdminAuthType     string `envconfig:"ADMIN_AUTH_TYPE" default:"none" desc:"authentication of operator actions (cancel, retry): none, basic or header"`
	AdminAuthUsername string `envconfig:"ADMIN_AUTH_USERNAME" desc:"basic: the operator user name"`
	AdminAuthPassword string `envconfig:"ADMIN_AUTH_PASSWORD" desc:"basic: the operator password"`
	AdminAuthHeader   string `envconfig:"ADMIN_AUTH_HEADER" desc:"header: the whole Authorization value operators must give"`

	BrokerExchange    string `envconfig:"BROKER_EXCHANGE" default:"pacifica.dispatcher" desc:"RabbitMQ exchange (direct, durable)"`
	BrokerQueuePrefix string `envconfig:"BROKER_QUEUE_PREFIX" default:"pacifica.dispatcher" desc:"prefix of the queue names (<prefix>.jobs, <prefix>.intake, <prefix>.dead)"`
	BrokerQueueType   string `envconfig:"BROKER_QUEUE_TYPE" default:"quorum" desc:"queue type: quorum or classic"`

	DBMaxConns     int32         `envconfig:"DB_MAX_CONNS" default:"16" desc:"largest number of PostgreSQL connections of this process"`
	MaxAttempts    int           `envconfig:"JOB_MAX_ATTEMPTS" default:"5" desc:"attempts of a job before a transient failure fails it"`
	RelayInterval  time.Duration `envconfig:"RELAY_INTERVAL" default:"1s" desc:"how often the outbox relay looks for queued jobs not yet on the broker"`
	RecordTimeout  time.Duration `envconfig:"RECORD_TIMEOUT" default:"5s" desc:"time allowed to record an event in PostgreSQL before holding it in RabbitMQ instead"`
	PublishTimeout time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"5s" desc:"time allowed for one confirmed publish to RabbitMQ"`

	DataDir           string        `envconfig:"DATA_DIR" default:"/var/lib/pacifica-dispatcher" desc:"workers: directory of the jobs' private work directories (created if missing)"`
	WorkerConcurrency int           `envconfig:"WORKER_CONCURRENCY" default:"0" desc:"workers: jobs run at once by this process (0: the number of CPUs)"`
	JobLease          time.Duration `envconfig:"JOB_LEASE" default:"30s" desc:"workers: a running job's lease, renewed every third of it; a job whose worker died runs again after it expires"`
	JobBackoffBase    time.Duration `envconfig:"JOB_BACKOFF_BASE" default:"2s" desc:"workers: delay before the first retry of a transient failure, doubled each attempt (with jitter)"`
	JobBackoffMax     time.Duration `envconfig:"JOB_BACKOFF_MAX" default:"5m" desc:"workers: longest delay between retries"`
	ProxymodTimeout   time.Duration `envconfig:"PROXYMOD_TIMEOUT" default:"1h" desc:"workers: time limit of one attempt of a proxymod job (download, models, upload)"`
	ProxymodPython    string        `envconfig:"PROXYMOD_PYTHON" default:"python3" desc:"workers: the Python interpreter that runs the models (it needs proxymod; the real proxymod needs Python <= 3.10 and configobj)"`
	ProxymodEnv       []string      `envconfig:"PROXYMOD_ENV" desc:"workers: extra KEY=VALUE variables of the model process, comma-separated (e.g. PYTHONPATH=/opt/proxymod); nothing else of the dispatcher's environment reaches it"`

	ScriptDir     string        `envconfig:"SCRIPT_DIR" default:"/scripts.d" desc:"script jobs (dispatcher-k8s): directory whose executable, non-hidden entries are the scripts, one route each (a missing directory means no scripts)"`
	ScriptConfig  string        `envconfig:"DISPATCHER_K8S_CONFIG" default:"/etc/pacifica-dispatcher-k8s/config.ini" desc:"script jobs: the INI file configuring each script in its own section (a missing file means every default)"`
	ScriptTimeout time.Duration `envconfig:"SCRIPT_TIMEOUT" default:"1h" desc:"workers: time limit of one attempt of a script job (download, script, uploads), unless its section sets script_timeout"`
	ScriptEnv     []string      `envconfig:"SCRIPT_ENV" desc:"workers: extra KEY=VALUE variables of the scripts, comma-separated; nothing else of the dispatcher's environment reaches them"`

	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"on SIGTERM, time allowed for in-flight requests and jobs to finish"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`

	// PacificaConfig holds the Pacifica endpoints and credentials, under the Pacifica
	// CLI's own variable names (embedded: no prefix).
	PacificaConfig
}

// PacificaConfig is the part of the configuration that reaches Pacifica.
type PacificaConfig = pacifica.Config

// Load reads the configuration from the environment. A value that does not parse stops the
// start with an error naming the variable.
func Load() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("configuration: %s=%q: %v", pe.KeyName, pe.Value, pe.Err)
		}
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, c.Validate()
}

// Validate checks the values that parse but make no sense, naming the variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("configuration: %s: %s", name, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("LISTEN_ADDR", "%q is not host:port: %v", c.ListenAddr, err)
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "want a postgres:// URL")
	}
	if u, err := url.Parse(c.BrokerURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		bad("BROKER_URL", "want an amqp:// or amqps:// URL")
	}
	switch c.Role {
	case RoleAll, RoleReceiver, RoleWorker:
	default:
		bad("ROLE", "%q: want all, receiver or worker", c.Role)
	}
	if c.MaxEventBytes < 1024 {
		bad("MAX_EVENT_BYTES", "%d is too small (at least 1024)", c.MaxEventBytes)
	}
	if err := c.ReceiverAuth().Validate(); err != nil {
		bad("RECEIVER_AUTH_TYPE", "%v", err)
	}
	if err := c.AdminAuth().Validate(); err != nil {
		bad("ADMIN_AUTH_TYPE", "%v", err)
	}
	if c.BrokerQueueType != "quorum" && c.BrokerQueueType != "classic" {
		bad("BROKER_QUEUE_TYPE", "%q: want quorum or classic", c.BrokerQueueType)
	}
	if c.DBMaxConns < 2 {
		bad("DB_MAX_CONNS", "%d: want at least 2", c.DBMaxConns)
	}
	if c.MaxAttempts < 1 {
		bad("JOB_MAX_ATTEMPTS", "%d: want at least 1", c.MaxAttempts)
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.WorkerConcurrency < 0 {
		bad("WORKER_CONCURRENCY", "%d: want 0 (the number of CPUs) or more", c.WorkerConcurrency)
	}
	if c.JobLease > 0 && c.JobLease < 3*time.Second {
		bad("JOB_LEASE", "%s: want at least 3s", c.JobLease)
	}
	if c.JobBackoffMax < c.JobBackoffBase {
		bad("JOB_BACKOFF_MAX", "%s is less than JOB_BACKOFF_BASE %s", c.JobBackoffMax, c.JobBackoffBase)
	}
	if c.ProxymodPython == "" {
		bad("PROXYMOD_PYTHON", "must not be empty")
	}
	for name, env := range map[string][]string{"PROXYMOD_ENV": c.ProxymodEnv, "SCRIPT_ENV": c.ScriptEnv} {
		for _, kv := range env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				bad(name, "%q is not KEY=VALUE", kv)
			}
		}
	}
	for name, d := range map[string]time.Duration{"RELAY_INTERVAL": c.RelayInterval, "RECORD_TIMEOUT": c.RecordTimeout,
		"PUBLISH_TIMEOUT": c.PublishTimeout, "SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "JOB_LEASE": c.JobLease,
		"JOB_BACKOFF_BASE": c.JobBackoffBase, "PROXYMOD_TIMEOUT": c.ProxymodTimeout, "SCRIPT_TIMEOUT": c.ScriptTimeout} {
		if d <= 0 {
			bad(name, "%s: want a positive duration such as 5s", d)
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("LOG_LEVEL", "%v", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "%q: want json or text", c.LogFormat)
	}
	if err := c.PacificaConfig.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("configuration: %w", err))
	}
	return errors.Join(errs...)
}

// ReceiverAuth is the sender authentication of the receiver.
func (c Config) ReceiverAuth() receiver.Auth {
	return receiver.Auth{Type: c.ReceiverAuthType, Username: c.ReceiverAuthUsername,
		Password: c.ReceiverAuthPassword, Header: c.ReceiverAuthHeader}
}

// AdminAuth is the authentication of operator actions.
func (c Config) AdminAuth() receiver.Auth {
	return receiver.Auth{Type: c.AdminAuthType, Username: c.AdminAuthUsername,
		Password: c.AdminAuthPassword, Header: c.AdminAuthHeader}
}

// Queue names.
func (c Config) jobsQueue() string   { return c.BrokerQueuePrefix + ".jobs" }
func (c Config) intakeQueue() string { return c.BrokerQueuePrefix + ".intake" }
func (c Config) deadQueue() string   { return c.BrokerQueuePrefix + ".dead" }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(strings.ToUpper(s)))
	if err != nil {
		return l, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}
