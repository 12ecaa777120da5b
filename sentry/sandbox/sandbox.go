// Package sandbox assembles a sandbox: a platform, a kernel with its syscall
// table, a root file system, and the first process, which it runs to the
// end. The runsc-lite command is a thin layer of flags over Run.
//
// Run is Boot, Start and Wait in one: an OCI container (runsc-lite create)
// is booted with its first process created and blocked, started by a
// control call (package control), and gets more processes through Exec.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/netfwd"
	"runsc-lite/platform"
	"runsc-lite/platform/ptrace"
	"runsc-lite/platform/systrap"
	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/strace"
	"runsc-lite/sentry/syscalls/linux"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
	"runsc-lite/stub"
)

// Config describes one sandbox run.
type Config struct {
	Root string // host directory that is /
	// RootFile, when set, is Root already open (host.OpenRoot): a sentry
	// in an empty root of its own reaches the host only through it. Run
	// takes it over.
	RootFile *os.File
	Cwd      string // working directory inside; "" picks one
	// CallerCwd is the caller's working directory, the default Cwd; ""
	// is /. When the root does not show it as a directory (it is below
	// /tmp, or the sentry's host identity cannot reach it), CwdSource,
	// the same directory opened by the caller, is mounted there under a
	// memory overlay of its own. Run takes CwdSource over.
	CallerCwd string
	CwdSource *host.Source
	// FS shapes the mount tree: the root written through to the host,
	// the host's /tmp, volumes and bind mounts (package rootfs). Run
	// takes their sources over.
	FS       rootfs.Options
	Platform string // "systrap" or "ptrace"
	// NoPatch turns off systrap's syscall-site patching (--no-patch).
	NoPatch bool
	// Confinement confines the platform's stub processes; nil is
	// stub.DefaultConfinement().
	Confinement *stub.Confinement
	// Lockdown, when set, runs once the platform has started and before
	// anything the sandbox was given is looked at: it takes the sentry's
	// privileges away for good (package confine).
	Lockdown func(platform string) error
	Argv     []string
	Env      []string
	Strace   io.Writer // nil: off
	// StraceFilter is strace's -e trace= expression ("" shows every call);
	// StraceTiming is -T and StraceSummary -c.
	StraceFilter  string
	StraceTiming  bool
	StraceSummary bool
	// Hooks are the embedding program's syscall hooks (package
	// interpose); they may gain hooks while the sandbox runs. nil: none.
	Hooks *interpose.Hooks
	Log   *slog.Logger
	// MemoryLimit is the sandbox's memory in bytes (package usage); 0 is
	// half of the host's RAM.
	MemoryLimit uint64
	// PidsLimit bounds the sandbox's tasks; 0 is kernel.DefaultTaskLimit.
	PidsLimit int
	// Hostname is what uname says ("" is runsc-lite).
	Hostname string
	// Net configures the sandbox's network stack: the network
	// forwarder for outbound traffic, published ports (zero: lo only).
	Net inet.Options
	// User is the first process's identity, Rlimits its limits.
	User    User
	Rlimits []Rlimit
}

// ExecError is a command that could not be started: Err is the errno
// execve would have returned (ENOENT, EACCES, ENOEXEC...).
type ExecError struct {
	Path string
	Err  error
}

// Error reads as a shell's message: "NAME: command not found" for a
// command looked up in PATH, else the path and the errno's text
// ("/usr: Is a directory", "./x: Permission denied").
func (e *ExecError) Error() string {
	var errno unix.Errno
	if !errors.As(e.Err, &errno) {
		return e.Path + ": " + e.Err.Error()
	}
	if errno == unix.ENOENT && !strings.Contains(e.Path, "/") {
		return e.Path + ": command not found"
	}
	text := errno.Error()
	return e.Path + ": " + strings.ToUpper(text[:1]) + text[1:]
}
func (e *ExecError) Unwrap() error { return e.Err }

// Platforms are the platforms Run can use, by name.
var Platforms = map[string]func(stub.Confinement) (platform.Platform, error){
	"systrap": func(c stub.Confinement) (platform.Platform, error) { return systrap.NewConfined(c) },
	"ptrace":  func(c stub.Confinement) (platform.Platform, error) { return ptrace.NewConfined(c) },
}

