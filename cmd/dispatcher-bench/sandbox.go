package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/subprocess"
)

// sandboxResult is the start-up of a child, run to its end, without and with the sandbox
// (and, when the benchmark runs as root, in a user namespace as a non-root worker runs it).
type sandboxResult struct {
	n                    int
	plain, boxed, userns []time.Duration
	describe, unDescribe string
}

// measureSandbox runs /bin/true n times as the workers run a model, unconfined and in
// bubblewrap (with the default limits and a fresh attempt directory each time), the two
// interleaved so that the machine's state weighs on both alike.
func measureSandbox(ctx context.Context, tmp string, n int) (sandboxResult, error) {
	r := sandboxResult{n: n}
	limits := sandbox.Limits{CPUTime: time.Hour, Memory: 4 << 30, Processes: 256, FileSize: 16 << 30, Disk: 32 << 30}
	sb, err := sandbox.New(ctx, sandbox.Config{Mode: sandbox.ModeBwrap, Limits: limits})
	if err != nil {
		return r, err
	}
	r.describe = sb.Describe()
	boxes := []*sandbox.Sandbox{nil, sb}
	if os.Geteuid() == 0 {
		// The image's way: bwrap started as a user that is not root, in a user namespace
		// (the directories must be reachable by that user).
		if err := os.Chmod(tmp, 0o755); err != nil {
			return r, err
		}
		un, err := sandbox.New(ctx, sandbox.Config{Mode: sandbox.ModeBwrap, Limits: limits,
			RunAs: &syscall.Credential{Uid: 65534, Gid: 65534}})
		if err != nil {
			return r, err
		}
		r.unDescribe = un.Describe()
		boxes = append(boxes, un)
	}
	for i := range n {
		for k, box := range boxes {
			dir := filepath.Join(tmp, "sandbox", fmt.Sprint(i), fmt.Sprint(k))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return r, err
			}
			start := time.Now()
			_, err := subprocess.Run(ctx, subprocess.Cmd{Path: "/bin/true", Dir: dir, Env: subprocess.CleanEnv(dir),
				Sandbox: box, Spec: sandbox.Spec{Dir: dir}})
			d := time.Since(start)
			if err != nil {
				return r, fmt.Errorf("sandbox part: %w", err)
			}
			switch k {
			case 0:
				r.plain = append(r.plain, d)
			case 1:
				r.boxed = append(r.boxed, d)
			default:
				r.userns = append(r.userns, d)
			}
			_ = os.RemoveAll(dir)
		}
	}
	return r, nil
}

func (r sandboxResult) rows(t *table) {
	slices.Sort(r.plain)
	slices.Sort(r.boxed)
	cond := fmt.Sprintf("/bin/true run to its end, %d times, as a worker runs a model", r.n)
	t.add("child start-up, unconfined", cond, "", fmtLatency(r.plain, .50), fmtLatency(r.plain, .95), fmtLatency(r.plain, .99),
		"SANDBOX=off")
	t.add("child start-up, sandboxed", cond, "", fmtLatency(r.boxed, .50), fmtLatency(r.boxed, .95), fmtLatency(r.boxed, .99),
		r.describe+", the default limits, a fresh attempt directory")
	cost := percentile(r.boxed, .50) - percentile(r.plain, .50)
	t.add("sandbox cost per attempt", "median sandboxed - median unconfined", fmtDuration(cost), "", "", "",
		"goal: under 10 ms")
	if len(r.userns) > 0 {
		slices.Sort(r.userns)
		t.add("child start-up, sandboxed, user namespace", cond, "", fmtLatency(r.userns, .50), fmtLatency(r.userns, .95),
			fmtLatency(r.userns, .99), "bwrap started as uid 65534, as a worker that is not root (the image) runs it; "+r.unDescribe)
		t.add("sandbox cost per attempt, user namespace", "median - median unconfined",
			fmtDuration(percentile(r.userns, .50)-percentile(r.plain, .50)), "", "", "", "goal: under 10 ms")
	}
}
