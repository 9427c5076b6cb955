//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newBwrap(t *testing.T) *Sandbox {
	t.Helper()
	s, err := New(context.Background(), Config{Mode: ModeBwrap, Limits: Limits{Processes: 64}})
	if err != nil {
		t.Fatalf("bubblewrap is needed (apt-get install bubblewrap): %v", err)
	}
	return s
}

// A bwrap that fails, before it has a child or after, is reported by Wait with what bwrap
// said, as before the handshake: Start neither hangs nor hides it.
func TestStartReportsBwrapsOwnFailure(t *testing.T) {
	t.Parallel()
	s := newBwrap(t)
	if s.prlimit != "" {
		t.Logf("limits set inside here (%s): the handshake is not used", s.Describe())
	}
	dir := t.TempDir()
	var handshake []string // as Command writes it
	if s.prlimit == "" {
		handshake = []string{"--info-fd", strconv.Itoa(infoFD), "--block-fd", strconv.Itoa(blockFD)}
	}
	for name, args := range map[string][]string{
		"refused option":             {"--no-such-option"},
		"mount failing in its child": append(append([]string{"--unshare-pid"}, handshake...), "--ro-bind", dir+"/missing", "/x", "--", "/bin/true"),
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(s.bwrap, args...)
			cmd.SysProcAttr = s.SysProcAttr()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			go func() {
				err := s.Start(cmd)
				if err == nil {
					err = cmd.Wait()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || stderr.Len() == 0 {
					t.Fatalf("err %v, stderr %q: want bwrap's failure", err, stderr.String())
				}
				t.Logf("%v: %s", err, strings.TrimSpace(stderr.String()))
			case <-time.After(20 * time.Second):
				t.Fatal("Start or Wait hung on a failing bwrap")
			}
		})
	}
}

// Start refuses a command that already passes descriptors: they would take the handshake's
// numbers.
func TestStartRefusesExtraFiles(t *testing.T) {
	t.Parallel()
	s := newBwrap(t)
	if s.prlimit != "" {
		t.Skipf("limits set inside here (%s): Start does not use descriptors", s.Describe())
	}
	cmd := exec.Command(s.bwrap, "--version")
	cmd.ExtraFiles = []*os.File{os.Stdin}
	if err := s.Start(cmd); err == nil {
		_ = cmd.Wait()
		t.Fatal("Start took a command with ExtraFiles")
	}
}

// What the process inherited open from whatever started it is closed at exec after New:
// bwrap would pass it on to the sandboxed command.
func TestInheritedDescriptorsClosedOnExec(t *testing.T) {
	fd, err := unix.Dup(int(os.Stderr.Fd())) // dup(2): without close-on-exec, as inherited
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
		t.Fatalf("dup gave a close-on-exec descriptor")
	}
	closeInheritedOnExec()
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d still passed on at exec", fd)
	}
	for _, fd := range []int{0, 1, 2} {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
			t.Errorf("standard descriptor %d closed at exec", fd)
		}
	}
}

// Where the limits are set inside, the command line carries util-linux prlimit with each of
// them (soft:hard where they differ) after setpriv, and no handshake.
func TestLauncherWithLimitsInside(t *testing.T) {
	s := &Sandbox{cfg: Config{UID: 100000, GID: 100000, Limits: Limits{CPUTime: 90 * time.Second, Memory: 1 << 30,
		Processes: 128, FileSize: 1 << 20}}, privileged: true, setpriv: "/usr/bin/setpriv", prlimit: "/usr/bin/prlimit",
		bwrap: "/usr/bin/bwrap"}
	_, args, err := s.Command(Spec{Dir: "/data/job", User: 3}, "/bin/sh", []string{"-c", "true"}, "/data/job")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	want := "-- /usr/bin/setpriv --reuid=100003 --regid=100003 --clear-groups --inh-caps=-all --bounding-set=-all -- " +
		"/usr/bin/prlimit --core=0 --cpu=90:95 --as=1073741824 --nproc=128 --fsize=1048576 -- /bin/sh -c true"
	if !strings.HasSuffix(line, want) {
		t.Errorf("command line ends\n  %s\nwant\n  %s", line[max(0, len(line)-len(want)):], want)
	}
	if strings.Contains(line, "--info-fd") || strings.Contains(line, "--block-fd") {
		t.Errorf("handshake options with the limits set inside: %s", line)
	}
	s.prlimit = ""
	_, args, _ = s.Command(Spec{Dir: "/data/job", User: 3}, "/bin/sh", []string{"-c", "true"}, "/data/job")
	line = strings.Join(args, " ")
	if !strings.Contains(line, "--info-fd 3 --block-fd 4 ") || strings.Contains(line, "prlimit") ||
		!strings.HasSuffix(line, "--bounding-set=-all -- /bin/sh -c true") {
		t.Errorf("command line with the limits set by Start: %s", line)
	}
}

// Nothing of the command runs before Start has set the limits and lets bwrap's child go:
// held there, the command has not written its file; let go, it has.
func TestStartHoldsTheCommandUntilTheLimitsAreSet(t *testing.T) {
	s := newBwrap(t)
	if s.prlimit != "" {
		t.Skipf("limits set inside here (%s): no handshake", s.Describe())
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	user, release, err := s.AcquireUser()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	sp := Spec{Dir: dir, User: user}
	if err := s.Prepare(sp); err != nil {
		t.Fatal(err)
	}
	marker := dir + "/ran"
	prog, args, err := s.Command(sp, "/bin/sh", []string{"-c", "echo yes > " + marker}, dir)
	if err != nil {
		t.Fatal(err)
	}
	held := false
	limitsSet = func() {
		time.Sleep(300 * time.Millisecond) // ample for a command let go too early
		_, err := os.Stat(marker)
		held = os.IsNotExist(err)
	}
	defer func() { limitsSet = nil }()
	cmd := exec.Command(prog, args...)
	cmd.SysProcAttr = s.SysProcAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := s.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if !held {
		t.Error("the command ran before Start let bwrap's child go")
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "yes\n" {
		t.Errorf("the command did not run once let go: %q, %v", b, err)
	}
}