// Run runs cfg.Argv in a new sandbox and returns how it ended. An error
// means the command could not be started; it wraps the errno execve would
// have returned (ENOENT, EACCES, ENOEXEC...).
func Run(cfg Config) (kernel.ExitStatus, error) {
	s, err := Boot(cfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer s.Close()
	s.Start()
	return s.Wait(), nil
}

// Sandbox is a sandbox whose first process is created (Boot) and may run
// (Start). Its kernel and processes are what the control server (package
// control) serves.
type Sandbox struct {
	K    *kernel.Kernel
	Init *kernel.Task
	root *Root
	p    platform.Platform
	tty  *kernel.TTY
	cfg  Config
	// tracer is --strace's, nil if off.
	tracer *strace.Tracer
	// started is closed by Start.
	started chan struct{}
	once    sync.Once
	// vdso is the sandbox's vDSO parameters page.
	vdso *clocks.Page
}

// Boot assembles a sandbox and creates its first process (cfg.Argv),
// blocked until Start: what an OCI runtime's create leaves. An error
// wrapping an *ExecError means the command could not be started.
func Boot(cfg Config) (*Sandbox, error) {
	newPlatform, ok := Platforms[cfg.Platform]
	if !ok {
		return nil, fmt.Errorf("--platform=%s: unknown platform (have %s)", cfg.Platform, PlatformNames())
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The mount sources and the working directory's, until the root
	// file system takes them.
	release := func() {
		for _, m := range cfg.FS.Mounts {
			if m.Source != nil {
				m.Source.Close()
			}
		}
		if cfg.CwdSource != nil {
			cfg.CwdSource.Close()
		}
	}
	conf := stub.DefaultConfinement()
	if cfg.Confinement != nil {
		conf = *cfg.Confinement
	}
	// The sandbox's monotonic and boot-time clocks start now, in the
	// sentry and (in their time namespace) in the stubs alike.
	var clk clocks.Offsets
	if conf.Namespaces {
		var err error
		if clk, err = clocks.Boot(); err != nil {
			return nil, err
		}
		conf.MonotonicOffset, conf.BoottimeOffset = clk.Monotonic, clk.Boottime
	}
	// The sandbox's vDSO reads its clocks from this page.
	page, err := clocks.NewPage(clk)
	if err != nil {
		release()
		if cfg.RootFile != nil {
			cfg.RootFile.Close()
		}
		return nil, err
	}
	conf.VDSOParams = page.File()
	p, err := newPlatform(conf)
	if pp, ok := p.(interface{ SetPatching(bool) }); ok && err == nil && cfg.NoPatch {
		pp.SetPatching(false)
	}
	if err != nil {
		page.Close()
		release()
		if cfg.RootFile != nil {
			cfg.RootFile.Close()
		}
		return nil, fmt.Errorf("starting the %s platform: %w", cfg.Platform, err)
	}
	s := &Sandbox{p: p, cfg: cfg, started: make(chan struct{}), vdso: page}
	if err := s.boot(clk, release); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) boot(clk clocks.Offsets, release func()) error {
	cfg, p := s.cfg, s.p
	if cfg.Lockdown != nil {
		loader.ReadHostAuxv()
		if err := cfg.Lockdown(cfg.Platform); err != nil {
			release()
			return err
		}
	}
	root, err := newRoot(cfg.Root, cfg.RootFile, cfg.FS)
	if err != nil {
		return err
	}
	s.root = root
	table, err := linux.NewTable()
	if err != nil {
		return err
	}
	k := kernel.New(p, root.VFS, table, cfg.Log)
	s.K = k
	k.Clocks = clk
	if clk != (clocks.Offsets{}) {
		// The sandbox's machine booted when its boot-time clock read 0
		// (/proc/uptime, sysinfo, btime agree with it).
		k.Started = k.Started.Add(-clocks.BootDelay)
	}
	k.SetTaskLimit(cfg.PidsLimit)
	if cfg.Hostname != "" {
		k.Hostname = cfg.Hostname
	}
	k.Hooks = cfg.Hooks
	net := cfg.Net
	if net.Log == nil {
		net.Log = cfg.Log
	}
	if net.Host {
		k.HostNet = hostinet.NewStack(netfwd.NewClient(net.Forwarder, net.Log), net.Log)
		net.Forwarder = nil
	}
	if err := k.Net.Configure(net); err != nil {
		return fmt.Errorf("the sandbox's network: %w", err)
	}
	if cfg.Strace != nil {
		opts := strace.Options{Timing: cfg.StraceTiming, Summary: cfg.StraceSummary}
		if cfg.StraceFilter != "" {
			if opts.Filter, err = strace.ParseFilter(cfg.StraceFilter, table); err != nil {
				return fmt.Errorf("--strace-filter=%s: %w", cfg.StraceFilter, err)
			}
		}
		s.tracer = strace.New(cfg.Strace, table, opts)
		k.SetStrace(s.tracer)
	}
	// The memory account exists before the kernel's file systems, which
	// show it (/proc/meminfo, /sys/devices/system/node) and set it
	// (/proc/sys/vm).
	k.Memory = usage.NewMemory(cfg.MemoryLimit)
	procFS, err := root.mountKernelFS(k)
	if err != nil {
		if cfg.CwdSource != nil {
			cfg.CwdSource.Close()
		}
		return err
	}
	if err := root.enterCwd(cfg.Cwd, cfg.CallerCwd, cfg.CwdSource); err != nil {
		return err
	}
	if err := root.publishMounts(procFS); err != nil {
		return err
	}
	ttyFD := terminalFD()
	if ttyFD >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(ttyFD, &st); err != nil {
			return fmt.Errorf("the terminal on descriptor %d: %w", ttyFD, err)
		}
		var tty *kernel.TTY
		tty = k.NewTerminal(st.Rdev, func(flags int) (vfs.FileImpl, error) { return host.ReopenTerminal(ttyFD, tty, flags) })
		s.tty = tty
	}
	fds, err := root.StdioTable(s.tty, ttyFD, [3]int{0, 1, 2})
	if err != nil {
		return err
	}
	t, err := s.newProcess(Process{Argv: cfg.Argv, Env: cfg.Env, User: cfg.User, Rlimits: cfg.Rlimits}, fds, root.FSContext)
	if err != nil {
		return err
	}
	s.Init = t
	if s.tty != nil {
		s.tty.SetControlling(t.TG)
	}
	return nil
}

// Process is a process to create in the sandbox.
type Process struct {
	Argv []string
	Env  []string
	Cwd  string // "" is the file system context's
	User User
	// Rlimits are set on the process before it starts.
	Rlimits []Rlimit `json:",omitempty"`
}

// Rlimit is one resource limit.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// User is a process's identity in the sandbox; the zero value is root
// with every capability.
type User struct {
	UID, GID uint32
	Groups   []uint32
	// Caps, when set, are the process's capability sets (bounding,
	// effective, permitted, inheritable, ambient bitmasks) instead of all
	// of them.
	Caps *Caps
	// NoNewPrivs is prctl(PR_SET_NO_NEW_PRIVS) set.
	NoNewPrivs bool
}

// Caps are capability sets as bitmasks of capability numbers.
type Caps struct{ Effective, Permitted, Inheritable, Bounding, Ambient uint64 }

// newProcess loads p.Argv into a new process with descriptor table fds
// and file system context fsc; the process is created, not started.
func (s *Sandbox) newProcess(p Process, fds *vfs.FDTable, fsc *vfs.FSContext) (*kernel.Task, error) {
	if len(p.Argv) == 0 {
		fds.Release()
		return nil, &ExecError{Path: "", Err: unix.ENOENT}
	}
	if p.Cwd != "" {
		fsc = fsc.Fork()
		if err := s.root.VFS.Chdir(context.Background(), vfs.KernelCreds(), fsc, p.Cwd); err != nil {
			fds.Release()
			return nil, fmt.Errorf("cwd %s: %w", p.Cwd, err)
		}
	}
	exe, err := lookPath(s.root, p.Argv[0], p.Env)
	if err != nil {
		fds.Release()
		return nil, &ExecError{Path: p.Argv[0], Err: err}
	}
	as, err := s.p.NewAddressSpace()
	if err != nil {
		fds.Release()
		return nil, fmt.Errorf("creating the address space: %w", err)
	}
	m := mm.New(as, s.K.Memory)
	m.DeferMappings()
	res, err := loader.Load(m, s.root.OpenerIn(fsc), exe, p.Argv, p.Env)
	if err == nil {
		err = m.FlushMappings()
	}
	if err != nil {
		if res.ExeRelease != nil {
			res.ExeRelease()
		}
		m.Release()
		fds.Release()
		return nil, &ExecError{Path: p.Argv[0], Err: err}
	}
	t := s.K.NewProcess(m, fds, fsc)
	t.Regs = res.Regs
	t.SetExe(res)
	t.SetName(kernel.ExecName(exe))
	if s.tracer != nil {
		s.tracer.Exec(t, exe, p.Argv, p.Env)
	}
	for _, r := range p.Rlimits {
		if _, err := t.TG.Rlimit(r.Resource, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}, true); err != nil {
			t.TG.Kill(int(unix.SIGKILL))
			t.Start()
			return nil, fmt.Errorf("rlimit %d: %w", r.Resource, err)
		}
	}
	if err := setUser(t, p.User); err != nil {
		t.TG.Kill(int(unix.SIGKILL))
		t.Start()
		return nil, err
	}
	return t, nil
}

