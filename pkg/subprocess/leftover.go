//go:build linux

package subprocess

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// markVar is the variable that marks the processes of one run, so that those that left
// its process group can still be found and killed when it ends.
const markVar = "PACIFICA_DISPATCHER_RUN"

// drainGrace is how long the output of a finished run may still be read once its
// processes are killed, before the pipes are closed.
const drainGrace = 2 * time.Second

func runMark() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// killMarked kills every process whose environment carries the run's mark. It reads
// /proc/<pid>/environ, which the dispatcher can read for its own user's processes.
func killMarked(mark string) {
	want := []byte(markVar + "=" + mark + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !containsEntry(env, want) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// containsEntry reports whether the NUL-separated environment holds entry (which ends in
// NUL) as a whole variable.
func containsEntry(env, entry []byte) bool {
	for len(env) > 0 {
		if len(env) >= len(entry) && string(env[:len(entry)]) == string(entry) {
			return true
		}
		i := 0
		for i < len(env) && env[i] != 0 {
			i++
		}
		env = env[min(i+1, len(env)):]
	}
	return false
}

// drain is one output of a child: a pipe whose write end the child gets and whose read
// end is copied to the destination.
type drain struct {
	w    *os.File // the child's end (nil: the output is discarded)
	r    *os.File
	done chan struct{}
}

func newDrain(dst io.Writer) (*drain, error) {
	if dst == nil {
		return &drain{}, nil // exec gives the child /dev/null
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d := &drain{w: w, r: r, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_, _ = io.Copy(dst, r)
	}()
	return d, nil
}

// started closes our copy of the child's end, so that the pipe ends when the child's do.
func (d *drain) started() {
	if d.w != nil {
		_ = d.w.Close()
	}
}

// wait waits for the copy to reach the end of the output, at most grace; then it closes
// the pipe (a writer still holding it gets EPIPE) and waits for the copy to stop.
func (d *drain) wait(grace time.Duration) {
	if d.r == nil {
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
	}
	_ = d.r.Close()
	<-d.done
}

// abort releases the pipe of a child that did not start.
func (d *drain) abort() {
	if d.w != nil {
		_ = d.w.Close()
	}
	d.wait(0)
}
