//go:build linux

// Package subprocess runs the users' code (proxymod models, operator scripts) in a child
// process that cannot take the dispatcher with it: a clean environment, its own working
// directory, its own process group, and output written to files whose size is capped. When
// the context ends (time limit, cancellation, shutdown) the whole process group gets
// SIGTERM, then SIGKILL after a grace period; children the process leaves behind when it
// exits are killed too.
//
// With a sandbox (package sandbox) the child runs in bubblewrap: its own namespaces, a
// read-only host, its attempt's directory as the only writable place, and limits on CPU
// time, memory, processes, file size and disk. Everything it started dies with its PID
// namespace when it exits; a stopped or over-quota run is killed at once (SIGKILL).
package subprocess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
)

// Cmd is a command to run.
type Cmd struct {
	// Path is the program, Args its arguments (without the program name).
	Path string
	Args []string
	// Dir is the working directory (required).
	Dir string
	// Env is the whole environment of the child, KEY=VALUE; see CleanEnv.
	Env []string
	// Stdout and Stderr receive the child's output (nil discards it).
	Stdout, Stderr io.Writer
	// KillGrace is the time between SIGTERM and SIGKILL when the context ends (default 5s).
	KillGrace time.Duration
	// Sandbox, when enabled, confines the child; Spec says what it may see and write
	// (Spec.Dir must hold Dir).
	Sandbox *sandbox.Sandbox
	Spec    sandbox.Spec
}

// Result is how the child ended.
type Result struct {
	// ExitCode is the child's exit status, or -1 when a signal killed it.
	ExitCode int
	// Signal is the signal that killed it, if any.
	Signal syscall.Signal
	// Duration is the wall time from start to end.
	Duration time.Duration
	// Limit is the sandbox limit that stopped the child, if one did.
	Limit *sandbox.LimitError
}

// ExitError reports a child that did not exit with status 0.
type ExitError struct{ Result }

func (e *ExitError) Error() string {
	if e.Limit != nil {
		return e.Limit.Error()
	}
	if e.Signal != 0 {
		// "killed by signal 9 (killed)", not the bare "killed by signal killed".
		return fmt.Sprintf("killed by signal %d (%s)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.ExitCode)
}

// Run runs the command and waits for it. The error is an *ExitError when the child failed,
// ctx's cause (wrapped) when the context ended first, or the error that kept it from
// starting.
func Run(ctx context.Context, c Cmd) (Result, error) {
	if c.Dir == "" {
		return Result{ExitCode: -1}, errors.New("subprocess: no working directory")
	}
	if c.KillGrace <= 0 {
		c.KillGrace = 5 * time.Second
	}
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("subprocess: not started: %w", context.Cause(ctx))
	}
	sandboxed := c.Sandbox.Enabled()
	mark := runMark()
	var cmd *exec.Cmd
	if sandboxed {
		// A user of the run's own (as root): its processes count against its own limit.
		user, release, err := c.Sandbox.AcquireUser()
		if err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("subprocess: %w", err)
		}
		defer release()
		c.Spec.User = user
		if err := c.Sandbox.Prepare(c.Spec); err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("subprocess: %w", err)
		}
		prog, args, err := c.Sandbox.Command(c.Spec, c.Path, c.Args, c.Dir)
		if err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("subprocess: %w", err)
		}
		cmd = exec.Command(prog, args...)
		cmd.Dir = "/"
		// The child's /tmp is its own; its PID namespace replaces the run mark.
		cmd.Env = setEnv(c.Env, "TMPDIR", "/tmp")
	} else {
		cmd = exec.Command(c.Path, c.Args...)
		cmd.Dir = c.Dir
		cmd.Env = append(append([]string{}, c.Env...), markVar+"="+mark)
	}
	cmd.Stdin = nil
	// The output goes through pipes of our own, not exec's: exec's Wait waits until every
	// holder of the pipes closes them, and a leftover child (a model that forked and
	// returned) would hold the run until it ends.
	stdout, err := newDrain(c.Stdout)
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("subprocess: %w", err)
	}
	stderr, err := newDrain(c.Stderr)
	if err != nil {
		stdout.abort()
		return Result{ExitCode: -1}, fmt.Errorf("subprocess: %w", err)
	}
	cmd.Stdout, cmd.Stderr = stdout.w, stderr.w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if sandboxed {
		cmd.SysProcAttr = c.Sandbox.SysProcAttr()
	}
	start := time.Now()
	if sandboxed {
		err = c.Sandbox.Start(cmd) // with the run's limits
	} else {
		err = cmd.Start()
	}
	stdout.started()
	stderr.started()
	if err != nil {
		stdout.abort()
		stderr.abort()
		return Result{ExitCode: -1}, fmt.Errorf("subprocess: start %s: %w", c.Path, err)
	}
	pgid := cmd.Process.Pid

	done := make(chan struct{})
	var killed sync.WaitGroup
	var quota *sandbox.LimitError
	if disk := c.Sandbox.Limits().Disk; sandboxed && disk > 0 {
		killed.Add(1)
		go func() {
			defer killed.Done()
			quota = watchDisk(done, c.Spec.Dir, disk, c.Sandbox.DiskCheckInterval(), pgid)
		}()
	}
	killed.Add(1)
	go func() {
		defer killed.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(c.KillGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}()
	err = cmd.Wait()
	close(done)
	killed.Wait()
	// Whatever the child left running goes with it: its process group, and processes that
	// left the group (a daemon in its own session) but carry the run's mark.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !sandboxed {
		killMarked(mark)
	}
	// Once they are dead the pipes reach end of file; a holder that escaped both (it
	// dropped its environment) is cut off after drainGrace.
	stdout.wait(drainGrace)
	stderr.wait(drainGrace)

	res := Result{Duration: time.Since(start), ExitCode: cmd.ProcessState.ExitCode()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal()
	}
	if sandboxed {
		res.Limit = quota
		if res.Limit == nil && res.Signal == 0 {
			res.Limit = c.Sandbox.ExitLimit(res.ExitCode)
		}
		// bubblewrap exits with 128 + the signal that killed its child.
		if res.Signal == 0 && res.ExitCode > 128 && res.ExitCode < 128+65 {
			res.Signal, res.ExitCode = syscall.Signal(res.ExitCode-128), -1
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("subprocess: %s stopped: %w", c.Path, context.Cause(ctx))
	}
	if res.Limit != nil {
		return res, &ExitError{res}
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return res, &ExitError{res}
		}
		return res, fmt.Errorf("subprocess: %s: %w", c.Path, err)
	}
	return res, nil
}

