package service

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
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
	DatabaseURL string `envconfig:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" desc:"PostgreSQL connection URL of the job store (add search_path=... to use a schema) (or DATABASE_URL_FILE: a file holding it)"`
	BrokerURL   string `envconfig:"BROKER_URL" default:"amqp://guest:guest@127.0.0.1:5672/" desc:"RabbitMQ (AMQP 0-9-1) URL (or BROKER_URL_FILE: a file holding it)"`
	Role        string `envconfig:"ROLE" default:"all" desc:"what this process runs: all, receiver or worker (the serve --role flag overrides it)"`

	MaxEventBytes   int64    `envconfig:"MAX_EVENT_BYTES" default:"16777216" desc:"largest event body accepted; larger ones are answered 413"`
	ReceiveMemory   ByteSize `envconfig:"RECEIVE_MEMORY" default:"64MiB" desc:"memory the deliveries being read, decoded and stored may hold at once (each reserves six times its body size, at most three quarters of this); deliveries past it wait, unread, for room"`
	MaxBatchEvents  int      `envconfig:"MAX_BATCH_EVENTS" default:"1000" desc:"most events in a CloudEvents batch; larger batches are answered 413 (Pacifica never sends batches)"`
	RouteMaxSteps   int      `envconfig:"ROUTE_MAX_STEPS" default:"4194304" desc:"work allowed to route one event, in jsonpath2 steps for all routes together; an event that needs more is accepted and recorded unrouted with the reason"`
	BatchRouteSteps int      `envconfig:"BATCH_ROUTE_STEPS" default:"16777216" desc:"work allowed to route all the events of one CloudEvents batch; the events past it are accepted and recorded unrouted with the reason"`
	MaxConnections  int      `envconfig:"MAX_CONNECTIONS" default:"1000" desc:"most HTTP connections open at once; at the cap the longest-idle one is closed to make room, or new ones wait while all are busy"`

	ReceiverAuthType     string `envconfig:"RECEIVER_AUTH_TYPE" desc:"authentication of event senders, required by the receiver: basic or header (when empty, taken from the credentials set), or none to accept events from anyone (a warning at start); unset without credentials stops the start"`
	ReceiverAuthUsername string `envconfig:"RECEIVER_AUTH_USERNAME" desc:"basic: the user name senders must give (or RECEIVER_AUTH_USERNAME_FILE: a file holding it)"`
	ReceiverAuthPassword string `envconfig:"RECEIVER_AUTH_PASSWORD" desc:"basic: the password senders must give, not empty (or RECEIVER_AUTH_PASSWORD_FILE: a file holding it)"`
	ReceiverAuthHeader   string `envconfig:"RECEIVER_AUTH_HEADER" desc:"header: the whole Authorization value senders must give, e.g. \"Bearer xyz\" (or RECEIVER_AUTH_HEADER_FILE: a file holding it)"`

	AdminAuthType     string `envconfig:"ADMIN_AUTH_TYPE" desc:"authentication of operator actions (cancel, retry, bulk retry, also on the jobs web page): basic or header (when empty, taken from the credentials set); without credentials operator actions are answered 403; none opens them to anyone (a warning at start)"`
	AdminAuthUsername string `envconfig:"ADMIN_AUTH_USERNAME" desc:"basic: the operator user name (or ADMIN_AUTH_USERNAME_FILE: a file holding it)"`
	AdminAuthPassword string `envconfig:"ADMIN_AUTH_PASSWORD" desc:"basic: the operator password, not empty (or ADMIN_AUTH_PASSWORD_FILE: a file holding it)"`
	AdminAuthHeader   string `envconfig:"ADMIN_AUTH_HEADER" desc:"header: the whole Authorization value operators must give (or ADMIN_AUTH_HEADER_FILE: a file holding it)"`

	ReadAuthType     string `envconfig:"READ_AUTH_TYPE" desc:"authentication of the read endpoints (GET /jobs, /jobs/{id}, /status, /get, /scriptlog, /routes, /, and the jobs web page /ui/): basic or header (when empty, taken from the credentials set), also satisfied by the operator credentials; unset or none leaves them open"`
	ReadAuthUsername string `envconfig:"READ_AUTH_USERNAME" desc:"basic: the user name readers must give (or READ_AUTH_USERNAME_FILE: a file holding it)"`
	ReadAuthPassword string `envconfig:"READ_AUTH_PASSWORD" desc:"basic: the password readers must give, not empty (or READ_AUTH_PASSWORD_FILE: a file holding it)"`
	ReadAuthHeader   string `envconfig:"READ_AUTH_HEADER" desc:"header: the whole Authorization value readers must give (or READ_AUTH_HEADER_FILE: a file holding it)"`

	BrokerExchange      string `envconfig:"BROKER_EXCHANGE" default:"pacifica.dispatcher" desc:"RabbitMQ exchange (direct, durable)"`
	BrokerQueuePrefix   string `envconfig:"BROKER_QUEUE_PREFIX" default:"pacifica.dispatcher" desc:"prefix of the queue names (<prefix>.jobs, <prefix>.intake, <prefix>.dead)"`
	BrokerQueueType     string `envconfig:"BROKER_QUEUE_TYPE" default:"quorum" desc:"queue type: quorum or classic"`
	BrokerDeliveryLimit int    `envconfig:"BROKER_DELIVERY_LIMIT" default:"100" desc:"quorum queues: a jobs or intake message delivered more often than this (a worker or recorder that keeps dying on it) goes to the dead-letter queue, where it is counted and logged, and its job is published again by the sweeper; declared explicitly because RabbitMQ 4 would use 20; a queue made by an older version without it is used as it is, with a warning saying how to add it by policy (0: the broker's default)"`

	DBMaxConns                int32         `envconfig:"DB_MAX_CONNS" default:"16" desc:"largest number of PostgreSQL connections of this process"`
	MaxAttempts               int           `envconfig:"JOB_MAX_ATTEMPTS" default:"25" desc:"attempts of a job before a transient failure fails it (with the backoff defaults, more than an hour of Pacifica outage is waited out)"`
	RelayInterval             time.Duration `envconfig:"RELAY_INTERVAL" default:"1s" desc:"how often the outbox relay looks for queued jobs not yet on the broker"`
	SubscriptionCheckInterval time.Duration `envconfig:"SUBSCRIPTION_CHECK_INTERVAL" default:"1m" desc:"receivers: how often the subscriptions of this service's routes (those dispatcher subscribe made) are checked at notifications; one found disabled is re-enabled at once (0: never)"`
	SubscriptionUser          string        `envconfig:"SUBSCRIPTION_USER" default:"dispatcher" desc:"the notifications user owning the subscriptions (Http-Remote-User; dispatcher subscribe --user)"`
	Retention                 time.Duration `envconfig:"RETENTION" default:"720h" desc:"succeeded, cancelled and unrouted jobs, their attempts and events are deleted this long after the event was received (0: kept for ever)"`
	RetentionFailed           time.Duration `envconfig:"RETENTION_FAILED" default:"2160h" desc:"failed jobs are deleted this long after the event was received (0: kept for ever)"`
	RetentionInterval         time.Duration `envconfig:"RETENTION_INTERVAL" default:"10m" desc:"how often expired jobs are deleted, in batches of 500, by one process at a time"`
	CatchUpInterval           time.Duration `envconfig:"CATCHUP_INTERVAL" default:"1m" desc:"receivers: how often catch-up lists Pacifica metadata's new transactions and takes in those whose event never arrived (0: never)"`
	CatchUpMargin             time.Duration `envconfig:"CATCHUP_MARGIN" default:"5m" desc:"receivers: how far behind its cursor catch-up looks again, for transactions stored late"`
	CatchUpStart              string        `envconfig:"CATCHUP_START" desc:"receivers: where catch-up begins when it has no cursor yet, an RFC 3339 time (empty: the first start, not the beginning of the archive)"`
	CatchUpEventSource        string        `envconfig:"CATCHUP_EVENT_SOURCE" default:"http://metadata.pacifica.org/transactions?_id={_id}" desc:"the source of the ingest events Pacifica metadata sends (its NOTIFICATIONS_INGEST_SOURCE), to rebuild them"`
	CatchUpEventID            string        `envconfig:"CATCHUP_EVENT_ID" default:"metadata.ingest.{_id}" desc:"the event id of the ingest events Pacifica metadata sends (its NOTIFICATIONS_INGEST_EVENTID)"`
	SweepInterval             time.Duration `envconfig:"SWEEP_INTERVAL" default:"1m" desc:"receivers: how often the sweeper looks for queued jobs whose message RabbitMQ lost (and measures the dead-letter queue)"`
	StrandedAfter             time.Duration `envconfig:"STRANDED_AFTER" default:"5m" desc:"receivers: a queued job whose message is no longer in RabbitMQ's empty jobs queue for this long is published again"`
	RecordTimeout             time.Duration `envconfig:"RECORD_TIMEOUT" default:"5s" desc:"time allowed to record an event in PostgreSQL before holding it in RabbitMQ instead"`
	PublishTimeout            time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"5s" desc:"time allowed for one confirmed publish to RabbitMQ"`

	DataDir            string        `envconfig:"DATA_DIR" default:"/var/lib/pacifica-dispatcher" desc:"workers: directory of the jobs' private work directories (created if missing)"`
	WorkerConcurrency  int           `envconfig:"WORKER_CONCURRENCY" default:"0" desc:"workers: jobs taken at once by this process, computing or waiting on Pacifica (0: four times COMPUTE_CONCURRENCY)"`
	ComputeConcurrency int           `envconfig:"COMPUTE_CONCURRENCY" default:"0" desc:"workers: jobs running a model or a script at once (0: the number of CPUs); a job waiting on cartd or ingest holds none"`
	JobLease           time.Duration `envconfig:"JOB_LEASE" default:"30s" desc:"workers: a running job's lease, renewed every third of it; a job whose worker died runs again after it expires"`
	JobBackoffBase     time.Duration `envconfig:"JOB_BACKOFF_BASE" default:"5s" desc:"workers: delay before the first retry of a transient failure, doubled each attempt (with jitter)"`
	JobBackoffMax      time.Duration `envconfig:"JOB_BACKOFF_MAX" default:"1h" desc:"workers: longest delay between retries"`
	ProxymodTimeout    time.Duration `envconfig:"PROXYMOD_TIMEOUT" default:"1h" desc:"workers: time limit of one attempt of a proxymod job (download, models, upload)"`
	ProxymodPython     string        `envconfig:"PROXYMOD_PYTHON" default:"python3" desc:"workers: the Python interpreter that runs the models (it needs proxymod; the real proxymod needs Python <= 3.10 and configobj)"`
	ProxymodEnv        []string      `envconfig:"PROXYMOD_ENV" desc:"workers: extra KEY=VALUE variables of the model process, comma-separated (e.g. PYTHONPATH=/opt/proxymod); nothing else of the dispatcher's environment reaches it"`

	ScriptDir     string        `envconfig:"SCRIPT_DIR" default:"/scripts.d" desc:"script jobs (dispatcher-k8s): directory whose executable, non-hidden entries are the scripts, one route each (a missing directory means no scripts)"`
	ScriptConfig  string        `envconfig:"DISPATCHER_K8S_CONFIG" default:"/etc/pacifica-dispatcher-k8s/config.ini" desc:"script jobs: the INI file configuring each script in its own section (a missing file means every default)"`
	ScriptTimeout time.Duration `envconfig:"SCRIPT_TIMEOUT" default:"1h" desc:"workers: time limit of one attempt of a script job (download, script, uploads), unless its section sets script_timeout"`
	ScriptEnv     []string      `envconfig:"SCRIPT_ENV" desc:"workers: extra KEY=VALUE variables of the scripts, comma-separated; nothing else of the dispatcher's environment reaches them"`

	Sandbox          string        `envconfig:"SANDBOX" default:"bwrap" desc:"workers: confinement of models and scripts: bwrap (bubblewrap, required: the service does not start without it), auto (bubblewrap when it works here, otherwise none, with a warning) or off (none: children run with the worker's rights)"`
	SandboxUser      string        `envconfig:"SANDBOX_USER" default:"100000:100000" desc:"workers running as root: uid:gid where the sandbox users begin; each running sandbox is a user of its own (uid+n:gid+n, none of them root), so that its processes count against its own SANDBOX_PROCESSES"`
	SandboxBind      []string      `envconfig:"SANDBOX_BIND" desc:"workers: more host paths every sandbox sees read-only, comma-separated (besides /usr, /bin, /sbin, /lib*, /etc and the Python interpreter's own directories)"`
	SandboxCPUTime   time.Duration `envconfig:"SANDBOX_CPU_TIME" default:"1h" desc:"workers: CPU time of each sandboxed process (SIGXCPU, then SIGKILL)"`
	SandboxMemory    ByteSize      `envconfig:"SANDBOX_MEMORY" default:"4GiB" desc:"workers: address space of each sandboxed process (allocations past it fail)"`
	SandboxProcesses int           `envconfig:"SANDBOX_PROCESSES" default:"256" desc:"workers: processes and threads a sandbox may have at once (forks past it fail)"`
	SandboxFileSize  ByteSize      `envconfig:"SANDBOX_FILE_SIZE" default:"16GiB" desc:"workers: largest file a sandboxed process may write (SIGXFSZ)"`
	SandboxDisk      ByteSize      `envconfig:"SANDBOX_DISK" default:"32GiB" desc:"workers: disk space an attempt may use under its directory, downloads included; checked while the child runs, which is killed past it"`

	DrainTimeout    time.Duration `envconfig:"DRAIN_TIMEOUT" default:"10s" desc:"receivers, on SIGTERM: how long /readyz answers 503 while events are still taken, before the listener closes (time for load balancers to stop sending; 0: close at once)"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"on SIGTERM, time allowed for in-flight requests and jobs to finish"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	AccessLog       bool          `envconfig:"ACCESS_LOG" default:"false" desc:"log one line per HTTP request (method, path without its query, status, bytes, duration, remote address; never credentials nor the query)"`
	DebugListenAddr string        `envconfig:"DEBUG_LISTEN_ADDR" desc:"address of a second HTTP listener serving Go's profiler (net/http/pprof: /debug/pprof/), never the main one; it has no authentication, so bind it to loopback (a warning at start; empty: off)"`

	// PacificaConfig holds the Pacifica endpoints and credentials, under the Pacifica
	// CLI's own variable names (embedded: no prefix).
	PacificaConfig

	// SecretFiles are the files the credentials were read from (the _FILE variables):
	// no sandbox may see them.
	SecretFiles []string `ignored:"true"`
}

