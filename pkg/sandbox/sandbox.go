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
// set inside the sandbox (prlimit, before the command starts); the disk used under the
// attempt's directory is measured while it runs, and the whole sandbox is killed when it
// passes the quota. When the attempt ends, its PID namespace ends and everything in it
// dies: no daemon outlives its job.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
	prlimit    string
	setpriv    string
	privileged bool // root: no user namespace, setpriv to UID inside
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
	// prlimit and setpriv run inside the sandbox, so they must lie under /usr or /bin.
	if s.prlimit, err = systemProgram("prlimit"); err != nil {
		return err
	}
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
	if err := cmd.Run(); err != nil {
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
		return fmt.Sprintf("bubblewrap, each sandbox as a user of its own from uid %d", s.cfg.UID)
	}
	return "bubblewrap, in a user namespace"
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
// bwrap's namespaces, its mounts, then the program that drops to the sandbox user (as
// root) and the one that sets the limits, which execs path.
func (s *Sandbox) Command(sp Spec, path string, args []string, dir string) (string, []string, error) {
	if !filepath.IsAbs(sp.Dir) || !filepath.IsAbs(dir) {
		return "", nil, errors.New("sandbox: the attempt's directory and the working directory must be absolute")
	}
	a := s.namespaces(sp)
	a = append(a, s.mounts(sp)...)
	a = append(a, "--chdir", dir, "--")
	a = append(a, s.launcher(sp)...)
	a = append(a, "--", path)
	a = append(a, args...)
	return s.bwrap, a, nil
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

// launcher is what runs in the sandbox before the command: setpriv to the sandbox user (as
// root), then prlimit with the limits.
func (s *Sandbox) launcher(sp Spec) []string {
	var a []string
	if s.privileged {
		uid, gid, _ := s.owner(sp)
		a = append(a, s.setpriv, "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(gid),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	}
	a = append(a, s.prlimit, "--core=0")
	l := s.cfg.Limits
	if l.CPUTime > 0 {
		sec := max(int64(l.CPUTime.Round(time.Second).Seconds()), 1)
		// SIGXCPU at the limit, SIGKILL for a process that ignores it.
		a = append(a, fmt.Sprintf("--cpu=%d:%d", sec, sec+5))
	}
	if l.Memory > 0 {
		a = append(a, fmt.Sprintf("--as=%d", l.Memory))
	}
	if l.Processes > 0 {
		a = append(a, fmt.Sprintf("--nproc=%d", l.Processes))
	}
	if l.FileSize > 0 {
		a = append(a, fmt.Sprintf("--fsize=%d", l.FileSize))
	}
	return a
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
