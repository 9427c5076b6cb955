package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/dsn"

	"github.com/pacifica/pacifica-dispatcher-go/cmd/internal/devenv"
)

// dispatcherBinary returns the dispatcher binary to run: bin when given, else one built
// with `go build` into dir (run from the repository root).
func dispatcherBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("the dispatcher binary (make build makes bin/dispatcher): %w", err)
		}
		return abs, nil
	}
	return goBuild(ctx, "./cmd/dispatcher", filepath.Join(dir, "dispatcher"))
}

// goBuild builds the command pkg (run from the repository root) into out.
func goBuild(ctx context.Context, pkg, out string) (string, error) {
	cmd := exec.CommandContext(ctx, devenv.EnvOr("GO", "go"), "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// dispatcherProc is `dispatcher serve` running as a child process of the benchmark, so that
// its memory is its own.
type dispatcherProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	sender devenv.Sender
	log    *tailBuffer
	done   chan struct{}
	err    error // of Wait, once done is closed
}

// post delivers an event to the dispatcher's receiver, with the senders' credentials.
func (p *dispatcherProc) post(ctx context.Context, client *http.Client, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/receive", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	p.sender.Authorize(req)
	return client.Do(req)
}

// dispatcherEnv is the environment of a benchmark dispatcher: a private schema and queues
// (prefix is also the exchange), quiet logs, and the variables of extra.
func dispatcherEnv(dbURL, mqURL, schema, prefix, queueType, dataDir string, extra ...string) []string {
	return append([]string{
		"DATABASE_URL=" + dsn.WithSearchPath(dbURL, schema), "BROKER_URL=" + mqURL,
		"BROKER_EXCHANGE=" + prefix, "BROKER_QUEUE_PREFIX=" + prefix, "BROKER_QUEUE_TYPE=" + queueType,
		"DATA_DIR=" + dataDir, "LOG_LEVEL=warn", "LOG_FORMAT=text", "SHUTDOWN_TIMEOUT=10s", "DRAIN_TIMEOUT=0s",
		"PATH=" + os.Getenv("PATH"),
	}, extra...)
}

// startDispatcher runs `bin serve` with env on a free loopback port and waits until it is
// ready.
func startDispatcher(ctx context.Context, bin string, env []string) (*dispatcherProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &dispatcherProc{base: "http://" + addr, sender: devenv.NewSender(), log: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(append(env, p.sender.Env()...), "LISTEN_ADDR="+addr)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the dispatcher: %w", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-rctx.Done():
		}
	}()
	err = devenv.WaitReady(rctx, p.base)
	cancel()
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("the dispatcher did not start: %w\n%s", err, p.log.String())
	}
	return p, nil
}

// Memory reads the child's VmRSS and VmHWM.
func (p *dispatcherProc) Memory() (memStatus, error) {
	return readMemStatus(strconv.Itoa(p.cmd.Process.Pid))
}

// CPU reads the child's CPU times.
func (p *dispatcherProc) CPU() (cpuTimes, error) {
	return readCPUTimes(strconv.Itoa(p.cmd.Process.Pid))
}

// Stop sends SIGTERM, waits up to 20 s, then kills. It returns an error when the process
// did not end cleanly, with the tail of its log.
func (p *dispatcherProc) Stop() error {
	if terminate(p.cmd, p.done, 20*time.Second) {
		return fmt.Errorf("the dispatcher did not stop within 20s of SIGTERM\n%s", p.log.String())
	}
	if p.err != nil {
		var ee *exec.ExitError
		if errors.As(p.err, &ee) && ee.ExitCode() == 0 {
			return nil
		}
		return fmt.Errorf("the dispatcher: %w\n%s", p.err, p.log.String())
	}
	return nil
}

// terminate ends a child that has not ended yet (done closed when it has): SIGTERM, then
// SIGKILL after grace. It reports whether it had to kill.
func terminate(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) (killed bool) {
	select {
	case <-done:
		return false
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return false
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
		return true
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
