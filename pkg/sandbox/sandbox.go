//go:build linux

// Package sandbox confines the code the dispatcher runs for its users (proxymod models,
// operator scripts) with bubblewrap (bwrap, the sandbox Flatpak uses).
//
// A sandboxed child gets new PID, IPC, UTS, network and mount namespaces. Its file system
// is a fresh root holding, read-only, the host's /usr, /bin, /sbin, /lib*, /etc and the
// paths its interpreter needs; the attempt's own directory is the only writable place
// (bound at the same path as on the host, with a private /tmp inside it), and /proc is the
// sandbox's own. Nothing else of the host is visible: not DATA_DIR's other jobs, not /run
// (PostgreSQL's unix socket lives there), not /var (Kubernetes' service account token
// under /var/run/secrets), not /home or /root, and the dispatcher's configuration and
// secret files are masked even where they lie under /etc. The network namespace has only
// its own loopback, so 127.0.0.1 reaches nothing of the host.
//
// The sandbox runs as an unprivileged user. When the dispatcher runs as a normal user
// (the container image does), bwrap makes a new user namespace for it. When the
// dispatcher runs as root, a process in a user namespace would still be root to the
// kernel's resource accounting (RLIMIT_NPROC is not enforced for root) and to the host's
// root-owned files, so bwrap runs without a user namespace and the child switches to a
// user of its own (UID+n, from 100000 by default) before it starts.
//
// Limits per attempt: CPU time, address space, file size and processes are resource limits
// that the dispatcher sets on the sandbox's first process (prlimit(2)) while bubblewrap
// holds it, its namespaces and mounts made, before anything of the command runs (Start);
// everything the command starts inherits them. The disk used under the
// attempt's directory is measured while it runs, and the whole sandbox is killed when it
// passes the quota. When the attempt ends, its PID namespace ends and everything in it
// dies: no daemon outlives its job.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Modes of Config.Mode.
const (
	// ModeBwrap requires bubblewrap: New fails when it does not work on the machine.
	ModeBwrap = "bwrap"
	// ModeAuto uses bubblewrap when it works, and runs children unconfined otherwise.
	ModeAuto = "auto"
	// ModeOff runs children unconfined.
	ModeOff = "off"
)

// Limits bound one attempt. Zero means no limit of that kind.
type Limits struct {
	// CPUTime is the CPU time of each process (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL
	// a few seconds later.
	CPUTime time.Duration
	// Memory is the address space of each process, in bytes (RLIMIT_AS).
	Memory int64
	// Processes is the number of processes and threads the sandbox's user may have at
	// once (RLIMIT_NPROC, counted per sandbox).
	Processes int
	// FileSize is the largest file a process may write, in bytes (RLIMIT_FSIZE).
	FileSize int64
	// Disk is the space used under the attempt's directory, in bytes, checked while the
	// child runs.
	Disk int64
}

// Config configures the sandbox.
type Config struct {
	// Mode is ModeBwrap, ModeAuto or ModeOff.
	Mode string
	// Bwrap is the bubblewrap program (default "bwrap", looked up on PATH).
	Bwrap string
	// UID and GID are where the sandbox users begin when the dispatcher runs as root
	// (default 100000): each running sandbox gets a user of its own, UID+n:GID+n for the
	// first n free, so that one attempt's processes count against its own process limit
	// and no other attempt's.
	UID, GID int
	// Limits apply to every attempt.
	Limits Limits
	// ReadOnly are more host paths every sandbox sees, read-only (SANDBOX_BIND).
	ReadOnly []string
	// Hide are host paths no sandbox may see (configuration and secret files); a file's
	// directory is hidden too unless it is one of the system directories.
	Hide []string
	// DiskCheckInterval is how often the disk quota is checked (default 500ms).
	DiskCheckInterval time.Duration
	// RunAs starts bwrap as this user, in a user namespace, as a dispatcher that is not
	// root does (nil: as the dispatcher's own user). The attempt's directory is given to
	// that user, and every path the sandbox sees must be reachable by it.
	RunAs *syscall.Credential
}

