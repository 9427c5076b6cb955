package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/netsim"
)

// services are the run's own PostgreSQL cluster and RabbitMQ node: created in the run's
// directory on free ports, stopped, killed and started at will, removed at the end. No
// one else uses them, so the run disturbs nothing else on the machine. The dispatcher's
// processes reach PostgreSQL through an in-process TCP proxy (pg), which can cut or
// partition the network.
type services struct {
	dir string
	log func(format string, args ...any)

	pgBin, pgData string
	pgPort        int
	pgUser        string // the system user PostgreSQL runs as ("" : this process's)
	pg            *netsim.Proxy

	rmqBin         string // the directory of rabbitmq-server and rabbitmqctl
	node           string
	amqpPort       int
	rmqEnv         []string
	rmqPidFile     string
	rmqStartedOnce bool
}

// startServices creates and starts the private PostgreSQL cluster and RabbitMQ node.
// On error, what was started is stopped.
func startServices(ctx context.Context, dir string, logf func(string, ...any)) (_ *services, err error) {
	s := &services{dir: dir, log: logf}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.findTools(); err != nil {
		return nil, err
	}
	// The daemons may run as other users (PostgreSQL refuses root): they must reach
	// their directories under the run's.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := s.initPostgres(ctx); err != nil {
		return nil, err
	}
	if err := s.initRabbit(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *services) findTools() error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(bins, func(i, j int) bool { return pgVersion(bins[i]) < pgVersion(bins[j]) })
	switch {
	case len(bins) > 0:
		s.pgBin = filepath.Dir(bins[len(bins)-1])
	default:
		p, err := exec.LookPath("initdb")
		if err != nil {
			return errors.New("PostgreSQL's initdb is neither under /usr/lib/postgresql/*/bin nor on PATH: the run makes its own cluster")
		}
		s.pgBin = filepath.Dir(p)
	}
	// Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user and its home (and
	// Erlang cookie) in /var/lib/rabbitmq; the scripts it wraps run as any user, with
	// the cookie of $HOME.
	if _, err := os.Stat("/usr/lib/rabbitmq/bin/rabbitmq-server"); err == nil {
		s.rmqBin = "/usr/lib/rabbitmq/bin"
	} else if p, err := exec.LookPath("rabbitmq-server"); err == nil {
		s.rmqBin = filepath.Dir(p)
	} else {
		return errors.New("rabbitmq-server is neither in /usr/lib/rabbitmq/bin nor on PATH: the run starts its own node")
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return errors.New("running as root, the run needs the postgres user to run its PostgreSQL cluster (PostgreSQL refuses root)")
		}
		s.pgUser = "postgres"
	}
	return nil
}

// pgVersion is the major version in a path like /usr/lib/postgresql/15/bin/initdb.
func pgVersion(p string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return v
}

// freePort returns a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pgCmd runs a PostgreSQL program as the cluster's user.
func (s *services) pgCmd(limit time.Duration, prog string, args ...string) error {
	name, full := filepath.Join(s.pgBin, prog), args
	if s.pgUser != "" {
		full = append([]string{"-u", s.pgUser, "--", name}, args...)
		name = "runuser"
	}
	return sh(limit, nil, name, full...)
}

func (s *services) initPostgres(ctx context.Context) error {
	base := filepath.Join(s.dir, "postgres")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return err
	}
	if s.pgUser != "" {
		u, _ := user.Lookup(s.pgUser)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			return err
		}
	}
	s.pgData = filepath.Join(base, "data")
	if err := s.pgCmd(2*time.Minute, "initdb", "-D", s.pgData, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.pgPort = port
	if err := s.pgStart(); err != nil {
		return err
	}
	s.pg, err = netsim.NewProxy(fmt.Sprintf("127.0.0.1:%d", s.pgPort))
	if err != nil {
		return err
	}
	s.log("PostgreSQL: own cluster in %s on port %d (the dispatcher goes through a proxy on %s)", s.pgData, s.pgPort, s.pg.Addr())
	return nil
}

// pgStart starts the cluster and waits for it. After a SIGKILL of the postmaster its
// backends may still hold the shared memory for a moment: the start is tried again.
func (s *services) pgStart() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
		s.pgPort, filepath.Dir(s.pgData))
	var err error
	for deadline := time.Now().Add(time.Minute); ; {
		err = s.pgCmd(90*time.Second, "pg_ctl", "-D", s.pgData, "-l", filepath.Join(filepath.Dir(s.pgData), "log"),
			"-o", opts, "-w", "-t", "60", "start")
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Second)
	}
}

// pgRestart is a clean restart (pg_ctl restart -m fast).
func (s *services) pgRestart() error {
	return s.pgCmd(90*time.Second, "pg_ctl", "-D", s.pgData, "-m", "fast", "-w", "-t", "60", "restart")
}

// pgKill sends SIGKILL to the postmaster, waits for it to end, and returns its pid.
func (s *services) pgKill() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.pgData, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("the postmaster's pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("the postmaster's pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, fmt.Errorf("SIGKILL postmaster %d: %w", pid, err)
	}
	return pid, waitGone(pid, 30*time.Second)
}

// pgURL is the URL of the cluster, direct (for the harness) or through the proxy.
func (s *services) pgURL(proxied bool) string {
	addr := fmt.Sprintf("127.0.0.1:%d", s.pgPort)
	if proxied {
		addr = s.pg.Addr()
	}
	return "postgres://postgres@" + addr + "/postgres?sslmode=disable"
}

