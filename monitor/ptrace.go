package monitor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/strace"
)

// The ptrace monitor traces the launcher, then the program and its
// children, from one locked thread (ptrace requires the tracer's calls to
// come from the thread that attached), as sandbox2's ptrace monitor: the
// launcher's seccomp filter stops only the policy's syscalls
// (SECCOMP_RET_TRACE, a PTRACE_EVENT_SECCOMP stop at their entry), and
// the tracer resumes those with PTRACE_SYSCALL to see their exit, every
// other stop with PTRACE_CONT. A call a hook answers is skipped
// (orig_rax = -1) and its result written at the exit stop; changed
// arguments are written to the registers.

// tracee is one traced thread.
type tracee struct {
	fresh     bool            // its first stop, a SIGSTOP, is still to come
	launcher  bool            // a thread of the launcher, gone at its execve: not shown
	inSyscall bool            // stopped at a watched call's entry, its exit to come
	call      *interpose.Call // the watched call in progress, nil if none
	enter     string          // its strace entry part
	start     time.Time
	answer    *interpose.Result // the result a hook gave it, nil if none
}

type ptraceMonitor struct {
	*monitorState
	tracees map[int]*tracee
	pid     int  // the launcher, then the program
	started bool // the launcher's execve was seen
}

func runPtrace(cfg Config) (kernel.ExitStatus, error) {
	m, err := newMonitorState(cfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	type outcome struct {
		st  kernel.ExitStatus
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		p := &ptraceMonitor{monitorState: m, tracees: map[int]*tracee{}}
		st, err := p.run()
		done <- outcome{st, err}
	}()
	o := <-done
	return o.st, o.err
}

func (p *ptraceMonitor) run() (kernel.ExitStatus, error) {
	cfg := p.cfg
	path, err := exec.LookPath(cfg.Argv[0])
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("%s: %w", cfg.Argv[0], unix.ENOENT)
	}
	cmd, err := launcherCommand(cfg, "ptrace", path)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "tracer"), os.NewFile(uintptr(fds[1]), "launcher")
	defer ours.Close()
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	p.pid = cmd.Process.Pid
	// Seized, not attached: group-stops then show as PTRACE_EVENT_STOP
	// and PTRACE_LISTEN keeps them stopped (stopped below), as strace
	// does. The launcher waits on descriptor 3 until the seize is done.
	opts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
		unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_EXITKILL
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(p.pid), 0, uintptr(opts), 0, 0); errno != 0 {
		cmd.Process.Kill()
		cmd.Wait()
		return kernel.ExitStatus{}, fmt.Errorf("PTRACE_SEIZE of the launcher: %w", errno)
	}
	p.tracees[p.pid] = &tracee{launcher: true}
	if _, err := ours.Write([]byte{1}); err != nil {
		cmd.Process.Kill()
	}
	var ws unix.WaitStatus
	var status kernel.ExitStatus
	for {
		tid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			break // ECHILD: every tracee is gone
		}
		switch {
		case ws.Exited() || ws.Signaled():
			p.ended(tid, ws)
			if tid == p.pid {
				status = waitStatusOf(ws)
			}
		case ws.Stopped():
			p.stopped(tid, ws)
		}
	}
	return status, nil
}

func waitStatusOf(ws unix.WaitStatus) kernel.ExitStatus {
	if ws.Signaled() {
		return kernel.ExitStatus{Signal: int(ws.Signal())}
	}
	return kernel.ExitStatus{Code: ws.ExitStatus()}
}

// ended notes the end of tid.
func (p *ptraceMonitor) ended(tid int, ws unix.WaitStatus) {
	t := p.tracees[tid]
	delete(p.tracees, tid)
	if t != nil && t.launcher {
		return
	}
	if t != nil && t.call != nil {
		p.line(tid, callLine(t.enter, ")", "?"))
	}
	p.line(tid, strace.ExitLine(waitStatusOf(ws)))
}

// resume lets tid go on: to its watched call's exit stop if it is in one.
func resume(tid int, t *tracee, sig int) {
	if t != nil && t.inSyscall {
		unix.PtraceSyscall(tid, sig)
		return
	}
	unix.PtraceCont(tid, sig)
}