// Sandbox builds the sandboxed command lines. A nil *Sandbox, or one that is not Enabled,
// runs children unconfined.
type Sandbox struct {
	cfg        Config
	enabled    bool
	reason     string // why it is not enabled
	bwrap      string
	setpriv    string
	prlimit    string // set only when the limits are set inside the sandbox (see setup)
	privileged bool   // root: no user namespace, setpriv to UID inside
	system     []string
	hidden     []string

	mu   sync.Mutex
	used map[int]bool // offsets of the sandbox users in use
}

// maxUsers bounds the sandbox users running at once (as root).
const maxUsers = 4096

// AcquireUser reserves a user of its own for one run when the dispatcher runs as root
// (the sandbox's UID+n, the first free n); release gives it back. It returns the offset to
// set in Spec.User, and 0 with a no-op when the sandbox does not switch users.
func (s *Sandbox) AcquireUser() (user int, release func(), err error) {
	if !s.Enabled() || !s.privileged {
		return 0, func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == nil {
		s.used = map[int]bool{}
	}
	for n := 1; n <= maxUsers; n++ {
		if !s.used[n] {
			s.used[n] = true
			return n, func() {
				s.mu.Lock()
				delete(s.used, n)
				s.mu.Unlock()
			}, nil
		}
	}
	return 0, nil, fmt.Errorf("sandbox: %d sandboxes already running", maxUsers)
}

// shmSize bounds the sandbox's /dev/shm (memory, not the attempt's disk).
const shmSize = 64 << 20

// systemDirs are the host directories every sandbox sees read-only, when they exist.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc"}

// New returns the sandbox the configuration asks for. With ModeBwrap it fails when
// bubblewrap cannot run a trivial sandbox here; with ModeAuto it returns a disabled
// sandbox whose Reason says why.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeBwrap
	}
	if cfg.Bwrap == "" {
		cfg.Bwrap = "bwrap"
	}
	if cfg.UID == 0 {
		cfg.UID = 100000
	}
	if cfg.GID == 0 {
		cfg.GID = 100000
	}
	if cfg.DiskCheckInterval <= 0 {
		cfg.DiskCheckInterval = 500 * time.Millisecond
	}
	s := &Sandbox{cfg: cfg}
	switch cfg.Mode {
	case ModeOff:
		s.reason = "SANDBOX=off"
		return s, nil
	case ModeBwrap, ModeAuto:
		inherited.Do(closeInheritedOnExec)
	default:
		return nil, fmt.Errorf("sandbox: mode %q: want auto, bwrap or off", cfg.Mode)
	}
	err := s.setup(ctx)
	if err == nil {
		s.enabled = true
		return s, nil
	}
	if cfg.Mode == ModeBwrap {
		return nil, fmt.Errorf("sandbox: bubblewrap does not work here: %w (install the bubblewrap package and allow user namespaces, or set SANDBOX=auto or SANDBOX=off)", err)
	}
	s.reason = "bubblewrap does not work here: " + err.Error()
	return s, nil
}

// setup finds the programs and runs a trivial sandbox.
func (s *Sandbox) setup(ctx context.Context) error {
	var err error
	if s.bwrap, err = exec.LookPath(s.cfg.Bwrap); err != nil {
		return fmt.Errorf("%s not found: %w", s.cfg.Bwrap, err)
	}
	// setpriv runs inside the sandbox, so it must lie under /usr or /bin.
	s.privileged = os.Geteuid() == 0 && s.cfg.RunAs == nil
	if s.privileged {
		if s.setpriv, err = systemProgram("setpriv"); err != nil {
			return err
		}
	}
	for _, d := range systemDirs {
		if _, err := os.Lstat(d); err == nil {
			s.system = append(s.system, d)
		}
	}
	s.hidden = s.hiddenPaths()

	err = s.probe(ctx)
	if errors.Is(err, errLimitsRefused) {
		// The kernel refuses the dispatcher prlimit(2) on the sandbox's process: a security
		// module's policy, or a root without CAP_SYS_RESOURCE starting bwrap as another
		// user. util-linux's prlimit sets the limits inside instead, at the cost of one
		// more program started per run.
		if s.prlimit, err = systemProgram("prlimit"); err != nil {
			return err
		}
		err = s.probe(ctx)
	}
	return err
}

