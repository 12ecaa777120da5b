package monitor

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/strace"
)

// The ptrace monitor traces the program and its children with
// PTRACE_SYSCALL from one locked thread (ptrace requires the tracer's
// calls to come from the thread that attached): it stops at the entry and
// the exit of every syscall and runs hooks on those the policy names. A
// call a hook answers is skipped (orig_rax = -1) and its result written
// at the exit stop; changed arguments are written to the registers.

// tracee is one traced thread.
type tracee struct {
	fresh     bool // its first stop, a SIGSTOP, is still to come
	inSyscall bool
	call      *interpose.Call // the watched call in progress, nil if none
	enter     string          // its strace entry part
	start     time.Time
	answer    *interpose.Result // the result a hook gave it, nil if none
}

type ptraceMonitor struct {
	*monitorState
	tracees map[int]*tracee
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
	cmd := exec.Command(path, cfg.Argv[1:]...)
	cmd.Args[0] = cfg.Argv[0]
	cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Env, cfg.Dir, cfg.Stdin, cfg.Stdout, cfg.Stderr
	cmd.SysProcAttr = &unix.SysProcAttr{Ptrace: true, Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		return kernel.ExitStatus{}, err
	}
	pid := cmd.Process.Pid
	var ws unix.WaitStatus
	// PTRACE_TRACEME's stop after the execve.
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		cmd.Process.Kill()
		return kernel.ExitStatus{}, fmt.Errorf("the program did not stop after its execve: %v (status %#x)", err, ws)
	}
	opts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
		unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL
	if err := unix.PtraceSetOptions(pid, opts); err != nil {
		cmd.Process.Kill()
		return kernel.ExitStatus{}, fmt.Errorf("PTRACE_SETOPTIONS: %w", err)
	}
	p.tracees[pid] = &tracee{}
	if p.watch.has(unix.SYS_EXECVE) {
		// Made before the tracer attached: its envp's address is unknown.
		p.line(pid, strace.ExecLine(path, cfg.Argv, 0, len(cfg.Env)))
	}
	var status kernel.ExitStatus
	unix.PtraceSyscall(pid, 0)
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
			if tid == pid {
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
	if t := p.tracees[tid]; t != nil && t.call != nil {
		p.line(tid, callLine(t.enter, ")", "?"))
	}
	delete(p.tracees, tid)
	p.line(tid, strace.ExitLine(waitStatusOf(ws)))
}

// stopped handles a stop of tid and resumes it.
func (p *ptraceMonitor) stopped(tid int, ws unix.WaitStatus) {
	t := p.tracees[tid]
	sig := ws.StopSignal()
	switch {
	case t == nil:
		// A new child's first stop (before or after its parent's event).
		p.tracees[tid] = &tracee{}
		unix.PtraceSyscall(tid, 0)
	case t.fresh && sig == unix.SIGSTOP:
		t.fresh = false
		unix.PtraceSyscall(tid, 0)
	case sig == unix.SIGTRAP|0x80:
		p.syscallStop(tid, t)
		unix.PtraceSyscall(tid, 0)
	case sig == unix.SIGTRAP && ws.TrapCause() != 0:
		// fork, clone, vfork, exec events: the children are traced too.
		if c := ws.TrapCause(); c == unix.PTRACE_EVENT_FORK || c == unix.PTRACE_EVENT_VFORK || c == unix.PTRACE_EVENT_CLONE {
			if msg, err := unix.PtraceGetEventMsg(tid); err == nil && p.tracees[int(msg)] == nil {
				p.tracees[int(msg)] = &tracee{fresh: true}
			}
		}
		unix.PtraceSyscall(tid, 0)
	default:
		var si linux.SignalInfo
		if err := ptraceSiginfo(tid, &si); err != nil {
			unix.PtraceSyscall(tid, 0) // a group-stop: let it go on
			return
		}
		p.line(tid, strace.SignalLine(&si))
		unix.PtraceSyscall(tid, int(sig)) // deliver it
	}
}

// syscallStop handles a syscall-entry or -exit stop.
func (p *ptraceMonitor) syscallStop(tid int, t *tracee) {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return
	}
	if !t.inSyscall {
		t.inSyscall = true
		p.enter(tid, t, &regs)
		return
	}
	t.inSyscall = false
	c := t.call
	if c == nil {
		return
	}
	t.call = nil
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

// enter handles a syscall-entry stop: the before-hooks, and what they
// decided written to the registers.
func (p *ptraceMonitor) enter(tid int, t *tracee, regs *unix.PtraceRegs) {
	nr := uintptr(regs.Orig_rax)
	if !p.watch.has(nr) {
		return
	}
	task, err := hostTask(tid)
	if err != nil {
		return
	}
	args := [6]uintptr{uintptr(regs.Rdi), uintptr(regs.Rsi), uintptr(regs.Rdx), uintptr(regs.R10), uintptr(regs.R8), uintptr(regs.R9)}
	c := &interpose.Call{Task: task, Nr: nr, Name: p.table.Name(nr), Args: args, Mem: hostMemory{tid: tid}}
	t.call, t.start = c, time.Now()
	act := p.cfg.Hooks.RunBefore(c)
	if p.cfg.Strace != nil {
		t.enter = p.dec.Enter(nr, c.Args, uintptr(regs.Rsp), c.Mem)
	}
	if v, errno, ok := act.Answered(); ok {
		t.answer = &interpose.Result{Value: v, Errno: errno}
		regs.Orig_rax = ^uint64(0) // skipped: the kernel runs no call
		unix.PtraceSetRegs(tid, regs)
		return
	}
	if c.Args != args {
		regs.Rdi, regs.Rsi, regs.Rdx = uint64(c.Args[0]), uint64(c.Args[1]), uint64(c.Args[2])
		regs.R10, regs.R8, regs.R9 = uint64(c.Args[3]), uint64(c.Args[4]), uint64(c.Args[5])
		unix.PtraceSetRegs(tid, regs)
	}
}