// stopped handles a stop of tid and resumes it.
func (p *ptraceMonitor) stopped(tid int, ws unix.WaitStatus) {
	t := p.tracees[tid]
	sig := ws.StopSignal()
	event := int(ws) >> 16 // PTRACE_EVENT_*, as the status's high byte has it
	switch {
	case t == nil:
		// A new child's first stop, before its parent's event.
		p.tracees[tid] = &tracee{launcher: !p.started}
		unix.PtraceCont(tid, 0)
	case t.fresh && event == unix.PTRACE_EVENT_STOP:
		// A new child's first stop (seized children stop this way).
		t.fresh = false
		unix.PtraceCont(tid, 0)
	case event == unix.PTRACE_EVENT_STOP && isStopSignal(sig):
		// A group-stop (SIGSTOP, SIGTSTP...): it stays stopped until
		// SIGCONT, which wakes it with another PTRACE_EVENT_STOP.
		ptraceListen(tid)
	case event == unix.PTRACE_EVENT_STOP:
		// Woken from a group-stop, or interrupted: it goes on.
		resume(tid, t, 0)
	case sig == unix.SIGTRAP|0x80:
		// The exit of a watched call (its entry resumed with PTRACE_SYSCALL).
		if t.inSyscall {
			t.inSyscall = false
			p.exit(tid, t)
		}
		unix.PtraceCont(tid, 0)
	case sig == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
		p.enter(tid, t)
		resume(tid, t, 0)
	case sig == unix.SIGTRAP && ws.TrapCause() != 0:
		// fork, clone, vfork, exec events: the children are traced too.
		switch c := ws.TrapCause(); c {
		case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
			if msg, err := unix.PtraceGetEventMsg(tid); err == nil && p.tracees[int(msg)] == nil {
				p.tracees[int(msg)] = &tracee{fresh: true, launcher: !p.started}
			}
		case unix.PTRACE_EVENT_EXEC:
			t.launcher = false
		}
		resume(tid, t, 0)
	default:
		var si linux.SignalInfo
		if err := ptraceSiginfo(tid, &si); err != nil {
			resume(tid, t, 0) // the tracee is gone, or not in a signal-delivery-stop
			return
		}
		if !t.launcher {
			p.line(tid, strace.SignalLine(&si))
		}
		resume(tid, t, int(sig)) // deliver it
	}
}

// isStopSignal reports whether sig stops a process by default.
func isStopSignal(sig unix.Signal) bool {
	return sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU
}

// ptraceListen leaves a group-stopped tid stopped, still reporting to
// the tracer (PTRACE_LISTEN, for seized tracees).
func ptraceListen(tid int) {
	unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
}

// enter handles a watched syscall's entry (a seccomp stop): the
// before-hooks, and what they decided written to the registers.
func (p *ptraceMonitor) enter(tid int, t *tracee) {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return
	}
	nr := uintptr(regs.Orig_rax)
	if !p.started {
		// The launcher's own calls, up to its execve, the program's first.
		if tid != p.pid || nr != unix.SYS_EXECVE {
			return
		}
		p.started = true
	}
	if !p.watch.has(nr) {
		return // execve, always stopped
	}
	task, err := hostTask(tid)
	if err != nil {
		return
	}
	args := [6]uintptr{uintptr(regs.Rdi), uintptr(regs.Rsi), uintptr(regs.Rdx), uintptr(regs.R10), uintptr(regs.R8), uintptr(regs.R9)}
	c := &interpose.Call{Task: task, Nr: nr, Name: p.table.Name(nr), Args: args, Mem: hostMemory{tid: tid}}
	t.call, t.start, t.inSyscall = c, time.Now(), true
	act := p.cfg.Hooks.RunBefore(c)
	if p.cfg.Strace != nil {
		t.enter = p.dec.Enter(nr, c.Args, uintptr(regs.Rsp), c.Mem)
	}
	if v, errno, ok := act.Answered(); ok {
		t.answer = &interpose.Result{Value: v, Errno: errno}
		regs.Orig_rax = ^uint64(0) // skipped: the kernel runs no call
		unix.PtraceSetRegs(tid, &regs)
		return
	}
	if c.Args != args {
		regs.Rdi, regs.Rsi, regs.Rdx = uint64(c.Args[0]), uint64(c.Args[1]), uint64(c.Args[2])
		regs.R10, regs.R8, regs.R9 = uint64(c.Args[3]), uint64(c.Args[4]), uint64(c.Args[5])
		unix.PtraceSetRegs(tid, &regs)
	}
}

// exit handles a watched syscall's exit stop: the after-hooks see the
// result, and an answer or a changed result is written to rax.
func (p *ptraceMonitor) exit(tid int, t *tracee) {
	c := t.call
	t.call = nil
	if c == nil {
		return
	}
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return
	}
	r := interpose.Result{Value: uintptr(regs.Rax), Duration: time.Since(t.start)}
	if rv := int64(regs.Rax); rv < 0 && rv >= -4095 {
		r = interpose.Result{Errno: unix.Errno(-rv), Duration: r.Duration}
	}
	if t.answer != nil {
		r.Value, r.Errno, r.Answered = t.answer.Value, t.answer.Errno, true
		t.answer = nil
	}
	before := r
	p.cfg.Hooks.RunAfter(c, &r)
	if r.Answered || r.Value != before.Value || r.Errno != before.Errno {
		regs.Rax = uint64(r.Value)
		if r.Errno != 0 {
			regs.Rax = uint64(-int64(r.Errno))
		}
		unix.PtraceSetRegs(tid, &regs)
	}
	if p.cfg.Strace != nil {
		rest, result := p.dec.Exit(c.Nr, c.Args, c.Mem, r.Value, r.Errno, false)
		p.line(tid, callLine(t.enter, rest, result))
	}
}