// probe runs a trivial sandbox: a shell that writes a file into its directory.
func (s *Sandbox) probe(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "sandbox-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	prog, args, err := s.Command(Spec{Dir: dir}, "/bin/sh", []string{"-c", "echo ok > probe"}, dir)
	if err != nil {
		return err
	}
	if err := s.Prepare(Spec{Dir: dir}); err != nil {
		return err
	}
	cmd := exec.CommandContext(tctx, prog, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = s.SysProcAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = s.Start(cmd)
	if errors.Is(err, errLimitsRefused) {
		return err
	}
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return errors.New(msg)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "probe")); err != nil || string(b) != "ok\n" {
		return fmt.Errorf("a sandboxed shell could not write its directory (%v)", err)
	}
	return nil
}

// inherited marks the process's inherited descriptors close-on-exec, once.
var inherited sync.Once

// closeInheritedOnExec marks every descriptor above stderr close-on-exec. Go opens its own
// so, but not those the dispatcher inherited from whatever started it (a supervisor's
// pipe, a socket), and bwrap passes every open descriptor on to the sandboxed command.
func closeInheritedOnExec() {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Before Linux 5.11.
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}

func systemProgram(name string) (string, error) {
	for _, d := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s (util-linux) not found in /usr/bin or /bin", name)
}

// Enabled reports whether children run in bubblewrap.
func (s *Sandbox) Enabled() bool { return s != nil && s.enabled }

// Reason says why the sandbox is not enabled ("" when it is).
func (s *Sandbox) Reason() string {
	if s == nil {
		return "no sandbox configured"
	}
	return s.reason
}

// Describe is one line for logs and health answers.
func (s *Sandbox) Describe() string {
	if !s.Enabled() {
		return "off: " + s.Reason()
	}
	if s.privileged {
		return fmt.Sprintf("bubblewrap, each sandbox as a user of its own from uid %d%s", s.cfg.UID, s.limitsBy())
	}
	return "bubblewrap, in a user namespace" + s.limitsBy()
}

func (s *Sandbox) limitsBy() string {
	if s.prlimit != "" {
		return " (limits set inside by prlimit: the kernel refuses them from the dispatcher)"
	}
	return ""
}

// Limits returns the limits of every attempt.
func (s *Sandbox) Limits() Limits {
	if s == nil {
		return Limits{}
	}
	return s.cfg.Limits
}

// DiskCheckInterval is how often the disk quota is checked.
func (s *Sandbox) DiskCheckInterval() time.Duration { return s.cfg.DiskCheckInterval }

// Spec is one sandboxed run.
type Spec struct {
	// Dir is the attempt's directory: the only writable place, seen at the same path.
	Dir string
	// Tmp is a directory inside Dir that the child sees as /tmp ("" : Dir/.tmp).
	Tmp string
	// ReadOnly are more host paths the child sees read-only (its interpreter, its script).
	ReadOnly []string
	// Network keeps the host's network (never for proxymod models).
	Network bool
	// User is the run's own sandbox user, from AcquireUser (0: the first, UID:GID).
	User int
}

func (sp Spec) tmp() string {
	if sp.Tmp != "" {
		return sp.Tmp
	}
	return filepath.Join(sp.Dir, ".tmp")
}

// Prepare makes the attempt's directory the sandbox's own: its /tmp exists and, when the
// child runs as a dedicated user, everything under it belongs to that user.
func (s *Sandbox) Prepare(sp Spec) error {
	tmp := sp.tmp()
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	uid, gid, chown := s.owner(sp)
	if !chown {
		return nil
	}
	err := filepath.Walk(sp.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("sandbox: giving the attempt's directory to uid %d: %w", uid, err)
	}
	return nil
}

// owner is the user the attempt's files must belong to, if not the dispatcher's.
func (s *Sandbox) owner(sp Spec) (uid, gid int, chown bool) {
	switch {
	case s.privileged:
		return s.cfg.UID + sp.User, s.cfg.GID + sp.User, true
	case s.cfg.RunAs != nil && int(s.cfg.RunAs.Uid) != os.Geteuid():
		return int(s.cfg.RunAs.Uid), int(s.cfg.RunAs.Gid), true
	}
	return 0, 0, false
}

