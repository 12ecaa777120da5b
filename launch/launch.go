// Package launch starts the sentry as a child of the runsc-lite command, in
// namespaces of its own, and hands it its configuration: the boundary
// between the parent, which holds whatever host privileges the caller has,
// and the sentry, which gives them all up.
//
// Go cannot create a user namespace from a process that already has
// threads, so the sentry is a re-execution of /proc/self/exe (argv[0] is
// Arg0, then its identity and its stage) cloned into new user, mount, IPC,
// UTS, PID, cgroup and (unless the network is the host's) network
// namespaces, with the parent-death signal SIGKILL, and stdin, stdout and
// stderr inherited. It sets itself up as root of those namespaces, gives
// up that root (package confine), then reads its configuration. Descriptor
// 3 is a pipe that carries the configuration (a length and JSON) and then
// stays open as a lifeline: the sentry, which the kernel stops protecting
// with the parent-death signal the moment it changes identity, sees the
// parent die as end of file. Descriptors 4 and up are Options.Files, in
// order.
//
// Sessions: without a terminal on its stdio the sentry leads a session of
// its own, as runsc's sandbox process does. That is for the host's
// scheduler: with autogroups (on by default) a session is one group that
// shares the CPUs fairly with the others, so the sandbox's many host
// threads (the sentry's and every stub's) neither crowd out the caller's
// session nor wait behind its busy processes one thread at a time (under
// two busy loops on this project's 2-core VM, a bash fork+exec loop took
// 3.1-3.5 s in the caller's session and 1.5-2.2 s in its own; idle, 1.2
// s). This process passes on the signals a shell sends its job (Wait).
// With a terminal the sentry stays in the caller's session and process
// group, where the host's job control applies to it as to any program on
// that terminal: the terminal's signals reach it directly, and a
// runsc-lite in the background that reads the terminal stops (SIGTTIN)
// instead of taking the shell's input.
//
// Identity maps:
//   - Started by root: the sentry's user namespace maps every host id to
//     itself (0 0 4294967295), so stat of host files shows their real
//     owners, and the sentry ends as Options.HostUID and HostGID (default
//     65534, which owns no file): host files are then read with that
//     identity's rights. HostUID 0 lets the sandbox read whatever root can.
//     A root file system the user gives is opened as an idmapped mount
//     on which root's files are that identity's (imageroot.go).
//   - Started by anyone else: the namespace maps only the caller, to 0
//     (the only id an unprivileged process may map), with setgroups denied;
//     the sentry stays that id, with no capabilities.
//
// The stub processes run as the same host identity (Child.StubUID, GID),
// which the sentry must map for its forkserver before it gives up
// CAP_SETUID.
package launch

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Arg0 is the argv[0] of a sentry: the runsc-lite command runs as the
// sentry when it is called so.
const Arg0 = "runsc-lite-sentry"

// Nobody is the default host identity of a sentry started by root.
const Nobody = 65534

// configFD is the lifeline and configuration pipe in the sentry; Files
// follow it.
const configFD = 3

// maxConfig bounds the configuration a sentry reads.
const maxConfig = 64 << 20

// Options says how to start a sentry.
type Options struct {
	// HostUID and HostGID are the host identity the sentry ends as, for a
	// caller that is root; a caller that is not may only name itself.
	HostUID, HostGID int
	// HostNetwork keeps the host's network namespace.
	HostNetwork bool
	// Files are passed as descriptors 4, 5, ...: Child.Files in the
	// sentry.
	Files []*os.File
	// Config is sent to the sentry as JSON: Receive decodes it.
	Config any
	// Stdin, Stdout and Stderr are the sentry's (nil: the caller's).
	Stdin, Stdout, Stderr *os.File
}

// envelope is what travels on the configuration pipe.
type envelope struct {
	Config json.RawMessage
	NFiles int
}

// Identity is what the sentry becomes in its user namespace once set up,
// and who its stub processes are there.
type Identity struct {
	UID, GID int
	// Setgroups: the namespace allows setgroups (started by root), so the
	// sentry can drop its supplementary groups.
	Setgroups bool
}