// setUser gives t the identity u, as runc sets the container process's
// before it executes it.
func setUser(t *kernel.Task, u User) error {
	if len(u.Groups) > 0 {
		if err := t.SetGroups(u.Groups); err != nil {
			return fmt.Errorf("additional groups %v: %w", u.Groups, err)
		}
	}
	if u.GID != 0 {
		if err := t.SetRESGID(u.GID, u.GID, u.GID); err != nil {
			return fmt.Errorf("gid %d: %w", u.GID, err)
		}
	}
	if u.UID != 0 {
		if err := t.SetRESUID(u.UID, u.UID, u.UID); err != nil {
			return fmt.Errorf("uid %d: %w", u.UID, err)
		}
	}
	if u.Caps != nil {
		// After the identity change, which would clear them: runc keeps
		// them through it (PR_SET_KEEPCAPS) and sets them after.
		t.AssignCaps(u.Caps.Effective, u.Caps.Permitted, u.Caps.Inheritable, u.Caps.Bounding, u.Caps.Ambient)
	}
	// Then runc execs the program, which applies execve's rules: a user
	// other than root keeps only its ambient capabilities.
	t.ExecCaps()
	if u.NoNewPrivs {
		t.SetNoNewPrivs()
	}
	return nil
}

// Start starts the first process; later calls do nothing.
func (s *Sandbox) Start() {
	s.once.Do(func() {
		s.Init.Start()
		close(s.started)
	})
}