// watchDisk measures dir every interval (ten times as often once half the quota is used)
// until done is closed, and kills the process group pgid when the space used passes limit.
func watchDisk(done <-chan struct{}, dir string, limit int64, interval time.Duration, pgid int) *sandbox.LimitError {
	wait := interval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
		}
		used, err := sandbox.Usage(dir)
		if err != nil {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return &sandbox.LimitError{Limit: "disk quota", Detail: fmt.Sprintf("the attempt's directory could not be measured: %v", err)}
		}
		if used > limit {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return &sandbox.LimitError{Limit: "disk quota", Detail: fmt.Sprintf("%s used under the attempt's directory, the quota is %s",
				sandbox.FormatBytes(used), sandbox.FormatBytes(limit))}
		}
		wait = interval
		if used > limit/2 {
			wait = max(interval/10, 10*time.Millisecond)
		}
		t.Reset(wait)
	}
}

// setEnv returns env with key set to value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// CleanEnv returns the environment a child gets: a fixed PATH, HOME and TMPDIR in its
// directory, a UTF-8 locale, and the extra variables (KEY=VALUE; later ones win). Nothing
// of the dispatcher's own environment (credentials, database URLs) leaks into it.
func CleanEnv(dir string, extra ...string) []string {
	env := map[string]string{
		"PATH":             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":             dir,
		"TMPDIR":           dir,
		"LANG":             "C.UTF-8",
		"LC_ALL":           "C.UTF-8",
		"PYTHONUNBUFFERED": "1",
	}
	order := []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONUNBUFFERED"}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := env[k]; !seen {
			order = append(order, k)
		}
		env[k] = v
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// CappedFile writes to a file up to a limit and drops the rest, noting once in the file
// that output was cut. It keeps the last bytes written in memory (Tail) for error reports.
type CappedFile struct {
	mu      sync.Mutex
	f       *os.File
	limit   int64
	written int64
	cut     bool
	tail    []byte
	tailMax int
}

// CreateCapped creates (truncates) the file at path, keeping at most limit bytes of output
// and the last tailMax bytes in memory.
func CreateCapped(path string, limit int64, tailMax int) (*CappedFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &CappedFile{f: f, limit: limit, tailMax: tailMax}, nil
}

// Write never fails for being over the limit: a child must not die of a full log.
func (c *CappedFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tailMax > 0 {
		c.tail = append(c.tail, p...)
		if len(c.tail) > c.tailMax {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailMax:]...)
		}
	}
	dropped := len(p)
	if room := c.limit - c.written; room > 0 {
		q := p
		if int64(len(q)) > room {
			q = q[:room]
		}
		n, err := c.f.Write(q)
		c.written += int64(n)
		dropped -= len(q)
		if err != nil {
			return len(p), nil //nolint:nilerr // the child keeps running; Close reports it
		}
	}
	if dropped > 0 && !c.cut {
		c.cut = true
		_, _ = fmt.Fprintf(c.f, "\n[output cut at %d bytes by the dispatcher]\n", c.limit)
	}
	return len(p), nil
}

// Tail returns the last bytes written.
func (c *CappedFile) Tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.tail)
}

// Truncated reports whether output was dropped.
func (c *CappedFile) Truncated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

// Close closes the file.
func (c *CappedFile) Close() error { return c.f.Close() }