// SysProcAttr is how bwrap itself is started: its own process group, killed with the
// dispatcher's thread that started it.
func (s *Sandbox) SysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.cfg.RunAs != nil {
		a.Credential = s.cfg.RunAs
	}
	return a
}

// Command returns the program and arguments that run path with args in dir, sandboxed:
// bwrap's namespaces, its mounts, then (as root) the program that drops to the sandbox
// user, which execs path. The command must be started with Start, which sets the limits.
func (s *Sandbox) Command(sp Spec, path string, args []string, dir string) (string, []string, error) {
	if !filepath.IsAbs(sp.Dir) || !filepath.IsAbs(dir) {
		return "", nil, errors.New("sandbox: the attempt's directory and the working directory must be absolute")
	}
	a := s.namespaces(sp)
	a = append(a, s.mounts(sp)...)
	if s.prlimit == "" {
		// Start's handshake: bwrap writes its child's PID to fd 3, and the child waits for
		// a byte on fd 4 once the sandbox is made, before it starts anything.
		a = append(a, "--info-fd", strconv.Itoa(infoFD), "--block-fd", strconv.Itoa(blockFD))
	}
	a = append(a, "--chdir", dir, "--")
	a = append(a, s.launcher(sp)...)
	a = append(a, path)
	a = append(a, args...)
	return s.bwrap, a, nil
}

// The descriptors of Start's handshake in bwrap: the first two of exec.Cmd.ExtraFiles.
const (
	infoFD  = 3
	blockFD = 4
)

// limitsSet, when a test sets it, runs in Start once the limits are set and before the
// sandbox is let go.
var limitsSet func()

// handshakeTimeout bounds the wait for bwrap to say which process is its child.
const handshakeTimeout = 30 * time.Second

// Start starts cmd, a command line made by Command (with SysProcAttr), and sets the run's
// resource limits on the sandbox's first process (prlimit(2)) while bwrap holds it: its
// namespaces and mounts are made, nothing of the command has run, and everything it starts
// inherits the limits. cmd must have no ExtraFiles. When Start fails after the process
// started, it has killed and reaped it.
//
// Should the dispatcher die between the start and the limits, bwrap's child reads the end
// of the handshake and goes on, but bwrap is killed with the dispatcher (Pdeathsig) and its
// child with it (--die-with-parent): the command may start, inside its namespaces, only in
// the moment before those kills arrive.
func (s *Sandbox) Start(cmd *exec.Cmd) error {
	if s.prlimit != "" {
		return cmd.Start() // the command line sets them
	}
	if len(cmd.ExtraFiles) > 0 {
		return errors.New("sandbox: Start needs a command without ExtraFiles")
	}
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer infoR.Close()
	// A blocking pipe: bwrap's read of --block-fd must wait for the byte, and a read end
	// left non-blocking (as os.Pipe makes them) would return at once.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		infoW.Close()
		return fmt.Errorf("sandbox: %w", err)
	}
	blockR, blockW := os.NewFile(uintptr(p[0]), "block-r"), os.NewFile(uintptr(p[1]), "block-w")
	defer blockW.Close()
	cmd.ExtraFiles = []*os.File{infoW, blockR}
	err = cmd.Start()
	// The child has its copies; ours would keep the handshake from ever ending.
	infoW.Close()
	blockR.Close()
	if err != nil {
		return err
	}
	if err := s.setLimits(infoR); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("sandbox: %w", err)
	}
	if limitsSet != nil {
		limitsSet()
	}
	// bwrap's child may have failed and gone meanwhile (a mount it could not make): the
	// write then finds no reader, and Wait reports bwrap's exit.
	_, _ = blockW.Write([]byte{1})
	return nil
}