// The sentry's arguments: Arg0, its identity, and its stage, StageEnter:
// it sets itself up as root of its namespaces and becomes the identity
// (package confine: Enter) before it reads its configuration.
const StageEnter = "enter"

func (id Identity) arg() string { return fmt.Sprintf("%d:%d:%t", id.UID, id.GID, id.Setgroups) }

// Args returns the sentry's identity and stage from its arguments.
func Args() (Identity, string, error) {
	var id Identity
	if len(os.Args) != 3 {
		return id, "", fmt.Errorf("the sentry takes 2 arguments, not %d", len(os.Args)-1)
	}
	if _, err := fmt.Sscanf(os.Args[1], "%d:%d:%t", &id.UID, &id.GID, &id.Setgroups); err != nil {
		return id, "", fmt.Errorf("the sentry's identity %q: %w", os.Args[1], err)
	}
	return id, os.Args[2], nil
}

// Sentry is a running sentry.
type Sentry struct {
	cmd      *exec.Cmd
	lifeline *os.File
	// terminal: one of the sentry's stdin, stdout and stderr is a
	// terminal, which the sentry then gives the sandbox; the sentry is
	// then in this process's session and process group.
	terminal bool
}

// anyTerminal reports whether one of files, the sentry's stdio, is a
// terminal.
func anyTerminal(files ...*os.File) bool {
	for _, f := range files {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			return true
		}
	}
	return false
}

// CheckIdentity reports whether a caller may give a sentry host identity
// uid:gid: root may choose any, others only their own.
func CheckIdentity(uid, gid int) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if uid != os.Geteuid() || gid != os.Getegid() {
		return fmt.Errorf("only root can run the sandbox as another host identity than %d:%d", os.Geteuid(), os.Getegid())
	}
	return nil
}

// Start starts a sentry. It locks the calling goroutine to its thread for
// good: the kernel sends the parent-death signal when the thread that
// started the child ends, and Wait must be called on the same goroutine.
func Start(o Options) (*Sentry, error) {
	if err := CheckIdentity(o.HostUID, o.HostGID); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(o.Config)
	if err != nil {
		return nil, fmt.Errorf("encoding the sentry's configuration: %w", err)
	}
	env := envelope{Config: cfg, NFiles: len(o.Files)}
	var id Identity
	attr := &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS |
			unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: 0, Gid: 0},
	}
	if !o.HostNetwork {
		attr.Cloneflags |= unix.CLONE_NEWNET
	}
	if os.Geteuid() == 0 {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		attr.GidMappingsEnableSetgroups = true
		attr.Credential.Groups = []uint32{} // none, not root's
		id = Identity{UID: o.HostUID, GID: o.HostGID, Setgroups: true}
	} else {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.Credential.NoSetGroups = true
		id = Identity{UID: 0, GID: 0}
	}
	msg, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding the sentry's configuration: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("the sentry's configuration pipe: %w", err)
	}
	defer r.Close()
	pick := func(f, def *os.File) *os.File {
		if f != nil {
			return f
		}
		return def
	}
	stdin, stdout, stderr := pick(o.Stdin, os.Stdin), pick(o.Stdout, os.Stdout), pick(o.Stderr, os.Stderr)
	terminal := anyTerminal(stdin, stdout, stderr)
	attr.Setsid = !terminal
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{Arg0, id.arg(), StageEnter},
		Env:         os.Environ(),
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  append([]*os.File{r}, o.Files...),
		SysProcAttr: attr,
	}
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		w.Close()
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("starting the sentry in namespaces of its own (are user namespaces allowed?): %w", err)
		}
		return nil, fmt.Errorf("starting the sentry: %w", err)
	}
	s := &Sentry{cmd: cmd, lifeline: w, terminal: terminal}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(msg)))
	if _, err := w.Write(append(n[:], msg...)); err != nil {
		// The sentry died before it read: Wait reports how.
		w.Close()
		s.lifeline = nil
	}
	return s, nil
}

