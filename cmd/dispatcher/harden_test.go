package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The dispatcher makes itself non-dumpable: a process of its own user cannot read its
// environment (where credentials live), and its /proc files belong to root.
func TestProcessIsNotDumpable(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "dispatcher")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Run it as a user that is not root (when the test is root), as the image does.
	var cred *syscall.Credential
	uid := os.Getuid()
	if uid == 0 {
		cred, uid = &syscall.Credential{Uid: 65534, Gid: 65534}, 65534
	}
	// `dispatcher filter` waits for its document on standard input: alive until we close it.
	cmd := exec.Command(bin, "filter", "$")
	cmd.Env = []string{"DATABASE_URL=postgres://u:very-secret@db/x", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	environ := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "environ")
	// The flag is set first thing in main; give the process a moment to get there.
	var st syscall.Stat_t
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := syscall.Stat(environ, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Uid != 0 {
		t.Fatalf("%s belongs to uid %d: the process is dumpable", environ, st.Uid)
	}
	// A process of the same user tries to read it.
	reader := exec.Command("/bin/cat", environ)
	if cred != nil {
		reader.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	reader.Stdout, reader.Stderr = &out, &out
	err = reader.Run()
	if err == nil || strings.Contains(out.String(), "very-secret") {
		t.Errorf("uid %d read the dispatcher's environment: %v %q", uid, err, out.String())
	}
}