// Started returns a channel closed once Start has run.
func (s *Sandbox) Started() <-chan struct{} { return s.started }

// Wait waits for the first process to end, forwarding the signals the
// sentry gets meanwhile, and ends every other.
func (s *Sandbox) Wait() kernel.ExitStatus {
	stop := forwardSignals(s.Init.TG, s.tty)
	<-s.started
	status := s.Init.TG.Wait()
	stop()
	s.K.KillAll()
	if s.tracer != nil {
		s.tracer.Finish()
	}
	return status
}

// Close releases the platform and the root's descriptor (whether or not
// the root file system took it).
func (s *Sandbox) Close() {
	s.p.Close()
	s.vdso.Close()
	if s.cfg.RootFile != nil {
		s.cfg.RootFile.Close()
	}
}

// Exec creates and starts a new process in the running sandbox, with the
// host descriptors stdio as its 0, 1 and 2 (-1: closed), as runsc exec
// does: its parent is none (PPID 0), and it starts in the root's working
// directory unless p.Cwd says otherwise.
func (s *Sandbox) Exec(p Process, stdio [3]int) (*kernel.ThreadGroup, error) {
	fds, err := s.root.StdioTable(nil, -1, stdio)
	if err != nil {
		return nil, err
	}
	t, err := s.newProcess(p, fds, s.root.FSContext.Fork())
	if err != nil {
		return nil, err
	}
	t.Start()
	return t.TG, nil
}

// forwardSignals delivers the signals that reach the sentry (from its
// terminal directly, from the caller's shell through the runsc-lite
// process: launch.Sentry.Wait) to the sandbox, as runsc does for a
// container with a terminal: the terminal's (Ctrl-C, Ctrl-\, Ctrl-Z, a
// resize) go to its foreground process group, SIGTERM and SIGHUP to init.
// Without a terminal, SIGINT and SIGQUIT go to init too, and SIGTSTP stops
// runsc-lite itself (which sends the sentry SIGSTOP). With one, it never
// does: the sandbox's jobs stop, not the sentry.
// It also keeps a timer pending: tasks that all wait for each other forever
// are the application's business, and must not look like a deadlock of the
// sentry to the Go runtime, which would end the process.
func forwardSignals(init *kernel.ThreadGroup, tty *kernel.TTY) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	if tty != nil {
		signal.Notify(ch, unix.SIGTSTP, unix.SIGWINCH)
	}
	keepalive := time.NewTicker(time.Hour)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				sig := s.(unix.Signal)
				switch sig {
				case unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGWINCH:
					if tty != nil && tty.SignalForeground(int(sig)) {
						continue
					}
				}
				if sig != unix.SIGTSTP && sig != unix.SIGWINCH {
					init.SendSignal(kernel.NewSigInfo(int32(sig), 0, 0, 0))
				}
			case <-keepalive.C:
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		keepalive.Stop()
		close(done)
	}
}

// PlatformNames lists the platforms' names.
func PlatformNames() string {
	var names []string
	for n := range Platforms {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// lookPath finds name as execvp does: as given if it has a slash, else in
// the directories of PATH (or the default PATH).
func lookPath(root *Root, name string, env []string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty command name: %w", unix.ENOENT)
	}
	if strings.Contains(name, "/") {
		// execve says EACCES for a directory; a shell says what it is.
		if root.IsDir(name) {
			return "", unix.EISDIR
		}
		return name, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		err := root.CheckExecutable(p)
		if err == nil {
			return p, nil
		}
		// A file that is there but not executable; a directory of PATH
		// the sandbox's host identity may not search holds nothing it
		// could run, as for a shell.
		if errors.Is(err, unix.EACCES) && denied == nil && root.Exists(p) {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", fmt.Errorf("command not found: %w", unix.ENOENT)
}
