// Package sandbox assembles a sandbox: a platform, a kernel with its syscall
// table, a root file system, and the first process, which it runs to the
// end. The runsc-lite command is a thin layer of flags over Run.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/platform/ptrace"
	"runsc-lite/platform/systrap"
	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
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
	Log      *slog.Logger
	// MemoryLimit is the sandbox's memory in bytes (package usage); 0 is
	// half of the host's RAM.
	MemoryLimit uint64
	// PidsLimit bounds the sandbox's tasks; 0 is kernel.DefaultTaskLimit.
	PidsLimit int
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
	newPlatform, ok := Platforms[cfg.Platform]
	if !ok {
		return kernel.ExitStatus{}, fmt.Errorf("--platform=%s: unknown platform (have %s)", cfg.Platform, PlatformNames())
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.RootFile != nil {
		defer cfg.RootFile.Close() // whether or not the root file system took it
	}
	sources := cfg.FS.Mounts
	cwdSource := cfg.CwdSource
	defer func() {
		// Those no mount took (Run failed before the root was built).
		for _, m := range sources {
			if m.Source != nil {
				m.Source.Close()
			}
		}
		if cwdSource != nil {
			cwdSource.Close()
		}
	}()
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
			return kernel.ExitStatus{}, err
		}
		conf.MonotonicOffset, conf.BoottimeOffset = clk.Monotonic, clk.Boottime
	}
	p, err := newPlatform(conf)
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("starting the %s platform: %w", cfg.Platform, err)
	}
	defer p.Close()
	if cfg.Lockdown != nil {
		loader.ReadHostAuxv()
		if err := cfg.Lockdown(cfg.Platform); err != nil {
			return kernel.ExitStatus{}, err
		}
	}

	rootFile := cfg.RootFile
	cfg.RootFile, sources = nil, nil
	root, err := newRoot(cfg.Root, rootFile, cfg.FS)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	table, err := linux.NewTable()
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	k := kernel.New(p, root.VFS, table, cfg.Log)
	k.Clocks = clk
	k.SetTaskLimit(cfg.PidsLimit)
	if cfg.Strace != nil {
		k.Strace = strace.New(cfg.Strace)
	}
	procFS, err := root.mountKernelFS(k)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	cwdSource = nil
	if err := root.enterCwd(cfg.Cwd, cfg.CallerCwd, cfg.CwdSource); err != nil {
		return kernel.ExitStatus{}, err
	}
	if err := root.publishMounts(procFS); err != nil {
		return kernel.ExitStatus{}, err
	}
	exe, err := lookPath(root, cfg.Argv[0], cfg.Env)
	if err != nil {
		return kernel.ExitStatus{}, &ExecError{Path: cfg.Argv[0], Err: err}
	}
	as, err := p.NewAddressSpace()
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("creating the address space: %w", err)
	}
	k.Memory = usage.NewMemory(cfg.MemoryLimit)
	m := mm.New(as, k.Memory)
	res, err := loader.Load(m, root.Opener(), exe, cfg.Argv, cfg.Env)
	if err != nil {
		m.Release()
		return kernel.ExitStatus{}, &ExecError{Path: cfg.Argv[0], Err: err}
	}
	var tty *kernel.TTY
	ttyFD := terminalFD()
	if ttyFD >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(ttyFD, &st); err != nil {
			m.Release()
			return kernel.ExitStatus{}, fmt.Errorf("the terminal on descriptor %d: %w", ttyFD, err)
		}
		tty = k.NewTerminal(st.Rdev, func(flags int) (vfs.FileImpl, error) { return host.ReopenTerminal(ttyFD, tty, flags) })
	}
	fds, err := root.StdioTable(tty, ttyFD)
	if err != nil {
		m.Release()
		return kernel.ExitStatus{}, err
	}
	t := k.NewProcess(m, fds, root.FSContext)
	t.Regs = res.Regs
	t.SetExe(res.Exe)
	t.SetName(comm(res.Exe))
	if tty != nil {
		tty.SetControlling(t.TG)
	}
	t.Start()
	stop := forwardSignals(t.TG, tty)
	status := t.TG.Wait()
	stop()
	k.KillAll()
	return status, nil
}

// forwardSignals delivers the signals the runsc-lite process gets to the
// sandbox, as runsc does for a container with a terminal: the terminal's
// (Ctrl-C, Ctrl-\, Ctrl-Z, a resize) go to its foreground process group,
// SIGTERM and SIGHUP to init. Without a terminal, SIGINT and SIGQUIT go to
// init too, and SIGTSTP keeps stopping runsc-lite itself. With one, it
// never does: the sandbox's jobs stop, not the sentry.
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

// comm is the first 15 bytes of the executable's base name.
func comm(exe string) string {
	b := path.Base(exe)
	if len(b) > 15 {
		b = b[:15]
	}
	return b
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
