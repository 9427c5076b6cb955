//go:build linux

package subprocess_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/sandbox"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/subprocess"
)

// sandboxModes are the two ways the sandbox runs: as the dispatcher's own user (root here
// in CI: no user namespace, the child drops to uid 65534) and as a user that is not root
// (a user namespace, as in the container image).
func sandboxModes(t *testing.T) map[string]*syscall.Credential {
	t.Helper()
	modes := map[string]*syscall.Credential{"own-user": nil}
	if os.Geteuid() == 0 {
		modes["unprivileged-user"] = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	return modes
}

func newSandbox(t *testing.T, runAs *syscall.Credential, limits sandbox.Limits, hide ...string) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(context.Background(), sandbox.Config{Mode: sandbox.ModeBwrap, Limits: limits, RunAs: runAs,
		Hide: hide, DiskCheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("bubblewrap is needed (apt-get install bubblewrap): %v", err)
	}
	return sb
}

func newSandboxBinding(t *testing.T, runAs *syscall.Credential, readOnly []string, hide ...string) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(context.Background(), sandbox.Config{Mode: sandbox.ModeBwrap, RunAs: runAs,
		ReadOnly: readOnly, Hide: hide})
	if err != nil {
		t.Fatalf("bubblewrap is needed (apt-get install bubblewrap): %v", err)
	}
	return sb
}