// setLimits reads bwrap's child's PID from info and sets the limits on that process. A
// bwrap that ended before saying it (it refused its options) is left to Wait to report,
// as is a child that ended before its limits were set: neither runs anything.
func (s *Sandbox) setLimits(info *os.File) error {
	if err := info.SetReadDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return err
	}
	var v struct {
		ChildPID int `json:"child-pid"`
	}
	switch err := json.NewDecoder(io.LimitReader(info, 64<<10)).Decode(&v); {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil
	case err != nil:
		return fmt.Errorf("reading bwrap's child's PID: %w", err)
	case v.ChildPID <= 0:
		return fmt.Errorf("bwrap named no child (child-pid %d)", v.ChildPID)
	}
	// The PID cannot have been reused: the child is bwrap's, which reaps it only once it
	// has ended, and it waits for us.
	for _, l := range s.rlimits() {
		if err := unix.Prlimit(v.ChildPID, l.resource, &l.value, nil); err != nil {
			if errors.Is(err, unix.ESRCH) {
				return nil
			}
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
				err = fmt.Errorf("%w: %w", errLimitsRefused, err)
			}
			return fmt.Errorf("setting %s on the sandbox's process %d: %w", l.name, v.ChildPID, err)
		}
	}
	return nil
}

// errLimitsRefused is the kernel refusing the dispatcher prlimit(2) on the sandbox.
var errLimitsRefused = errors.New("limits refused")

type rlimit struct {
	name     string
	option   string // util-linux prlimit's
	resource int
	value    unix.Rlimit
}

// rlimits are the resource limits of every run: no core files, and the configured limits.
func (s *Sandbox) rlimits() []rlimit {
	both := func(v uint64) unix.Rlimit { return unix.Rlimit{Cur: v, Max: v} }
	out := []rlimit{{"RLIMIT_CORE", "core", unix.RLIMIT_CORE, both(0)}}
	l := s.cfg.Limits
	if l.CPUTime > 0 {
		sec := uint64(max(int64(l.CPUTime.Round(time.Second).Seconds()), 1))
		// SIGXCPU at the limit, SIGKILL for a process that ignores it.
		out = append(out, rlimit{"RLIMIT_CPU", "cpu", unix.RLIMIT_CPU, unix.Rlimit{Cur: sec, Max: sec + 5}})
	}
	if l.Memory > 0 {
		out = append(out, rlimit{"RLIMIT_AS", "as", unix.RLIMIT_AS, both(uint64(l.Memory))})
	}
	if l.Processes > 0 {
		out = append(out, rlimit{"RLIMIT_NPROC", "nproc", unix.RLIMIT_NPROC, both(uint64(l.Processes))})
	}
	if l.FileSize > 0 {
		out = append(out, rlimit{"RLIMIT_FSIZE", "fsize", unix.RLIMIT_FSIZE, both(uint64(l.FileSize))})
	}
	return out
}

// namespaces are bwrap's options for the namespaces and capabilities.
func (s *Sandbox) namespaces(sp Spec) []string {
	a := []string{
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent", "--new-session", "--hostname", "sandbox",
	}
	if !sp.Network {
		a = append(a, "--unshare-net")
	}
	if s.privileged {
		// Root: no user namespace (it would stay root to the kernel); the child drops to
		// the sandbox user with setpriv, which needs CAP_SETUID and CAP_SETGID (and
		// CAP_SETPCAP to empty the bounding set); CAP_DAC_READ_SEARCH lets it enter the
		// attempt's directory (the sandbox user's) first. Changing to that user clears
		// them all, and bwrap sets no_new_privs: nothing in the sandbox gets one back.
		return append(a, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
			"--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_DAC_READ_SEARCH")
	}
	return append(a, "--unshare-user", "--disable-userns", "--cap-drop", "ALL")
}

