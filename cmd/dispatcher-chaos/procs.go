package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fleet runs the dispatcher's processes (the receivers, the workers) as children, each in
// its own process group, and restarts any that ends without being asked to: the harness
// counts those as service failures.
type fleet struct {
	bin string
	env []string // the configuration shared by every process
	dir string   // logs and data directories
	log func(format string, args ...any)

	mu    sync.Mutex
	procs map[string]*proc
	seq   int
	// unexpected lists the processes that ended by themselves, with the tail of their log.
	unexpected []string
	stopping   bool
	wg         sync.WaitGroup
}

// proc is one named process slot ("receiver", "worker-1", ...); a restart gives it a new
// child on the same port.
type proc struct {
	name, role, addr string
	cmd              *exec.Cmd
	logPath          string
	done             chan struct{}
	expectExit       bool
}

func newFleet(bin, dir string, env []string, log func(string, ...any)) *fleet {
	return &fleet{bin: bin, env: env, dir: dir, log: log, procs: map[string]*proc{}}
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs a new child in slot name with role, on addr (a free port when empty).
func (f *fleet) start(name, role, addr string) (*proc, error) {
	if addr == "" {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addr = a
	}
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	dataDir := filepath.Join(f.dir, "data", fmt.Sprintf("%s.%d", name, seq))
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(f.dir, "logs", fmt.Sprintf("%s.%d.log", name, seq))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(f.bin, "serve", "--role="+role)
	cmd.Env = append(append([]string{}, f.env...), "LISTEN_ADDR="+addr, "DATA_DIR="+dataDir)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Its own process group: the terminal's Ctrl-C reaches the harness, which stops the
	// children itself; Pdeathsig ends them if the harness dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, role: role, addr: addr, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	f.mu.Lock()
	f.procs[name] = p
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		err := cmd.Wait()
		lf.Close()
		close(p.done)
		f.mu.Lock()
		expected := p.expectExit || f.stopping
		current := f.procs[name] == p
		f.mu.Unlock()
		if expected || !current {
			return
		}
		tail := logTail(logPath, 15)
		f.mu.Lock()
		f.unexpected = append(f.unexpected, fmt.Sprintf("%s (pid %d) ended by itself: %v\n%s", name, cmd.Process.Pid, err, tail))
		f.mu.Unlock()
		f.log("%s (pid %d) ended by itself (%v); restarting it", name, cmd.Process.Pid, err)
		time.Sleep(time.Second)
		f.mu.Lock()
		stopping := f.stopping
		f.mu.Unlock()
		if !stopping {
			if _, err := f.start(name, role, restartAddr(role, addr)); err != nil {
				f.log("restart %s: %v", name, err)
			}
		}
	}()
	return p, nil
}

// restartAddr is where a restarted process listens: a receiver on its address (the front
// door knows it), a worker on a fresh port. The ports are picked free, then bound by the
// child: meanwhile another socket (an outgoing connection's ephemeral port) may take one,
// and a worker restarted on it would fail to bind for ever.
func restartAddr(role, addr string) string {
	if role == "worker" {
		return ""
	}
	return addr
}

// get returns the current child of slot name.
func (f *fleet) get(name string) *proc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs[name]
}

// kill sends SIGKILL to the current child of slot name, waits for it to end, and starts a
// new one in its place after pause. It returns both pids.
func (f *fleet) kill(name string, pause time.Duration) (old, new int, err error) {
	p := f.get(name)
	if p == nil {
		return 0, 0, fmt.Errorf("no process %s", name)
	}
	f.mu.Lock()
	p.expectExit = true
	f.mu.Unlock()
	old = p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return old, 0, err
	}
	<-p.done
	time.Sleep(pause)
	np, err := f.start(name, p.role, restartAddr(p.role, p.addr))
	if err != nil {
		return old, 0, err
	}
	return old, np.cmd.Process.Pid, nil
}

// term sends SIGTERM to the current child of slot name, waits up to limit for it to
// drain and end (then kills it), and starts a new one in its place. It returns both pids
// and how long the old one took to end.
func (f *fleet) term(name string, limit time.Duration) (old, new int, took time.Duration, err error) {
	p := f.get(name)
	if p == nil {
		return 0, 0, 0, fmt.Errorf("no process %s", name)
	}
	f.mu.Lock()
	p.expectExit = true
	f.mu.Unlock()
	old = p.cmd.Process.Pid
	from := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return old, 0, 0, err
	}
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = syscall.Kill(-old, syscall.SIGKILL)
		<-p.done
		err = fmt.Errorf("%s (pid %d) did not stop within %s of its SIGTERM: killed", name, old, limit)
	}
	took = time.Since(from)
	np, serr := f.start(name, p.role, p.addr)
	if serr != nil {
		return old, 0, took, serr
	}
	return old, np.cmd.Process.Pid, took, err
}

// stopAll sends SIGTERM to every child, waits up to grace, then kills what is left.
func (f *fleet) stopAll(grace time.Duration) {
	f.mu.Lock()
	f.stopping = true
	procs := make([]*proc, 0, len(f.procs))
	for _, p := range f.procs {
		procs = append(procs, p)
	}
	f.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			for _, q := range procs {
				_ = syscall.Kill(-q.cmd.Process.Pid, syscall.SIGKILL)
			}
			<-p.done
		}
	}
	f.wg.Wait()
}

// unexpectedExits lists the children that ended by themselves.
func (f *fleet) unexpectedExits() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unexpected...)
}

// waitReady waits for every current child to answer /readyz.
func (f *fleet) waitReady(ctx context.Context, ready func(context.Context, string) error) error {
	f.mu.Lock()
	procs := make([]*proc, 0, len(f.procs))
	for _, p := range f.procs {
		procs = append(procs, p)
	}
	f.mu.Unlock()
	for _, p := range procs {
		if err := ready(ctx, "http://"+p.addr); err != nil {
			return fmt.Errorf("%s: %w\n%s", p.name, err, logTail(p.logPath, 15))
		}
	}
	return nil
}

// logTail returns the last n lines of the file at path, indented.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
