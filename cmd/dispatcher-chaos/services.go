package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// localServices stops and starts this machine's PostgreSQL and RabbitMQ. Every command
// runs to its end even when the run is interrupted (a half-done stop is worse than a late
// one); restore brings both back whatever happened.
type localServices struct {
	pgCluster string // e.g. "15 main"
}

// keepInheritedFiles marks the descriptors this process inherited close-on-exec: the
// lock of `flock FILE dispatcher-chaos` (fd 3) stays held by this process until it exits,
// Ctrl-C included (flock itself dies of it), but the daemons it restarts and the processes
// it starts do not inherit it: PostgreSQL restarted with it would hold the lock long after
// the run.
func keepInheritedFiles() {
	for fd := 3; fd < 256; fd++ {
		syscall.CloseOnExec(fd)
	}
}

func findServices() (*localServices, error) {
	for _, tool := range []string{"rabbitmqctl", "pg_ctlcluster", "pg_isready"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not on PATH: the run stops and starts this machine's services", tool)
		}
	}
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		return nil, fmt.Errorf("no PostgreSQL cluster under /etc/postgresql: %v", err)
	}
	return &localServices{pgCluster: entries[len(entries)-1].Name() + " main"}, nil
}

// sh runs one command, giving up after limit; its output is part of the error.
func sh(limit time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (s *localServices) rabbitStop() error {
	return sh(60*time.Second, "rabbitmqctl", "stop_app")
}

func (s *localServices) rabbitStart() error {
	if err := sh(60*time.Second, "rabbitmqctl", "start_app"); err != nil {
		return err
	}
	return sh(60*time.Second, "rabbitmqctl", "await_startup")
}

func (s *localServices) pgRestart() error {
	v, c, _ := strings.Cut(s.pgCluster, " ")
	return sh(90*time.Second, "pg_ctlcluster", "--skip-systemctl-redirect", v, c, "restart")
}

func (s *localServices) pgReady() bool {
	return sh(5*time.Second, "pg_isready", "-q", "-h", "127.0.0.1") == nil
}

// restore starts whatever of PostgreSQL and RabbitMQ is not running, and reports what it
// did.
func (s *localServices) restore() []string {
	var did []string
	if !s.pgReady() {
		v, c, _ := strings.Cut(s.pgCluster, " ")
		err := sh(90*time.Second, "pg_ctlcluster", "--skip-systemctl-redirect", v, c, "start")
		did = append(did, fmt.Sprintf("PostgreSQL was down: started (%v)", errOr(err)))
	}
	if !rabbitRunning() {
		err := sh(60*time.Second, "rabbitmqctl", "start_app")
		if err != nil {
			// The node itself is down: start it.
			err = sh(60*time.Second, "rabbitmq-server", "-detached")
			if err == nil {
				err = sh(120*time.Second, "rabbitmqctl", "await_startup")
			}
		} else {
			err = sh(60*time.Second, "rabbitmqctl", "await_startup")
		}
		did = append(did, fmt.Sprintf("RabbitMQ was down: started (%v)", errOr(err)))
	}
	return did
}

// rabbitRunning reports whether the RabbitMQ application runs (not only its node).
func rabbitRunning() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "eval", "rabbit:is_running().").Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

func errOr(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}
