package ptrace

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
)

// errExited is returned when the traced thread is gone.
var errExited = fmt.Errorf("stub thread exited: %w", platform.ErrContextDead)

// syscallStop is WSTOPSIG at a syscall stop (PTRACE_O_TRACESYSGOOD).
const syscallStop = unix.SIGTRAP | 0x80

// tracer owns one stub thread. The kernel takes ptrace requests for a
// tracee only from the OS thread that attached it, so a tracer is a
// goroutine locked to its own OS thread, and every ptrace request for its
// stub thread, from the seize to the final wait, runs there as a job (do).
// This type is the only place in the package that calls ptrace or waits.
type tracer struct {
	pid  int // the stub process
	tid  int
	site uintptr // the stub's syscall instruction in ptrace_wait

	// A job passes from its caller to the tracer in job, announced by
	// posted; ran announces that it has run. callMu keeps one caller at a
	// time, and ended, set before the last ran, turns later callers away.
	// An application thread's tracer and callers poll for these while the
	// pair holds a spin slot, and give it back when polling failed. The
	// control thread's never poll: its remote syscalls come in bursts
	// (fork, exec) that need every CPU.
	polls  bool
	callMu sync.Mutex // guards job: one caller at a time
	job    func()
	posted notice
	ran    notice
	ended  atomic.Bool
	spin   spinSlot

	// stalled, if not nil, is called every stallCheck while a caller of do
	// waits for a job; it is set before the first do.
	stalled func()
	// killed is set once something other than the tracer reaps the thread
	// (reapKilled): the tracer's next wait does not wait for it.
	killed atomic.Bool

	// Only jobs touch these.
	exited   bool               // the thread is gone and reaped
	template platform.Registers // the thread at its first stop
}

// startTracer seizes tid, a stub thread waiting in ptrace_wait, from a new
// tracer. On failure the tracer has ended, and with it any trace.
func startTracer(pid, tid int, site uintptr) (*tracer, error) {
	t := &tracer{pid: pid, tid: tid, site: site, polls: tid != pid, posted: newNotice(), ran: newNotice()}
	ready := make(chan error, 1)
	go t.loop(ready)
	return t, <-ready
}

// loop runs jobs until the thread is gone. It never unlocks its OS thread:
// the thread exits with the goroutine, and the kernel then kills whatever it
// might still trace (PTRACE_O_EXITKILL) instead of leaving it running
// untraced; nothing else can ever run on a thread that has traced.
func (t *tracer) loop(ready chan<- error) {
	runtime.LockOSThread()
	if err := t.seize(); err != nil {
		t.ended.Store(true)
		ready <- err
		return
	}
	ready <- nil
	defer t.spin.put()
	var seen uint64
	for !t.exited {
		var poll time.Duration
		if t.spin.held.Load() {
			poll = pollJob
		}
		var polledInVain bool
		if seen, polledInVain = t.posted.wait(seen, poll); polledInVain {
			t.spin.put()
		}
		t.job()
		t.job = nil
		if t.exited {
			t.ended.Store(true)
		}
		t.ran.notify()
	}
}

// do runs f on the tracer's thread and waits for it. It reports false,
// without running f, once the tracer has ended.
func (t *tracer) do(f func()) bool {
	t.callMu.Lock()
	defer t.callMu.Unlock()
	if t.ended.Load() {
		return false
	}
	t.job = f
	seen := t.ran.seq.Load()
	var poll time.Duration
	if t.polls && t.spin.get() {
		poll = pollDone
	}
	t.posted.notify()
	if _, polledInVain := t.ran.waitWatched(seen, poll, t.stalled); polledInVain {
		t.spin.put()
	}
	return true
}

