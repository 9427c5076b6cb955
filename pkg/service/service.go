package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/broker"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/catchup"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/intake"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jobstore"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/openapi"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/receiver"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/scripts"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/statusapi"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/webui"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/worker"
)

// receiverHeapSlack is what a receiver's soft memory limit adds to RECEIVE_MEMORY: the
// runtime, the connections, the pools.
const receiverHeapSlack = 32 << 20

// Service is an assembled dispatcher process.
type Service struct {
	cfg      Config
	log      *slog.Logger
	reg      *prometheus.Registry
	store    *jobstore.Store
	broker   *broker.Broker
	routes   *route.Table
	scripts  []scripts.Script
	intake   *intake.Intake
	worker   *worker.Worker
	sandbox  *sandbox.Sandbox
	handler  http.Handler
	migrated chan struct{}
	// patterns are the patterns of the HTTP routes, as registered.
	patterns []string

	// ready is closed once the HTTP server listens; Addr is then its address.
	ready chan struct{}
	addr  net.Addr
	// debugAddr is the profiler's address (DEBUG_LISTEN_ADDR), nil when it is off; set
	// before ready is closed.
	debugAddr net.Addr
	// draining is set on SIGTERM while a receiver still serves: /readyz answers 503.
	draining atomic.Bool
	// retentionDeleted counts what retention deleted.
	retentionDeleted *prometheus.CounterVec
	// catchUp recovers the uploads whose event never arrived (receivers).
	catchUp *catchup.CatchUp
	// notifications and watch are the subscription watchdog's (receivers).
	notifications *pacifica.NotificationsClient
	watch         *watchMetrics
}

// Options are the parts of a Service that do not come from the environment.
type Options struct {
	// Routes is the route table; nil means LoadRoutes: the proxymod route and the
	// scripts of SCRIPT_DIR.
	Routes *route.Table
	// Logger; nil builds one from LOG_LEVEL and LOG_FORMAT on standard error.
	Logger *slog.Logger
	// Handlers replace or add the handlers of route kinds ("proxymod"), for tests and
	// programs that embed the service.
	Handlers map[string]worker.Handler
	// WorkerOwner names this process's worker in job leases (default host-pid-random).
	WorkerOwner string
}

