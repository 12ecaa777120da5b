// Package monitor watches the syscalls of a program that runs on the host
// kernel, not in the sentry, as Google's sandbox2 does with its two
// monitors: one on seccomp user notification (SECCOMP_RET_USER_NOTIF), one
// on ptrace, which the filter wakes only for the policy's syscalls
// (SECCOMP_RET_TRACE). Both apply the hooks of package interpose (allow, change the
// arguments where the monitor can, deny with an errno, or answer the call)
// and show the calls with the --strace decoder (package strace).
//
// A monitor is for studying syscalls, not for isolating a program. What it
// cannot do, honestly:
//   - The program runs on the host kernel with the caller's privileges;
//     only the syscalls the policy names stop, and everything else
//     (including what those calls do once allowed) happens unchecked.
//   - Memory arguments are time-of-check/time-of-use races: a hook reads a
//     path or a buffer, and another thread of the program (or a process
//     sharing the memory) may change it before the kernel reads it again.
//     A hook that decides on memory contents decides on a copy.
//   - unotify cannot change arguments (the kernel runs the call as made,
//     or the supervisor answers it), nor see the result of a call it let
//     the kernel run: its after-hooks get Result.Unknown. A hook that
//     changes arguments under unotify fails the call with ENOSYS.
//   - Both monitors start the program from a launcher (launcher.go) that
//     installs their seccomp filter with no_new_privs, so set-user-ID
//     programs do not gain privileges; the program's first execve is
//     already watched.
//   - A task's identity (pid, credentials, executable) is read from /proc
//     while the call waits; under unotify the notification's validity is
//     checked after each read of the task's memory or identity.
//
// Concurrency: the unotify supervisor handles each notification of the
// running program on a goroutine of its own (at most 64 at once), so hooks
// run concurrently for the program's threads and must be safe for that;
// the ptrace monitor is one tracer thread, and runs hooks one at a time.
// Under ptrace the program is seized (PTRACE_SEIZE): a group-stop
// (SIGSTOP, SIGTSTP...) is left stopped with PTRACE_LISTEN until SIGCONT,
// as under strace.
package monitor

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/platform"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/strace"
	"runsc-lite/sentry/syscalls/linux"
)

// Config describes one monitored run.
type Config struct {
	// Monitor is "unotify" or "ptrace".
	Monitor string
	// Argv is the command; Argv[0] is looked up in PATH.
	Argv []string
	Env  []string
	Dir  string
	// Stdin, Stdout and Stderr are the program's; nil is /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Hooks are applied to the syscalls they name (all, with an All hook).
	Hooks *interpose.Hooks
	// Strace, when set, receives a strace line for every syscall the
	// monitor stops: those of Watch, or all if Watch is empty.
	Strace io.Writer
	// Watch are more syscalls to stop (for Strace) than the hooks name.
	Watch []uintptr
	Log   *slog.Logger
}

// Monitors are the monitors by name.
var Monitors = map[string]func(Config) (kernel.ExitStatus, error){
	"unotify": runUnotify,
	"ptrace":  runPtrace,
}

// Run runs cfg.Argv under the monitor cfg.Monitor and returns how it
// ended. An error means it could not be started.
func Run(cfg Config) (kernel.ExitStatus, error) {
	run, ok := Monitors[cfg.Monitor]
	if !ok {
		return kernel.ExitStatus{}, fmt.Errorf("--monitor=%s: unknown monitor (have ptrace, unotify)", cfg.Monitor)
	}
	if len(cfg.Argv) == 0 {
		return kernel.ExitStatus{}, fmt.Errorf("no command to run")
	}
	if cfg.Hooks == nil {
		cfg.Hooks = &interpose.Hooks{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return run(cfg)
}

// policy returns the syscalls a monitor must stop: the hooks', Watch, and
// all of them when a hook is for All or strace shows every call.
func (cfg *Config) policy() (nrs []uintptr, all bool) {
	nrs, all = cfg.Hooks.Numbers()
	nrs = append(nrs, cfg.Watch...)
	if cfg.Strace != nil && len(cfg.Watch) == 0 {
		all = true
	}
	return nrs, all
}

// watched reports whether syscall nr stops under cfg.
type watchSet struct {
	nrs map[uintptr]bool
	all bool
}

func newWatchSet(nrs []uintptr, all bool) watchSet {
	w := watchSet{nrs: map[uintptr]bool{}, all: all}
	for _, nr := range nrs {
		w.nrs[nr] = true
	}
	return w
}

func (w watchSet) has(nr uintptr) bool { return w.all || w.nrs[nr] }

// monitorState is what both monitors share: the table, the decoder and
// the strace output.
type monitorState struct {
	outMu sync.Mutex // serializes lines written to cfg.Strace
	cfg   Config
	table *kernel.SyscallTable
	dec   strace.Decoder
	watch watchSet
}

func newMonitorState(cfg Config) (*monitorState, error) {
	table, err := linux.NewTable()
	if err != nil {
		return nil, err
	}
	nrs, all := cfg.policy()
	return &monitorState{cfg: cfg, table: table, dec: strace.Decoder{Table: table}, watch: newWatchSet(nrs, all)}, nil
}

// line writes one strace line for task tid.
func (m *monitorState) line(tid int, s string) {
	if m.cfg.Strace != nil {
		m.outMu.Lock()
		fmt.Fprintf(m.cfg.Strace, "[pid %5d] %s\n", tid, s)
		m.outMu.Unlock()
	}
}

// callLine is a whole strace line: the entry part, the rest, the result.
func callLine(enter, rest, result string) string {
	l := enter + rest
	return l + strace.Equals(len(l)) + result
}

// hostTask reads a host task's identity from /proc.
func hostTask(tid int) (interpose.Task, error) {
	t := interpose.Task{TID: tid}
	f, err := os.Open("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return t, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		switch {
		case k == "Tgid" && len(fields) == 1:
			t.PID, _ = strconv.Atoi(fields[0])
		case k == "Uid" && len(fields) >= 2:
			t.UID, t.EUID = parseID(fields[0]), parseID(fields[1])
		case k == "Gid" && len(fields) >= 2:
			t.GID, t.EGID = parseID(fields[0]), parseID(fields[1])
		}
	}
	t.Exe, _ = os.Readlink("/proc/" + strconv.Itoa(tid) + "/exe")
	return t, sc.Err()
}

func parseID(s string) uint32 {
	v, _ := strconv.ParseUint(s, 10, 32)
	return uint32(v)
}

// hostMemory is a host task's memory, through process_vm_readv/writev;
// valid, when set, says whether what was read is still the task's.
type hostMemory struct {
	tid   int
	valid func() bool
}

func (m hostMemory) CopyIn(addr uintptr, dst []byte) error {
	n, err := platform.ReadProcessMemory(m.tid, platform.Range{}, dst, addr)
	return m.check(n, len(dst), err)
}

func (m hostMemory) CopyOut(addr uintptr, src []byte) error {
	n, err := platform.WriteProcessMemory(m.tid, platform.Range{}, src, addr)
	return m.check(n, len(src), err)
}

func (m hostMemory) check(n, want int, err error) error {
	switch {
	case err != nil || n != want:
		return errFault
	case m.valid != nil && !m.valid():
		return errGone
	}
	return nil
}

var (
	errFault = unix.EFAULT // as the kernel would: a range not mapped
	errGone  = unix.ESRCH  // the task is no longer in the notified call
)