// sandboxDirs makes a data directory with two attempts' directories, reachable by the
// unprivileged user (as a non-root dispatcher's own directories are).
func sandboxDirs(t *testing.T) (data, mine, other string) {
	t.Helper()
	top := t.TempDir()
	for _, d := range []string{top, filepath.Dir(top)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data = filepath.Join(top, "data")
	mine, other = filepath.Join(data, "job-a", "1"), filepath.Join(data, "job-b", "1")
	for _, d := range []string{mine, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "private.txt"), []byte("other job's data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return data, mine, other
}

func runSandboxed(t *testing.T, sb *sandbox.Sandbox, dir, script string) (subprocess.Result, string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := subprocess.Run(ctx, subprocess.Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Dir: dir,
		Env: subprocess.CleanEnv(dir, "SECRET_OF_THE_TEST=should-not-leak"), Stdout: &stdout, Stderr: &stderr,
		Sandbox: sb, Spec: sandbox.Spec{Dir: dir}})
	return res, stdout.String(), stderr.String(), err
}

func TestSandboxConfines(t *testing.T) {
	t.Setenv("SANDBOX_TEST_PARENT_SECRET", "parent-secret-value")
	// A directory every sandbox sees (as SANDBOX_BIND would show it), holding a configured
	// secret file and a file that is not secret, and a secret directory inside it.
	shared := t.TempDir()
	for _, d := range []string{shared, filepath.Dir(shared)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secretFile := filepath.Join(shared, "db-password")
	secretDir := filepath.Join(shared, "conf.d")
	for p, body := range map[string]string{secretFile: "hunter2\n", filepath.Join(shared, "public.txt"): "public\n",
		filepath.Join(secretDir, "config.ini"): "[secret]\n"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for mode, runAs := range sandboxModes(t) {
		t.Run(mode, func(t *testing.T) {
			_, mine, other := sandboxDirs(t)
			sb := newSandboxBinding(t, runAs, []string{shared}, secretFile, filepath.Join(secretDir, "config.ini"))
			checks := []struct {
				name, script string
				// ok: the command must succeed (exit 0); otherwise it must fail.
				ok bool
			}{
				{"writes its own directory", "echo hi > mine.txt && cat mine.txt", true},
				{"writes its /tmp", "echo hi > /tmp/t && cat /tmp/t", true},
				{"reads /usr", "test -r /usr/bin/env", true},
				{"sees no other job", "ls " + other, false},
				{"reads no other job's file", "cat " + other + "/private.txt", false},
				{"cannot write /etc", "echo x > /etc/escape", false},
				{"cannot write /usr", "echo x > /usr/escape", false},
				{"cannot write the root", "echo x > /escape", false},
				{"cannot write /dev", "echo x > /dev/escape", false},
				{"has a small /dev/shm", "echo x > /dev/shm/x && head -c 100000000 /dev/zero > /dev/shm/big", false},
				{"cannot write /proc", "echo x > /proc/escape", false},
				{"sees no /run", "ls /run/postgresql", false},
				{"sees no /var", "ls /var/run/secrets", false},
				{"sees no /root or /home", "ls /root/ || ls /home/", false},
				{"sees no configured secret", "cat " + secretFile, false},
				{"sees the directory of a configured file empty", "ls " + secretDir + " | grep -q config", false},
				{"sees what SANDBOX_BIND shows", "cat " + filepath.Join(shared, "public.txt"), true},
				{"cannot write what SANDBOX_BIND shows", "echo x > " + filepath.Join(shared, "public.txt"), false},
				{"reaches no host TCP port", "exec 3<>/dev/tcp/127.0.0.1/5432", false},
				{"has no capability and no way to get one", "grep -q '^CapEff:\t0000000000000000' /proc/self/status && " +
					"grep -q '^CapPrm:\t0000000000000000' /proc/self/status && grep -q '^NoNewPrivs:\t1' /proc/self/status", true},
				{"is not root", "test $(id -u) -ne 0", true},
				{"its PID 1 is its own", "cat /proc/1/cmdline | tr '\\0' ' ' | grep -q bwrap", true},
				{"cannot read a parent's environment", "cat /proc/*/environ | tr '\\0' '\\n' | grep -q parent-secret-value", false},
			}
			for _, c := range checks {
				_, stdout, stderr, err := runSandboxed(t, sb, mine, c.script)
				if c.ok && err != nil {
					t.Errorf("%s: %v\nstdout: %s\nstderr: %s", c.name, err, stdout, stderr)
				}
				if !c.ok && err == nil {
					t.Errorf("%s: succeeded in the sandbox\nstdout: %s", c.name, stdout)
				}
			}
			// The data directory, seen from inside, is a mount point in the attempt's own /tmp:
			// a write there stays in the attempt's directory.
			_, _, _, _ = runSandboxed(t, sb, mine, "echo x > "+filepath.Dir(filepath.Dir(mine))+"/escape")
			for _, p := range []string{filepath.Join(other, "escape"), filepath.Join(filepath.Dir(filepath.Dir(mine)), "escape"),
				"/escape", "/etc/escape", "/usr/escape", "/dev/shm/escape"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

// The network is the sandbox's own unless the run asks for the host's (a script section's
// allow_network).
func TestSandboxNetworkSwitch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for mode, runAs := range sandboxModes(t) {
		t.Run(mode, func(t *testing.T) {
			_, mine, _ := sandboxDirs(t)
			sb := newSandbox(t, runAs, sandbox.Limits{})
			for _, network := range []bool{false, true} {
				var stdout, stderr bytes.Buffer
				_, err := subprocess.Run(context.Background(), subprocess.Cmd{Path: "/bin/bash",
					Args: []string{"-c", "exec 3<>/dev/tcp/127.0.0.1/" + port}, Dir: mine, Env: subprocess.CleanEnv(mine),
					Stdout: &stdout, Stderr: &stderr, Sandbox: sb, Spec: sandbox.Spec{Dir: mine, Network: network}})
				if network && err != nil {
					t.Errorf("with the network: %v %s", err, stderr.String())
				}
				if !network && err == nil {
					t.Error("without the network, the sandbox reached a port of the host")
				}
			}
		})
	}
}

func TestSandboxKillsLeftovers(t *testing.T) {
	for mode, runAs := range sandboxModes(t) {
		t.Run(mode, func(t *testing.T) {
			_, mine, _ := sandboxDirs(t)
			sb := newSandbox(t, runAs, sandbox.Limits{})
			// A random marker: another test process may run this test at the same time.
			marker := fmt.Sprintf("6%05d", rand.IntN(100000))
			script := "setsid env -i sleep " + marker + " >/dev/null 2>&1 </dev/null &\n" +
				"( ( sleep " + marker + ".5 & ) & )\necho started"
			start := time.Now()
			_, stdout, _, err := runSandboxed(t, sb, mine, script)
			if err != nil || !strings.Contains(stdout, "started") {
				t.Fatalf("run: %v %q", err, stdout)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the run waited %s for its leftovers", d)
			}
			// The namespace's end kills them; a killed process may take a moment to leave /proc
			// on a loaded machine. One still there after 5 s survived.
			var left []string
			for wait := time.Now(); ; time.Sleep(20 * time.Millisecond) {
				if left = processesWithArg("sleep", marker); len(left) == 0 || time.Since(wait) > 5*time.Second {
					if len(left) == 0 && time.Since(wait) > 100*time.Millisecond {
						t.Logf("the leftovers were gone %s after the run", time.Since(wait).Round(time.Millisecond))
					}
					break
				}
			}
			if len(left) > 0 {
				t.Errorf("processes left after the run: %v", left)
			}
		})
	}
}

func TestSandboxLimits(t *testing.T) {
	for mode, runAs := range sandboxModes(t) {
		t.Run(mode, func(t *testing.T) {
			_, mine, _ := sandboxDirs(t)
			sb := newSandbox(t, runAs, sandbox.Limits{CPUTime: time.Second, Memory: 512 << 20, Processes: 32,
				FileSize: 1 << 20, Disk: 8 << 20})
			t.Run("file size", func(t *testing.T) {
				_, _, _, err := runSandboxed(t, sb, mine, "exec head -c 2000000 /dev/zero > big")
				var le *subprocess.ExitError
				if !errors.As(err, &le) || le.Limit == nil || le.Limit.Limit != "file size" {
					t.Fatalf("err = %v, want the file size limit", err)
				}
			})
			t.Run("disk quota", func(t *testing.T) {
				script := "i=0; while [ $i -lt 40 ]; do head -c 900000 /dev/zero > f$i || exit 9; i=$((i+1)); done; sleep 10"
				_, _, _, err := runSandboxed(t, sb, mine, script)
				var le *subprocess.ExitError
				if !errors.As(err, &le) || le.Limit == nil || le.Limit.Limit != "disk quota" {
					t.Fatalf("err = %v, want the disk quota", err)
				}
				_ = os.RemoveAll(mine)
				_ = os.MkdirAll(mine, 0o755)
			})
			t.Run("CPU time", func(t *testing.T) {
				_, _, _, err := runSandboxed(t, sb, mine, "while :; do :; done")
				var le *subprocess.ExitError
				if !errors.As(err, &le) || le.Limit == nil || le.Limit.Limit != "CPU time" {
					t.Fatalf("err = %v, want the CPU time limit", err)
				}
			})
			t.Run("memory", func(t *testing.T) {
				_, _, stderr, err := runSandboxed(t, sb, mine, "exec python3 -c 'x = bytearray(1 << 30)'")
				if err == nil {
					t.Fatal("a 1 GiB allocation succeeded under a 512 MiB limit")
				}
				if !strings.Contains(stderr, "MemoryError") || sb.Hint(stderr) == "" {
					t.Errorf("stderr %q, hint %q", stderr, sb.Hint(stderr))
				}
			})
			t.Run("processes", func(t *testing.T) {
				script := "exec python3 -c 'import os, time\nn = 0\nfor i in range(100):\n" +
					"    try:\n        pid = os.fork()\n    except OSError:\n        break\n" +
					"    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    n += 1\nprint(n)'"
				_, stdout, stderr, err := runSandboxed(t, sb, mine, script)
				n, perr := strconv.Atoi(strings.TrimSpace(stdout))
				if err != nil || perr != nil || n >= 32 || n < 5 {
					t.Fatalf("%v: %d processes started under a limit of 32 (stdout %q stderr %q)", err, n, stdout, stderr)
				}
			})
		})
	}
}

// The limits the sandboxed command lives under, as its own /proc/self/limits says, and no
// descriptor open in it but its own. The dispatcher sets the limits on the sandbox's first
// process itself (prlimit(2)); where the kernel refuses it that (as for a root without
// CAP_SYS_RESOURCE starting bwrap as another user), util-linux's prlimit sets them inside,
// and Describe says so.
func TestSandboxLimitsSeenInside(t *testing.T) {
	for mode, runAs := range sandboxModes(t) {
		t.Run(mode, func(t *testing.T) {
			_, mine, _ := sandboxDirs(t)
			sb := newSandbox(t, runAs, sandbox.Limits{CPUTime: 3 * time.Second, Memory: 256 << 20, Processes: 40,
				FileSize: 2 << 20})
			inside := strings.Contains(sb.Describe(), "prlimit")
			t.Logf("%s: %s", mode, sb.Describe())
			if runAs == nil && inside {
				t.Errorf("as the dispatcher's own user the limits are set from outside, but: %s", sb.Describe())
			}
			_, stdout, stderr, err := runSandboxed(t, sb, mine, "cat /proc/self/limits; exec ls /proc/self/fd")
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			want := map[string][2]string{
				"Max cpu time":       {"3", "8"},
				"Max file size":      {"2097152", "2097152"},
				"Max processes":      {"40", "40"},
				"Max address space":  {"268435456", "268435456"},
				"Max core file size": {"0", "0"},
			}
			seen := 0
			var fds []string
			for _, line := range strings.Split(stdout, "\n") {
				for name, w := range want {
					if rest, ok := strings.CutPrefix(line, name+" "); ok {
						f := strings.Fields(rest)
						if len(f) < 2 || f[0] != w[0] || f[1] != w[1] {
							t.Errorf("%s: %q, want soft %s hard %s", name, strings.TrimSpace(rest), w[0], w[1])
						}
						seen++
					}
				}
				if fd := strings.TrimSpace(line); fd != "" && strings.Trim(fd, "0123456789") == "" {
					fds = append(fds, fd)
				}
			}
			if seen != len(want) {
				t.Errorf("%d of the %d limits found in:\n%s", seen, len(want), stdout)
			}
			// Only ls's own: 0, 1, 2 and the directory it reads (3). Neither the handshake's
			// pipes nor what the test's process inherited from whatever started it.
			if strings.Join(fds, " ") != "0 1 2 3" {
				t.Errorf("descriptors open in the sandbox: %v, want 0 1 2 3", fds)
			}
		})
	}
}

// The container image's way, for real: this test's own binary run again as a user that is
// not root (as the image's worker is), where bwrap makes a user namespace as that user and
// the dispatcher sets the limits itself. As root the "unprivileged-user" mode above starts
// only bwrap as that user, and the kernel may refuse a root without CAP_SYS_RESOURCE the
// limits on another user's process (then prlimit sets them inside).
func TestSandboxLimitsAsANonRootDispatcher(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs the test binary as another user: needs root (this run is that user's already)")
	}
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy that user may run, in a directory it may enter (go test's is private).
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	body, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "subprocess.test")
	if err := os.WriteFile(bin, body, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp") // that user's
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^TestSandboxLimitsSeenInside$|^TestSandboxLimits$", "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TMPDIR=" + tmp, "HOME=" + tmp}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests as uid 65534: %v\n%s", err, out)
	}
	for _, want := range []string{"--- PASS: TestSandboxLimitsSeenInside/own-user", "--- PASS: TestSandboxLimits/own-user/processes",
		"own-user: bubblewrap, in a user namespace\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the run as uid 65534 lacks %q:\n%s", want, out)
		}
	}
}

// processesWithArg lists the processes named name with an argument starting with arg.
func processesWithArg(name, arg string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		parts := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(parts) >= 2 && filepath.Base(parts[0]) == name && strings.HasPrefix(parts[1], arg) {
			out = append(out, e.Name()+": "+strings.Join(parts, " "))
		}
	}
	return out
}

// As root every running sandbox is a user of its own: one attempt that uses up its
// process limit leaves the others theirs.
func TestSandboxUsersApart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the dispatcher switches users only when it runs as root")
	}
	_, a, b := sandboxDirs(t)
	sb := newSandbox(t, nil, sandbox.Limits{Processes: 32})
	forks := func(n int) string {
		return fmt.Sprintf("exec python3 -c 'import os, time\nk = 0\nfor i in range(%d):\n    try:\n        pid = os.fork()\n"+
			"    except OSError:\n        break\n    if pid == 0:\n        time.sleep(5)\n        os._exit(0)\n    k += 1\nprint(os.getuid(), k)\ntime.sleep(2)'", n)
	}
	type out struct {
		stdout string
		err    error
	}
	first := make(chan out, 1)
	go func() {
		_, so, _, err := runSandboxed(t, sb, a, forks(25))
		first <- out{so, err}
	}()
	time.Sleep(500 * time.Millisecond) // the first holds 25 processes
	_, so, se, err := runSandboxed(t, sb, b, forks(25))
	r := <-first
	var uid1, n1, uid2, n2 int
	if _, e := fmt.Sscan(r.stdout, &uid1, &n1); e != nil || r.err != nil {
		t.Fatalf("first run: %q %v", r.stdout, r.err)
	}
	if _, e := fmt.Sscan(so, &uid2, &n2); e != nil || err != nil {
		t.Fatalf("second run: %q %q %v", so, se, err)
	}
	if uid1 == uid2 || uid1 == 0 || uid2 == 0 {
		t.Errorf("uids %d and %d: want two users of their own", uid1, uid2)
	}
	if n1 != 25 || n2 != 25 {
		t.Errorf("forks %d and %d: each sandbox should have its own 32 processes", n1, n2)
	}
}