func (s *services) initRabbit(ctx context.Context) error {
	base := filepath.Join(s.dir, "rabbitmq")
	home := filepath.Join(base, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	var cookie [20]byte
	_, _ = rand.Read(cookie[:])
	if err := os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte(strings.ToUpper(hex.EncodeToString(cookie[:]))), 0o400); err != nil {
		return err
	}
	amqp, err := freePort()
	if err != nil {
		return err
	}
	dist, err := freePort()
	if err != nil {
		return err
	}
	for _, f := range []string{"enabled_plugins", "rabbitmq-env.conf"} {
		if err := os.WriteFile(filepath.Join(base, f), nil, 0o644); err != nil {
			return err
		}
	}
	// The machine's /etc/rabbitmq/rabbitmq.conf may set listeners.tcp: a file of our own
	// replaces it.
	conf := fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", amqp)
	if err := os.WriteFile(filepath.Join(base, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	s.node = "chaos-" + filepath.Base(s.dir) + "@localhost"
	s.amqpPort = amqp
	s.rmqPidFile = filepath.Join(base, "rabbit.pid")
	s.rmqEnv = append(os.Environ(),
		"HOME="+home,
		"RABBITMQ_NODENAME="+s.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(amqp),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(base, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(base, "log"),
		"RABBITMQ_PID_FILE="+s.rmqPidFile,
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(base, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(base, "rabbitmq.conf"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(base, "rabbitmq-env.conf"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_ADDRESS=127.0.0.1",
	)
	if err := s.rabbitBoot(); err != nil {
		return err
	}
	s.log("RabbitMQ: own node %s, AMQP on 127.0.0.1:%d, data in %s", s.node, amqp, base)
	return nil
}

func (s *services) mqURL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", s.amqpPort)
}

// rabbitctl runs rabbitmqctl against the node.
func (s *services) rabbitctl(limit time.Duration, args ...string) error {
	return sh(limit, s.rmqEnv, filepath.Join(s.rmqBin, "rabbitmqctl"), append([]string{"-n", s.node}, args...)...)
}

// rabbitBoot starts the node (rabbitmq-server -detached) and waits for it.
func (s *services) rabbitBoot() error {
	if err := sh(time.Minute, s.rmqEnv, filepath.Join(s.rmqBin, "rabbitmq-server"), "-detached"); err != nil {
		return err
	}
	s.rmqStartedOnce = true
	// -detached returns at once; await_startup needs the node to be up to wait on it.
	var err error
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err = s.rabbitctl(2*time.Minute, "await_startup", "--timeout", "120"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("RabbitMQ node %s did not start: %w (log in %s)", s.node, err, filepath.Join(s.dir, "rabbitmq", "log"))
}

// rabbitStop stops the RabbitMQ application (the node stays up).
func (s *services) rabbitStop() error { return s.rabbitctl(time.Minute, "stop_app") }

func (s *services) rabbitStart() error {
	if err := s.rabbitctl(time.Minute, "start_app"); err != nil {
		return err
	}
	return s.rabbitctl(2*time.Minute, "await_startup", "--timeout", "120")
}

// rabbitKill sends SIGKILL to the node's Erlang VM, waits for it to end, and returns its
// pid.
func (s *services) rabbitKill() (int, error) {
	b, err := os.ReadFile(s.rmqPidFile)
	if err != nil {
		return 0, fmt.Errorf("the RabbitMQ node's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("the RabbitMQ node's pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, fmt.Errorf("SIGKILL beam %d: %w", pid, err)
	}
	return pid, waitGone(pid, 30*time.Second)
}

// restore starts whatever of PostgreSQL and RabbitMQ is not running (after an
// interrupted fault), and reports what it did.
func (s *services) restore() []string {
	var did []string
	if s.pgData != "" && s.pgCmd(10*time.Second, "pg_ctl", "-D", s.pgData, "status") != nil {
		did = append(did, fmt.Sprintf("PostgreSQL was down: started (%v)", errOr(s.pgStart())))
	}
	if s.rmqStartedOnce && s.rabbitctl(30*time.Second, "eval", "true = rabbit:is_running().") != nil {
		err := s.rabbitctl(time.Minute, "start_app")
		if err != nil {
			err = s.rabbitBoot() // the node itself is down
		}
		did = append(did, fmt.Sprintf("RabbitMQ was down: started (%v)", errOr(err)))
	}
	return did
}

// close stops both and the proxy (the directory goes with the run's).
func (s *services) close() {
	if s.pg != nil {
		s.pg.Close()
	}
	if s.rmqStartedOnce {
		if err := s.rabbitctl(time.Minute, "stop"); err != nil {
			if b, rerr := os.ReadFile(s.rmqPidFile); rerr == nil {
				if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	if s.pgData != "" {
		_ = s.pgCmd(time.Minute, "pg_ctl", "-D", s.pgData, "-m", "immediate", "-w", "stop")
	}
}

// waitGone waits for process pid to end.
func waitGone(pid int, limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
	}
	return fmt.Errorf("process %d still runs %s after SIGKILL", pid, limit)
}

// sh runs one command (with env when not nil), giving up after limit; its output is part
// of the error. It runs to its end even when the run is interrupted: a half-done stop is
// worse than a late one.
func sh(limit time.Duration, env []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = "/"
	// A daemon that kept the output pipe open would hold the command forever.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func errOr(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}