// mounts are bwrap's options that build the sandbox's file system.
func (s *Sandbox) mounts(sp Spec) []string {
	var a []string
	for _, d := range s.system {
		if t, err := os.Readlink(d); err == nil {
			a = append(a, "--symlink", t, d)
			continue
		}
		a = append(a, "--ro-bind", d, d)
	}
	a = append(a,
		"--proc", "/proc", "--dev", "/dev",
		// Shared memory for those that need it (Python's multiprocessing), bounded.
		"--perms", "1777", "--size", strconv.Itoa(shmSize), "--tmpfs", "/dev/shm",
		// /tmp before what follows: the attempt's directory, a script or an interpreter
		// may lie under the host's /tmp, and their mount points are then made in the
		// private /tmp (inside the attempt's directory).
		"--bind", sp.tmp(), "/tmp",
	)
	var cand []string
	for _, p := range slices.Concat(s.cfg.ReadOnly, sp.ReadOnly) {
		if p = filepath.Clean(p); filepath.IsAbs(p) && !s.covered(p) {
			if _, err := os.Stat(p); err == nil {
				cand = append(cand, p)
			}
		}
	}
	extra := outermost(cand) // a path inside another is already visible
	// bwrap makes the missing parents of a mount point as private as the host's (/root is
	// 0700 there): make them first, searchable, so that the sandbox user reaches the mount.
	made := map[string]bool{}
	parents := func(dest string) {
		var chain []string
		for d := filepath.Dir(dest); d != "/" && d != "/tmp"; d = filepath.Dir(d) {
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			if d := chain[i]; !made[d] && !s.covered(d) && !under(d, extra) {
				made[d] = true
				a = append(a, "--perms", "0755", "--dir", d)
			}
		}
	}
	for _, p := range extra {
		parents(p)
		a = append(a, "--ro-bind", p, p)
	}
	var masked []string
	for _, p := range s.masks(extra) {
		st, err := os.Stat(p)
		switch {
		case err != nil:
		case st.IsDir():
			// An empty, read-only directory in its place.
			a = append(a, "--tmpfs", p)
			masked = append(masked, p)
		default:
			a = append(a, "--ro-bind", "/dev/null", p)
		}
	}
	parents(sp.Dir)
	a = append(a,
		"--bind", sp.Dir, sp.Dir,
		// The sandbox's own root and /dev are tmpfs: read-only, so that nothing fills memory.
		"--remount-ro", "/dev", "--remount-ro", "/",
	)
	for _, p := range masked {
		a = append(a, "--remount-ro", p)
	}
	return a
}

// launcher is what runs in the sandbox before the command: as root, setpriv to the
// sandbox user (bwrap's user namespace already is that user otherwise); then, only where
// the kernel refuses Start's prlimit(2), util-linux's prlimit with the limits.
func (s *Sandbox) launcher(sp Spec) []string {
	var a []string
	if s.privileged {
		uid, gid, _ := s.owner(sp)
		a = append(a, s.setpriv, "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(gid),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	}
	if s.prlimit == "" {
		return a
	}
	a = append(a, s.prlimit)
	for _, l := range s.rlimits() {
		v := strconv.FormatUint(l.value.Cur, 10)
		if l.value.Max != l.value.Cur {
			v += ":" + strconv.FormatUint(l.value.Max, 10)
		}
		a = append(a, "--"+l.option+"="+v)
	}
	return append(a, "--")
}

// outermost sorts paths and keeps those not inside another of them.
func outermost(paths []string) []string {
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	var kept []string
	for _, p := range sorted {
		if !under(p, kept) {
			kept = append(kept, p)
		}
	}
	return kept
}

// covered reports whether p lies under one of the system directories bound read-only.
func (s *Sandbox) covered(p string) bool { return under(p, s.system) }

func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// hiddenPaths are the configured files (absolute) and the dispatcher's own program.
func (s *Sandbox) hiddenPaths() []string {
	var out []string
	for _, p := range append(slices.Clone(s.cfg.Hide), executable()) {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil && abs != "/" && !slices.Contains(out, abs) {
			out = append(out, abs)
		}
	}
	return out
}

func executable() string {
	exe, _ := os.Executable()
	return exe
}

// masks are the paths to hide in a sandbox that sees the system directories and extra:
// each hidden path it would see and, for a file, its whole directory too (a site's
// configuration directory holds more than the one file named), unless that directory is
// one the sandbox is meant to see (/etc itself, a SANDBOX_BIND entry). A path inside a
// masked directory needs no mask of its own.
func (s *Sandbox) masks(extra []string) []string {
	visible := slices.Concat(s.system, extra)
	var out []string
	for _, p := range s.hidden {
		if !under(p, visible) {
			continue
		}
		out = append(out, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && p != executable() {
			if d := filepath.Dir(p); !slices.Contains(visible, d) {
				out = append(out, d)
			}
		}
	}
	return outermost(out)
}