// secrets are the credential variables that may also be given in a file, NAME_FILE (the
// Docker and Kubernetes convention), and where each goes.
func (c *Config) secrets() map[string]*string {
	return map[string]*string{
		"DATABASE_URL": &c.DatabaseURL, "BROKER_URL": &c.BrokerURL,
		"RECEIVER_AUTH_USERNAME": &c.ReceiverAuthUsername, "RECEIVER_AUTH_PASSWORD": &c.ReceiverAuthPassword,
		"RECEIVER_AUTH_HEADER": &c.ReceiverAuthHeader, "ADMIN_AUTH_USERNAME": &c.AdminAuthUsername,
		"ADMIN_AUTH_PASSWORD": &c.AdminAuthPassword, "ADMIN_AUTH_HEADER": &c.AdminAuthHeader,
		"READ_AUTH_USERNAME": &c.ReadAuthUsername, "READ_AUTH_PASSWORD": &c.ReadAuthPassword,
		"READ_AUTH_HEADER":        &c.ReadAuthHeader,
		"AUTHENTICATION_USERNAME": &c.Username, "AUTHENTICATION_PASSWORD": &c.Password,
	}
}

// maxSecretFile bounds a credential file.
const maxSecretFile = 64 << 10

// readSecretFiles sets each credential whose NAME_FILE is set from that file (without its
// final line break). Setting both NAME and NAME_FILE is an error.
func (c *Config) readSecretFiles() error {
	var errs []error
	names := make([]string, 0, len(c.secrets()))
	for name := range c.secrets() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		file := os.Getenv(name + "_FILE")
		if file == "" {
			continue
		}
		if _, set := os.LookupEnv(name); set {
			errs = append(errs, fmt.Errorf("configuration: %s and %s_FILE are both set: set one", name, name))
			continue
		}
		b, err := readLimited(file, maxSecretFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("configuration: %s_FILE: %w", name, err))
			continue
		}
		*c.secrets()[name] = strings.TrimRight(string(b), "\r\n")
		c.SecretFiles = append(c.SecretFiles, file)
	}
	return errors.Join(errs...)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
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
	if err := c.readSecretFiles(); err != nil {
		return c, err
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
	if c.DebugListenAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugListenAddr); err != nil {
			bad("DEBUG_LISTEN_ADDR", "%q is not host:port: %v", c.DebugListenAddr, err)
		}
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
	errs = append(errs, c.validateAuth()...)
	if c.ReceiveMemory < 1<<20 {
		bad("RECEIVE_MEMORY", "%d is too small (at least 1MiB)", c.ReceiveMemory)
	}
	if c.MaxBatchEvents < 1 {
		bad("MAX_BATCH_EVENTS", "%d: want at least 1", c.MaxBatchEvents)
	}
	if c.RouteMaxSteps < 1000 || c.RouteMaxSteps > jsonpath2.MaxSteps {
		bad("ROUTE_MAX_STEPS", "%d: want 1000 to %d", c.RouteMaxSteps, jsonpath2.MaxSteps)
	}
	if c.BatchRouteSteps < c.RouteMaxSteps {
		bad("BATCH_ROUTE_STEPS", "%d: want at least ROUTE_MAX_STEPS (%d)", c.BatchRouteSteps, c.RouteMaxSteps)
	}
	if c.MaxConnections < 16 {
		bad("MAX_CONNECTIONS", "%d is too small (at least 16)", c.MaxConnections)
	}
	if c.BrokerDeliveryLimit < 0 {
		bad("BROKER_DELIVERY_LIMIT", "%d: want 0 (the broker's default) or more", c.BrokerDeliveryLimit)
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
		bad("WORKER_CONCURRENCY", "%d: want 0 (four times COMPUTE_CONCURRENCY) or more", c.WorkerConcurrency)
	}
	if c.ComputeConcurrency < 0 {
		bad("COMPUTE_CONCURRENCY", "%d: want 0 (the number of CPUs) or more", c.ComputeConcurrency)
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
		"SWEEP_INTERVAL": c.SweepInterval, "STRANDED_AFTER": c.StrandedAfter,
		"PUBLISH_TIMEOUT": c.PublishTimeout, "SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "JOB_LEASE": c.JobLease,
		"JOB_BACKOFF_BASE": c.JobBackoffBase, "PROXYMOD_TIMEOUT": c.ProxymodTimeout, "SCRIPT_TIMEOUT": c.ScriptTimeout} {
		if d <= 0 {
			bad(name, "%s: want a positive duration such as 5s", d)
		}
	}
	switch c.Sandbox {
	case "bwrap", "auto", "off":
	default:
		bad("SANDBOX", "%q: want bwrap, auto or off", c.Sandbox)
	}
	if _, _, err := c.sandboxUser(); err != nil {
		bad("SANDBOX_USER", "%v", err)
	}
	for _, p := range c.SandboxBind {
		if !filepath.IsAbs(p) {
			bad("SANDBOX_BIND", "%q is not an absolute path", p)
		}
	}
	for name, v := range map[string]int64{"SANDBOX_MEMORY": int64(c.SandboxMemory), "SANDBOX_FILE_SIZE": int64(c.SandboxFileSize),
		"SANDBOX_DISK": int64(c.SandboxDisk), "SANDBOX_PROCESSES": int64(c.SandboxProcesses)} {
		if v <= 0 {
			bad(name, "%d: want a positive limit", v)
		}
	}
	if c.SubscriptionCheckInterval < 0 {
		bad("SUBSCRIPTION_CHECK_INTERVAL", "%s: want 0 (never) or a positive duration", c.SubscriptionCheckInterval)
	}
	if c.CatchUpInterval < 0 || c.CatchUpMargin < 0 {
		bad("CATCHUP_INTERVAL", "want 0 (never) or a positive duration (CATCHUP_MARGIN too)")
	}
	if _, err := c.catchUpStart(); err != nil {
		bad("CATCHUP_START", "%v", err)
	}
	for name, v := range map[string]string{"CATCHUP_EVENT_SOURCE": c.CatchUpEventSource, "CATCHUP_EVENT_ID": c.CatchUpEventID} {
		if !strings.Contains(v, "{_id}") {
			bad(name, "%q: want a template holding {_id}", v)
		}
	}
	if c.Retention < 0 || c.RetentionFailed < 0 {
		bad("RETENTION", "want 0 (for ever) or a positive duration (RETENTION_FAILED too)")
	}
	if c.RetentionInterval <= 0 {
		bad("RETENTION_INTERVAL", "%s: want a positive duration", c.RetentionInterval)
	}
	if c.DrainTimeout < 0 {
		bad("DRAIN_TIMEOUT", "%s: want 0 or a positive duration", c.DrainTimeout)
	}
	if c.SandboxCPUTime < time.Second {
		bad("SANDBOX_CPU_TIME", "%s: want at least 1s", c.SandboxCPUTime)
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

// catchUpStart parses CATCHUP_START.
func (c Config) catchUpStart() (time.Time, error) {
	if c.CatchUpStart == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, c.CatchUpStart)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", c.CatchUpStart)
	}
	return t, nil
}

// sandboxUser parses SANDBOX_USER.
func (c Config) sandboxUser() (uid, gid int, err error) {
	u, g, ok := strings.Cut(c.SandboxUser, ":")
	if !ok {
		g = u
	}
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if err1 != nil || err2 != nil || uid <= 0 || gid <= 0 {
		return 0, 0, fmt.Errorf("%q: want uid:gid, numbers above 0", c.SandboxUser)
	}
	return uid, gid, nil
}

// JobsQueue is the RabbitMQ queue of every route's jobs.
func (c Config) JobsQueue() string { return c.jobsQueue() }

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