// seize attaches to the thread and stops it in ptrace_wait. A stub process
// may still be setting itself up when it is seized: it is let run until an
// interrupt finds it in the loop.
// PTRACE_O_EXITKILL kills the stub if the sentry dies; the stub's
// forkserver parent makes sure of it too (PR_SET_PDEATHSIG).
func (t *tracer) seize() error {
	const opts = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL
	if err := ptrace(unix.PTRACE_SEIZE, t.tid, 0, opts); err != nil {
		return fmt.Errorf("PTRACE_SEIZE of stub thread %d: %w", t.tid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := t.interrupt(); err != nil {
			return err
		}
		if t.template.Rip == uint64(t.site)+2 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stub thread %d did not reach ptrace_wait (rip %#x)", t.tid, t.template.Rip)
		}
		if err := t.resume(unix.PTRACE_CONT); err != nil {
			return err
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// interrupt stops the running thread with PTRACE_INTERRUPT and reads its
// registers into t.template.
func (t *tracer) interrupt() error {
	if err := ptrace(unix.PTRACE_INTERRUPT, t.tid, 0, 0); err != nil {
		return fmt.Errorf("PTRACE_INTERRUPT of stub thread %d: %w", t.tid, err)
	}
	for {
		st, err := t.wait()
		if err != nil {
			return fmt.Errorf("stopping stub thread %d: %w", t.tid, err)
		}
		if eventStop(st) {
			break
		}
		// A signal came first: drop it; the interrupt is still pending.
		if err := t.resume(unix.PTRACE_CONT); err != nil {
			return err
		}
	}
	if err := getRegs(t.tid, &t.template); err != nil {
		return fmt.Errorf("reading stub thread %d registers: %w", t.tid, err)
	}
	return nil
}

// eventStop reports a PTRACE_EVENT_STOP: an interrupt or a group stop.
func eventStop(st unix.WaitStatus) bool {
	return st.Stopped() && int(st>>16)&0xff == unix.PTRACE_EVENT_STOP
}

// wait returns the thread's next stop, or errExited once it has exited
// (and is reaped).
func (t *tracer) wait() (unix.WaitStatus, error) {
	var st unix.WaitStatus
	for {
		if t.killed.Load() {
			t.exited = true
			return st, errExited
		}
		_, err := unix.Wait4(t.tid, &st, unix.WALL, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.exited = true // ECHILD: nothing left to wait for
			return st, fmt.Errorf("waiting for stub thread %d: %w (%w)", t.tid, err, errExited)
		case st.Exited() || st.Signaled():
			t.exited = true
			return st, errExited
		}
		return st, nil
	}
}

// resume restarts the stopped thread with req (PTRACE_CONT, _SYSCALL,
// _SYSEMU), dropping any signal it stopped for.
func (t *tracer) resume(req int) error {
	if err := ptrace(req, t.tid, 0, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errExited
		}
		return fmt.Errorf("resuming stub thread %d: %w", t.tid, err)
	}
	return nil
}

// syscall runs a host syscall in the stopped thread: it sets the registers
// for it at the stub's syscall instruction, runs to the syscall's exit stop
// (two PTRACE_SYSCALL stops, any signal in between dropped) and leaves the
// thread stopped there. A failed host syscall returns its unix.Errno.
func (t *tracer) syscall(nr uintptr, args ...uint64) (uintptr, error) {
	regs := t.syscallRegs(nr, args...)
	if err := setRegs(t.tid, &regs); err != nil {
		return 0, t.failed(err, "setting registers for a remote syscall")
	}
	for stops := 0; stops < 2; {
		if err := t.resume(unix.PTRACE_SYSCALL); err != nil {
			return 0, err
		}
		st, err := t.wait()
		if err != nil {
			return 0, err
		}
		if st.Stopped() && st.StopSignal() == syscallStop {
			stops++
		}
	}
	if err := getRegs(t.tid, &regs); err != nil {
		return 0, t.failed(err, "reading a remote syscall's result")
	}
	if ret := int64(regs.Rax); ret < 0 && ret > -4096 {
		return 0, unix.Errno(-ret)
	}
	return uintptr(regs.Rax), nil
}

// syscallRegs are the registers that make the stub's syscall instruction
// run syscall nr. orig_rax -1 keeps the kernel from restarting whatever
// syscall the thread was stopped in.
func (t *tracer) syscallRegs(nr uintptr, args ...uint64) platform.Registers {
	r := t.template
	r.Rip = uint64(t.site)
	r.Rax = uint64(nr)
	r.OrigRax = ^uint64(0)
	var a [6]uint64
	copy(a[:], args)
	r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	return r
}

// failed wraps a failed ptrace request; ESRCH means the thread was killed.
func (t *tracer) failed(err error, what string) error {
	if errors.Is(err, unix.ESRCH) {
		return errExited
	}
	return fmt.Errorf("%s in stub thread %d: %w", what, t.tid, err)
}

// exit makes the thread exit (a remote exit(2)) and reaps it. A thread that
// cannot be made to exit is killed, with its whole process.
func (t *tracer) exit() {
	regs := t.syscallRegs(unix.SYS_EXIT, 0)
	if setRegs(t.tid, &regs) != nil {
		t.kill()
		return
	}
	for !t.exited {
		if t.resume(unix.PTRACE_CONT) != nil {
			t.kill()
			return
		}
		t.wait()
	}
}

// kill sends SIGKILL to the thread's process and reaps the thread.
func (t *tracer) kill() {
	unix.Tgkill(t.pid, t.tid, unix.SIGKILL)
	t.reap()
}

// reap waits until the thread, whose process has been sent SIGKILL, is
// gone. A stop that raced with the kill is skipped: SIGKILL ends it.
func (t *tracer) reap() {
	for !t.exited {
		t.wait()
	}
}

// reapKilled reaps the thread, whose process is exiting, from the calling
// goroutine, whichever OS thread it is on: the kernel reports a tracee's
// exit to any thread of the tracer's process. The tracer's next wait then
// ends at once. Only for a thread that can no longer stop: a stop it
// reported would be taken from its tracer.
func (t *tracer) reapKilled() {
	t.killed.Store(true)
	for {
		var st unix.WaitStatus
		_, err := unix.Wait4(t.tid, &st, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || st.Exited() || st.Signaled() {
			return // reaped, here or by the tracer
		}
	}
}

// stop is why an application thread stopped: a syscall, a signal (dropped
// when the thread resumes), or neither, an event stop (an interrupt or a
// group stop).
type stop struct {
	syscall bool
	signo   unix.Signal
	info    linux.SignalInfo // siginfo_t of the signal
}

// run loads regs and, unless it is nil, the XSAVE area fp into the
// application thread, runs it under PTRACE_SYSEMU until it stops, and puts
// the registers at the stop into regs.
func (t *tracer) run(regs *platform.Registers, fp []byte) (stop, error) {
	var s stop
	if err := setRegs(t.tid, regs); err != nil {
		return s, t.failed(err, "setting registers")
	}
	if fp != nil {
		if _, err := regset(unix.PTRACE_SETREGSET, t.tid, fp); err != nil {
			return s, t.failed(err, "setting the FP state")
		}
	}
	if err := t.resume(unix.PTRACE_SYSEMU); err != nil {
		return s, err
	}
	st, err := t.wait()
	if err != nil {
		return s, err
	}
	if err := getRegs(t.tid, regs); err != nil {
		return s, t.failed(err, "reading registers")
	}
	switch {
	case st.StopSignal() == syscallStop:
		return s, t.syscallStop(&s)
	case eventStop(st):
	default:
		s.signo = st.StopSignal()
		if err := getSiginfo(t.tid, &s.info); err != nil {
			return s, t.failed(err, "reading the siginfo")
		}
	}
	return s, nil
}

// syscallStop classifies a syscall stop. A 64-bit syscall is one for the
// sentry; any other (int 0x80, sysenter, a syscall from a 32-bit code
// segment) becomes the SIGSYS that systrap's seccomp filter raises for it:
// the sentry answers only the x86-64 ABI, and the host never runs it.
func (t *tracer) syscallStop(s *stop) error {
	var info syscallInfo
	if err := getSyscallInfo(t.tid, &info); err != nil {
		return t.failed(err, "reading the syscall info")
	}
	if info.Arch == linux.AUDIT_ARCH_X86_64 {
		s.syscall = true
		return nil
	}
	s.signo = unix.SIGSYS
	s.info = seccompSiginfo(info.Nr, info.Arch, uintptr(info.InstructionPointer))
	return nil
}

// seccompSiginfo is the siginfo_t of a SIGSYS from a seccomp filter's
// SECCOMP_RET_TRAP (si_code SYS_SECCOMP).
func seccompSiginfo(nr uint64, arch uint32, addr uintptr) linux.SignalInfo {
	si := linux.SignalInfo{Signo: int32(unix.SIGSYS), Code: linux.SYS_SECCOMP}
	si.SetCallAddr(uint64(addr))
	si.SetSyscall(int32(nr))
	si.SetArch(arch)
	return si
}

// getFP reads the thread's XSAVE area into b, which must be exactly as
// long as the kernel's.
func (t *tracer) getFP(b []byte) error {
	n, err := regset(unix.PTRACE_GETREGSET, t.tid, b)
	if err != nil {
		return t.failed(err, "reading the FP state")
	}
	if n != len(b) {
		return fmt.Errorf("the host's ptrace XSAVE area is %d bytes, CPUID says %d", n, len(b))
	}
	return nil
}