// New builds every part of the service. It connects to nothing yet: PostgreSQL and
// RabbitMQ may be down when the service starts, and it serves as soon as either is up.
func New(ctx context.Context, cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckAccess(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: opts.Logger, reg: prometheus.NewRegistry(),
		migrated: make(chan struct{}), ready: make(chan struct{})}
	if s.log == nil {
		s.log = NewLogger(cfg, os.Stderr)
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(buildInfoGauge(buildinfo.Get()))
	s.retentionDeleted = newRetentionMetric(s.reg)
	if cfg.Role != RoleWorker && os.Getenv("GOMEMLIMIT") == "" {
		// A receiver's memory is the deliveries in flight (RECEIVE_MEMORY) and little else:
		// a soft limit a little above it makes the garbage collector keep the heap near what
		// is live, rather than at twice it, under a flood of large events.
		debug.SetMemoryLimit(int64(cfg.ReceiveMemory) + receiverHeapSlack)
	}

	t, scr, err := LoadRoutes(cfg)
	if err != nil {
		return nil, err
	}
	s.routes, s.scripts = t, scr
	if names, err := scripts.NotExecutable(cfg.ScriptDir); err == nil && len(names) > 0 {
		s.log.Warn("SCRIPT_DIR holds files without their executable bit: they are not scripts and run nothing",
			"script_dir", cfg.ScriptDir, "files", names)
	}
	if opts.Routes != nil {
		s.routes = opts.Routes
	}

	store, err := jobstore.Open(ctx, jobstore.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("job store: %w", err)
	}
	s.store = store

	b, err := broker.New(broker.Config{
		URL:       cfg.BrokerURL,
		Exchange:  cfg.BrokerExchange,
		QueueType: cfg.BrokerQueueType,
		Queues: []broker.QueueSpec{
			{Name: cfg.jobsQueue(), DeadLetter: cfg.deadQueue(), DeliveryLimit: cfg.BrokerDeliveryLimit},
			{Name: cfg.intakeQueue(), DeadLetter: cfg.deadQueue(), DeliveryLimit: cfg.BrokerDeliveryLimit},
			{Name: cfg.deadQueue()},
		},
		ConfirmTimeout: cfg.PublishTimeout,
		Registerer:     s.reg,
		Logger:         s.log,
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	s.broker = b

	in, err := intake.New(intake.Config{
		Routes: s.routes, Store: store, Broker: b,
		JobsQueue: cfg.jobsQueue(), IntakeQueue: cfg.intakeQueue(),
		MaxAttempts: cfg.MaxAttempts, RecordTimeout: cfg.RecordTimeout, PublishTimeout: cfg.PublishTimeout,
		MaxRouteSteps: cfg.RouteMaxSteps, Metrics: intake.NewMetrics(s.reg), Logger: s.log,
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.intake = in
	if cfg.Role != RoleWorker && cfg.CatchUpInterval > 0 {
		pc, err := pacifica.New(cfg.PacificaConfig)
		if err != nil {
			s.close()
			return nil, err
		}
		start, _ := cfg.catchUpStart()
		s.catchUp, err = catchup.New(catchup.Config{Metadata: pc.Metadata, Store: store, Intake: in,
			SourceTemplate: cfg.CatchUpEventSource, IDTemplate: cfg.CatchUpEventID,
			Interval: cfg.CatchUpInterval, Margin: cfg.CatchUpMargin, Start: start,
			Logger: s.log.With("component", "catch-up"), Metrics: catchup.NewMetrics(s.reg)})
		if err != nil {
			s.close()
			return nil, err
		}
	}
	if cfg.Role != RoleWorker && cfg.SubscriptionCheckInterval > 0 {
		pc, err := pacifica.New(cfg.PacificaConfig)
		if err != nil {
			s.close()
			return nil, err
		}
		s.notifications, s.watch = pc.Notifications, newWatchMetrics(s.reg, s.routes)
	}

	if cfg.Role != RoleReceiver {
		sb, err := NewSandbox(ctx, cfg)
		if err != nil {
			s.close()
			return nil, err
		}
		s.sandbox = sb
		s.reg.MustRegister(sandboxGauge(sb))
		w, err := s.newWorker(ctx, opts)
		if err != nil {
			s.close()
			return nil, err
		}
		s.worker = w
	}

	h, err := s.routesHTTP()
	if err != nil {
		s.close()
		return nil, err
	}
	s.handler = h
	return s, nil
}

// routesHTTP builds the HTTP handler of the process's role.
func (s *Service) routesHTTP() (http.Handler, error) {
	mux := newRouteMux()
	if s.cfg.Role != RoleWorker {
		rc, err := receiver.New(receiver.Config{
			Intake: s.intake, MaxBodyBytes: s.cfg.MaxEventBytes, Auth: s.cfg.ReceiverAuth(),
			MemoryBudget: int64(s.cfg.ReceiveMemory), MaxBatchEvents: s.cfg.MaxBatchEvents,
			BatchRouteSteps: int64(s.cfg.BatchRouteSteps),
			Metrics:         receiver.NewMetrics(s.reg), Logger: s.log,
		})
		if err != nil {
			return nil, err
		}
		rc.Register(mux)
	}
	admin, read := s.cfg.apiAccess()
	api, err := statusapi.New(statusapi.Config{Store: s.store, Admin: admin, AdminDisabled: adminDisabled, Read: read,
		ScriptRoutePrefix: scripts.RoutePrefix, Logger: s.log})
	if err != nil {
		return nil, err
	}
	api.Register(mux)
	counts := newStoreCollector(s.store, s.log)
	ui, err := webui.New(webui.Config{Store: s.store, Counter: counts, Admin: admin, AdminDisabled: adminDisabled, Read: read,
		FormSecret: s.cfg.formSecret(), ScriptRoutePrefix: scripts.RoutePrefix, Logger: s.log})
	if err != nil {
		return nil, err
	}
	ui.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /routes", api.ReadOnly(http.HandlerFunc(s.listRoutes)))
	mux.Handle("GET /openapi.json", openapi.Handler())
	s.reg.MustRegister(counts, newWaitingCollector(s.store, s.log), trafficCounters(s.store))
	if s.cfg.Role != RoleWorker {
		s.reg.MustRegister(newDurableCollector(s))
	}
	var access *slog.Logger
	if s.cfg.AccessLog {
		access = s.log.With("component", "access")
	}
	h := instrument(mux, s.reg, access)
	s.patterns = mux.patterns
	return h, nil
}

// Handler returns the service's HTTP handler (for tests that serve it themselves).
func (s *Service) Handler() http.Handler { return s.handler }

// Registry returns the service's Prometheus registry.
func (s *Service) Registry() *prometheus.Registry { return s.reg }

// Addr waits until the server listens and returns its address.
func (s *Service) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-s.ready:
		return s.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run serves until ctx is cancelled, then shuts down in order: a receiver drains first
// (/readyz 503 for DRAIN_TIMEOUT while it still takes events), then stop accepting requests and
// let those in flight finish (up to SHUTDOWN_TIMEOUT), stop the background work, close the
// broker and the database pool. It returns nil after a clean shutdown.
func (s *Service) Run(ctx context.Context) error {
	defer s.close()
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.ListenAddr, err)
	}
	s.addr = ln.Addr()
	debugSrv, debugLn, err := s.listenDebug()
	if err != nil {
		_ = ln.Close()
		return err
	}
	if debugSrv != nil {
		s.debugAddr = debugLn.Addr()
		go func() { _ = debugSrv.Serve(debugLn) }()
		defer debugSrv.Close()
	}
	limited := newConnLimiter(ln, s.cfg.MaxConnections, s.reg)
	ln = limited
	srv := &http.Server{
		Handler:           s.handler,
		ConnState:         limited.track,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup
	spawn := func(name string, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(bg)
			s.log.Debug("stopped", "component", name)
		}()
	}
	spawn("migrate", s.migrate)
	spawn("retention", func(ctx context.Context) {
		if s.waitMigrated(ctx) {
			s.deleteExpired(ctx)
		}
	})
	if s.cfg.Role != RoleWorker {
		spawn("publishers", s.intake.Run)
		spawn("relay", func(ctx context.Context) {
			if s.waitMigrated(ctx) {
				s.intake.Relay(ctx, s.cfg.RelayInterval)
			}
		})
		if s.notifications != nil {
			spawn("subscription watchdog", s.watchSubscriptions)
		}
		if s.catchUp != nil {
			spawn("catch-up", func(ctx context.Context) {
				if s.waitMigrated(ctx) {
					s.catchUp.Run(ctx)
				}
			})
		}
		spawn("sweeper", func(ctx context.Context) {
			if s.waitMigrated(ctx) {
				s.intake.Sweep(ctx, s.broker, s.store, s.cfg.deadQueue(), s.cfg.SweepInterval, s.cfg.StrandedAfter)
			}
		})
		spawn("recorder", func(ctx context.Context) {
			if !s.waitMigrated(ctx) {
				return
			}
			if err := s.intake.ConsumeHeld(ctx, s.broker); err != nil && ctx.Err() == nil {
				s.log.Error("recorder stopped", "error", err)
			}
		})
	}

	if s.worker != nil {
		spawn("workers", func(ctx context.Context) {
			if !s.waitMigrated(ctx) {
				return
			}
			if err := s.worker.Run(ctx); err != nil {
				s.log.Error("workers stopped", "error", err)
			}
		})
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	close(s.ready)
	s.log.Info("dispatcher serving", "addr", s.addr.String(), "role", s.cfg.Role,
		"routes", len(s.routes.Routes()), "version", buildinfo.Get().Version)
	s.logSandbox()
	s.logAccess()
	if s.cfg.AccessLog {
		s.log.Info("access log on: one line per HTTP request (ACCESS_LOG=true)")
	}

	select {
	case err := <-serveErr:
		stopBG()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	if s.cfg.Role != RoleWorker && s.cfg.DrainTimeout > 0 {
		// Drain: not ready any more, so that load balancers (a Kubernetes Service) stop
		// sending, but still taking every event that arrives meanwhile: a refused delivery
		// would disable the subscription for good.
		s.draining.Store(true)
		s.log.Info("draining: /readyz answers 503, events are still taken", "for", s.cfg.DrainTimeout.String())
		select {
		case err := <-serveErr:
			stopBG()
			wg.Wait()
			return fmt.Errorf("http server: %w", err)
		case <-time.After(s.cfg.DrainTimeout):
		}
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopBG()
	wg.Wait()
	s.log.Info("stopped")
	return err
}

// migrate applies the migrations, retrying while PostgreSQL is unavailable: the service
// accepts events through RabbitMQ meanwhile.
func (s *Service) migrate(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for {
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.store.Migrate(mctx)
		cancel()
		if err == nil {
			close(s.migrated)
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("job store migrations not applied yet; retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (s *Service) waitMigrated(ctx context.Context) bool {
	select {
	case <-s.migrated:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Service) close() {
	if s.broker != nil {
		if err := s.broker.Close(); err != nil {
			s.log.Warn("closing the broker connection", "error", err)
		}
	}
	if s.store != nil {
		s.store.Close()
	}
}

// proxymodHandler is the handler of proxymod jobs, with PROXYMOD_PYTHON as the sandbox
// needs it.
func (s *Service) proxymodHandler(ctx context.Context, pc *pacifica.Client) (worker.Handler, error) {
	python, readOnly := s.cfg.ProxymodPython, []string(nil)
	if s.sandbox.Enabled() {
		// The sandbox shows the interpreter's own directories, and runs the interpreter
		// itself rather than a shim that would need more of the host.
		exe, dirs, err := proxymod.Interpreter(ctx, python, s.cfg.ProxymodEnv)
		if err != nil {
			s.log.Warn("PROXYMOD_PYTHON cannot be inspected: proxymod jobs will fail until it works", "error", err)
		} else {
			python, readOnly = exe, dirs
		}
	}
	return proxymod.NewHandler(proxymod.HandlerConfig{Cart: pc.Cart, Ingest: pc.Ingest, Metadata: pc.Metadata,
		Python: python, Env: s.cfg.ProxymodEnv, Sandbox: s.sandbox, ReadOnly: readOnly})
}

// newWorker builds the workers of the process: a handler for each route, by the route's
// kind, and the worker that runs them.
func (s *Service) newWorker(ctx context.Context, opts Options) (*worker.Worker, error) {
	pc, err := pacifica.New(s.cfg.PacificaConfig)
	if err != nil {
		return nil, err
	}
	// The handler kinds: how to make each one's handler (unless Options gave it), and the
	// time limit of an attempt when its route sets none.
	kinds := []struct {
		name    string
		timeout time.Duration
		make    func() (worker.Handler, error)
	}{
		{proxymod.Kind, s.cfg.ProxymodTimeout, func() (worker.Handler, error) { return s.proxymodHandler(ctx, pc) }},
		{scripts.Kind, s.cfg.ScriptTimeout, func() (worker.Handler, error) {
			return scripts.NewHandler(scripts.HandlerConfig{Cart: pc.Cart, Ingest: pc.Ingest, Metadata: pc.Metadata,
				Scripts: s.scripts, Env: s.cfg.ScriptEnv, Sandbox: s.sandbox})
		}},
	}
	byKind := map[string]worker.Handler{}
	defaults := map[string]time.Duration{}
	for k, h := range opts.Handlers {
		byKind[k] = h
	}
	for _, k := range kinds {
		defaults[k.name] = k.timeout
		if byKind[k.name] != nil {
			continue
		}
		h, err := k.make()
		if err != nil {
			return nil, err
		}
		byKind[k.name] = h
	}
	handlers := map[string]worker.Handler{}
	timeouts := map[string]time.Duration{}
	for _, r := range s.routes.Routes() {
		h, ok := byKind[r.Kind]
		if !ok {
			return nil, fmt.Errorf("route %q: no handler for kind %q", r.Name, r.Kind)
		}
		handlers[r.Name] = h
		timeouts[r.Name] = r.Timeout
		if r.Timeout <= 0 {
			timeouts[r.Name] = defaults[r.Kind]
		}
	}
	return worker.New(worker.Config{
		Store: s.store, Consumer: s.broker, Queue: s.cfg.jobsQueue(),
		Handlers: handlers, Timeouts: timeouts,
		Concurrency: s.cfg.WorkerConcurrency, ComputeConcurrency: s.cfg.ComputeConcurrency, Lease: s.cfg.JobLease,
		BackoffBase: s.cfg.JobBackoffBase, BackoffMax: s.cfg.JobBackoffMax,
		DataDir: s.cfg.DataDir, ShutdownGrace: s.cfg.ShutdownTimeout, Owner: opts.WorkerOwner,
		Metrics: worker.NewMetrics(s.reg), Logger: s.log.With("component", "worker"),
	})
}
