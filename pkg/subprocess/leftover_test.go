package subprocess

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A child that exits while a background child it left still holds its standard output:
// Run returns when the child exits (not when the leftover would), with the output, and the
// leftover is killed.
func TestLeftoverHoldingTheOutputDoesNotHang(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", "sleep 300 & echo $!; echo done"}, Dir: dir, Stdout: &out})
	if err != nil {
		t.Fatalf("Run: %v (it waited for the leftover child instead of the child)", err)
	}
	lines := strings.Fields(out.String())
	if len(lines) != 2 || lines[1] != "done" {
		t.Fatalf("output %q", out.String())
	}
	pid, _ := strconv.Atoi(lines[0])
	waitGone(t, pid)
}

// A leftover that left the process group (a daemon in its own session) is found by the
// run's mark in its environment and killed too; Run does not wait for it.
func TestLeftoverInItsOwnSessionKilled(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := "setsid sh -c 'sleep 300' & sleep 0.2; pgrep -f -n 'sleep 300' -s 0 >/dev/null; ps -o pid= --ppid $! ; echo $!"
	_, err := Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Dir: dir, Stdout: &out, Env: CleanEnv(dir)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, f := range strings.Fields(out.String()) {
		if pid, err := strconv.Atoi(f); err == nil {
			waitGone(t, pid)
		}
	}
}
