//go:build linux

package subprocess

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	var out, errb strings.Builder
	res, err := Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", "pwd; echo oops >&2; exit 3"},
		Dir: dir, Env: CleanEnv(dir), Stdout: &out, Stderr: &errb})
	var ee *ExitError
	if !errors.As(err, &ee) || res.ExitCode != 3 {
		t.Fatalf("err %v, exit %d; want ExitError with status 3", err, res.ExitCode)
	}
	if strings.TrimSpace(out.String()) != dir || errb.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	if _, err := Run(context.Background(), Cmd{Path: "/bin/true", Dir: dir}); err != nil {
		t.Errorf("true: %v", err)
	}
	if _, err := Run(context.Background(), Cmd{Path: filepath.Join(dir, "missing"), Dir: dir}); err == nil || errors.As(err, &ee) {
		t.Errorf("missing program: %v", err)
	}
}

func TestCleanEnvKeepsNothingOfOurs(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://secret")
	dir := t.TempDir()
	var out strings.Builder
	if _, err := Run(context.Background(), Cmd{Path: "/usr/bin/env", Dir: dir,
		Env: CleanEnv(dir, "EXTRA=1", "HOME=/elsewhere", "bad"), Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "secret") || !strings.Contains(got, "EXTRA=1\n") || !strings.Contains(got, "HOME=/elsewhere\n") ||
		!strings.Contains(got, "TMPDIR="+dir+"\n") || strings.Contains(got, "bad") {
		t.Errorf("environment:\n%s", got)
	}
}

// A child that ignores SIGTERM and leaves a grandchild behind: both are gone when Run
// returns after the context ends.
func TestCancelKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	script := "trap '' TERM; sleep 300 & echo $! > " + pidFile + "; wait"
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("operator cancelled")
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				cancel(cause)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Dir: dir, KillGrace: 200 * time.Millisecond})
	if !errors.Is(err, cause) {
		t.Fatalf("err %v, want the context's cause", err)
	}
	if res.Signal != syscall.SIGKILL {
		t.Errorf("signal %v, want SIGKILL (the shell ignores SIGTERM)", res.Signal)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid == 0 {
		t.Fatal("no grandchild pid")
	}
	waitGone(t, pid)
}

// A child that exits normally but leaves a background child: the leftover is killed.
func TestLeftoverChildrenKilled(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	if _, err := Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", "sleep 300 >/dev/null 2>&1 & echo $!"},
		Dir: dir, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(out.String()))
	waitGone(t, pid)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("process %d still runs", pid)
}

func TestCappedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.log")
	c, err := CreateCapped(p, 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"0123", "4567", "89ab", "cdef"} {
		if n, err := c.Write([]byte(s)); n != 4 || err != nil {
			t.Fatalf("write %q: %d %v", s, n, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := "0123456789\n[output cut at 10 bytes by the dispatcher]\n"; string(b) != want {
		t.Errorf("file %q, want %q", b, want)
	}
	if c.Tail() != "cdef" || !c.Truncated() {
		t.Errorf("tail %q truncated %v", c.Tail(), c.Truncated())
	}

	exact, _ := CreateCapped(filepath.Join(t.TempDir(), "exact.log"), 4, 0)
	_, _ = exact.Write([]byte("abcd"))
	if exact.Truncated() {
		t.Error("output exactly at the limit reported as cut")
	}
	_ = exact.Close()
}