// Pid is the sentry's pid.
func (s *Sentry) Pid() int { return s.cmd.Process.Pid }

// Wait waits for the sentry to end, meanwhile passing on the signals
// this process gets. With a terminal, the sentry gets the terminal's
// SIGINT, SIGQUIT, SIGTSTP and SIGWINCH itself (it hands them to the
// sandbox: sandbox.forwardSignals), so this process ignores the first
// three, and passes SIGTERM and SIGHUP on. Without one, the sentry, in a
// session of its own, gets nothing from the caller's shell: SIGINT,
// SIGQUIT, SIGTERM, SIGHUP and SIGCONT are passed on, and SIGTSTP stops
// the sentry (SIGSTOP) and then this process, so that the shell sees the
// job stop. It returns the sentry's exit code, or the signal that killed
// it.
func (s *Sentry) Wait() (code int, sig unix.Signal, err error) {
	ch := make(chan os.Signal, 8)
	if s.terminal {
		signal.Ignore(unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP)
		signal.Notify(ch, unix.SIGTERM, unix.SIGHUP)
	} else {
		signal.Notify(ch, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGHUP, unix.SIGTSTP, unix.SIGCONT)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sg := <-ch:
				s.pass(sg.(unix.Signal))
			case <-done:
				return
			}
		}
	}()
	err = s.cmd.Wait()
	signal.Stop(ch)
	signal.Ignore(unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP) // the clean-up after the sandbox is not interrupted
	close(done)
	if s.lifeline != nil {
		s.lifeline.Close()
	}
	st, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, 0, fmt.Errorf("waiting for the sentry: %w", err)
	}
	if !ok {
		return 0, 0, errors.New("waiting for the sentry: no wait status")
	}
	if st.Signaled() {
		return 0, unix.Signal(st.Signal()), nil
	}
	return st.ExitStatus(), 0, nil
}

// pass hands sig, which this process got, on to the sentry (Wait).
func (s *Sentry) pass(sig unix.Signal) {
	p := s.cmd.Process
	if sig == unix.SIGTSTP {
		p.Signal(unix.SIGSTOP)
		unix.Kill(os.Getpid(), unix.SIGSTOP)
		return
	}
	p.Signal(sig)
}

// Child is the sentry's side: its configuration's files and its
// lifeline.
type Child struct {
	// Files are Options.Files.
	Files    []*os.File
	lifeline *os.File
}

// IsSentry reports whether this process is a sentry started by Start.
func IsSentry() bool { return len(os.Args) > 0 && os.Args[0] == Arg0 }

// Receive reads the configuration the parent sent into cfg.
func Receive(cfg any) (*Child, error) {
	pipe := os.NewFile(configFD, "sentry-config")
	var n [4]byte
	if _, err := io.ReadFull(pipe, n[:]); err != nil {
		return nil, fmt.Errorf("reading the sentry's configuration: %w", err)
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > maxConfig {
		return nil, fmt.Errorf("the sentry's configuration is %d bytes, more than %d", size, maxConfig)
	}
	msg := make([]byte, size)
	if _, err := io.ReadFull(pipe, msg); err != nil {
		return nil, fmt.Errorf("reading the sentry's configuration: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		return nil, fmt.Errorf("decoding the sentry's configuration: %w", err)
	}
	if err := json.Unmarshal(env.Config, cfg); err != nil {
		return nil, fmt.Errorf("decoding the sentry's configuration: %w", err)
	}
	unix.CloseOnExec(configFD)
	c := &Child{lifeline: pipe}
	for i := 0; i < env.NFiles; i++ {
		fd := configFD + 1 + i
		unix.CloseOnExec(fd)
		c.Files = append(c.Files, os.NewFile(uintptr(fd), fmt.Sprintf("fd-%d", fd)))
	}
	return c, nil
}

// ParentGone reports whether the parent has exited (its end of the
// lifeline is closed). A sentry checks once its parent-death signal is set
// for good, so that a parent that died before is not missed.
func (c *Child) ParentGone() bool {
	fds := []unix.PollFd{{Fd: int32(c.lifeline.Fd()), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}
