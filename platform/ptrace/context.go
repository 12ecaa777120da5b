package ptrace

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

// context is one application thread: a stub thread, and its tracer, in the
// address space it last ran in.
type context struct {
	mu sync.Mutex // guards as and th for Interrupt and ThreadCPUTime, and cpuDone
	as *addressSpace
	th *tracer
	// cpuDone is the CPU time of the stub threads c ran on before th (in
	// the address spaces execve left).
	cpuDone time.Duration

	// fp and fpGen are the FP state the thread has: it needs writing only
	// when the sentry passes another FPState or changed this one.
	fp    *platform.FPState
	fpGen uint64

	gate platform.SwitchGate

	// The Switch job for th, and the lazy fill of its FP state, made once
	// per binding so that a Switch allocates nothing; the job takes its
	// input from sw and leaves its results there.
	runJob func()
	fillFP func([]byte)
	sw     struct {
		regs platform.Registers
		fp   []byte // nil: the thread has the FP state already
		stop stop
		err  error
	}
}

var _ platform.Context = (*context)(nil)

// Switch implements platform.Context.
func (c *context) Switch(pas platform.AddressSpace, regs *platform.Registers, fp *platform.FPState) (platform.Event, error) {
	as, interrupted, err := platform.EnterSwitch[*addressSpace](c, &c.gate, pas)
	if err != nil {
		return platform.Event{}, err
	}
	defer as.Leave()
	defer c.gate.Leave()
	if interrupted {
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	c.sw.regs = *regs
	sanitize(&c.sw.regs)
	c.sw.fp = c.fpToStore(fp)
	if !c.th.do(c.runJob) {
		c.sw.err = errExited
	}
	if err := c.sw.err; err != nil {
		if c.th.exited {
			c.drop()
		}
		return platform.Event{}, err
	}
	*regs = c.sw.regs
	fp.SetLazy(c.fillFP)
	c.fp, c.fpGen = fp, fp.Generation()
	return c.event(c.sw.stop, regs), nil
}

// sanitize makes regs acceptable to PTRACE_SETREGS: user code and stack
// segments, data segment selectors that are null or user ones, and no
// syscall to restart.
func sanitize(r *platform.Registers) {
	r.Cs, r.Ss = platform.UserCS, platform.UserSS
	r.OrigRax = ^uint64(0)
	for _, s := range []*uint64{&r.Ds, &r.Es, &r.Fs, &r.Gs} {
		if *s > 0xffff || *s&3 != 3 {
			*s = 0
		}
	}
}

// fpToStore returns the XSAVE area to load into the thread, or nil if it
// has it already. A lazy state the previous Switch left in another FPState
// is loaded first: the thread is about to change it.
func (c *context) fpToStore(fp *platform.FPState) []byte {
	if fp == c.fp && fp.Generation() == c.fpGen {
		return nil
	}
	if c.fp != nil {
		c.fp.Load()
	}
	c.fp = nil
	fp.Sanitize()
	return fp.Bytes()
}

// loadFP reads the FP state of th's thread, stopped since the Switch that
// set it up, into b; a thread that is gone reads as a fresh one.
func loadFP(th *tracer, b []byte) {
	var err error
	if !th.do(func() { err = th.getFP(b) }) || err != nil {
		copy(b, platform.NewFPState().Bytes())
	}
}

// event classifies the stop.
func (c *context) event(s stop, regs *platform.Registers) platform.Event {
	if s.syscall {
		// The kernel has put -ENOSYS in rax; the application had the
		// syscall number there, as systrap shows it.
		regs.Rax = regs.OrigRax
		return platform.Event{Kind: platform.EventSyscall}
	}
	regs.OrigRax = ^uint64(0)
	si := s.info
	switch s.signo {
	case 0:
	case unix.SIGSEGV:
		if fault, ok := c.fault(si, regs); ok {
			return platform.Event{Kind: platform.EventFault, Fault: fault, Signal: si}
		}
		return platform.Event{Kind: platform.EventSignal, Signal: si}
	case unix.SIGILL, unix.SIGFPE, unix.SIGBUS, unix.SIGTRAP:
		return platform.Event{Kind: platform.EventSignal, Signal: si}
	case unix.SIGSYS:
		if si.Code != linux.SYS_SECCOMP {
			break // sent by someone: dropped
		}
		nr, arch := uint32(si.Syscall()), si.Arch()
		if arch != linux.AUDIT_ARCH_X86_64 {
			return platform.Event{Kind: platform.EventSignal, Signal: si}
		}
		// The kernel's vsyscall emulation, trapped by StubFilter: it has
		// already "returned" to the caller (rip and rsp), and the sentry
		// answers the call as systrap's does.
		regs.OrigRax, regs.Rax = uint64(nr), uint64(nr)
		return platform.Event{Kind: platform.EventSyscall}
	}
	// Interrupt's SIGCHLD, an event stop, or a signal from outside: all
	// dropped.
	c.gate.Delivered()
	return platform.Event{Kind: platform.EventInterrupted}
}

// fault describes a SIGSEGV from a page fault; ok is false for others (a
// general protection fault, say). ptrace does not show the page fault's
// error code, so the access kind is inferred (see the package doc).
func (c *context) fault(si linux.SignalInfo, regs *platform.Registers) (platform.Fault, bool) {
	switch si.Code {
	case abi.SEGV_MAPERR, abi.SEGV_ACCERR, abi.SEGV_PKUERR:
	default:
		return platform.Fault{}, false
	}
	f := platform.Fault{Addr: uintptr(si.Addr()), Access: platform.AccessRead}
	const maxInsn = 16
	switch rip := uintptr(regs.Rip); {
	case f.Addr >= rip && f.Addr-rip < maxInsn:
		f.Access = platform.AccessExec
	case c.readable(f.Addr):
		f.Access = platform.AccessWrite
	}
	return f, true
}

// readable reports whether the byte at addr can be read.
func (c *context) readable(addr uintptr) bool {
	var b [1]byte
	local := []unix.Iovec{{Base: &b[0], Len: 1}}
	remote := []unix.RemoteIovec{{Base: addr, Len: 1}}
	n, err := unix.ProcessVMReadv(c.as.pid, local, remote, 0)
	return err == nil && n == 1
}

// bind starts a stub thread for c in as.
func (c *context) bind(as *addressSpace) error {
	th, err := as.newThread()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.as, c.th = as, th
	c.mu.Unlock()
	c.runJob = func() { c.sw.stop, c.sw.err = th.run(&c.sw.regs, c.sw.fp) }
	c.fillFP = func(b []byte) { loadFP(th, b) }
	return nil
}

// unbind makes the stub thread exit.
func (c *context) unbind() {
	if c.th != nil {
		th := c.th
		th.do(th.exit)
	}
	c.drop()
}

// drop forgets the binding.
func (c *context) drop() {
	if c.fp != nil {
		c.fp.Load()
		c.fp = nil
	}
	c.mu.Lock()
	as, th := c.as, c.th
	c.as, c.th = nil, nil
	c.mu.Unlock()
	if as != nil && th != nil {
		as.forget(th)
	}
}

// Interrupt implements platform.Context. SIGCHLD, which the stub ignores,
// still stops a traced thread; if the thread is already stopped, the signal
// stays pending until the next Switch, which the flag makes return at once
// anyway.
func (c *context) Interrupt() {
	if !c.gate.Interrupt() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// use keeps the pid from being reaped, and reused, under the signal.
	if c.as != nil && c.th != nil && c.as.use.TryRLock() {
		if !c.as.released.Load() {
			unix.Tgkill(c.as.pid, c.th.tid, unix.SIGCHLD)
		}
		c.as.use.RUnlock()
	}
}

// Bound implements platform.Bindable.
func (c *context) Bound() *addressSpace { return c.as }

// Rebind implements platform.Bindable.
func (c *context) Rebind(as *addressSpace) error {
	// The new thread's time adds to the old one's; at Release there is
	// no thread to come, and no read.
	c.mu.Lock()
	c.cpuDone = c.threadCPULocked()
	c.mu.Unlock()
	c.unbind()
	return c.bind(as)
}

// Release implements platform.Context.
func (c *context) Release() { c.unbind() }

var _ platform.ThreadClock = (*context)(nil)

// ThreadCPUTime implements platform.ThreadClock: each context has a stub
// thread of its own, whose CPU time is the task's.
func (c *context) ThreadCPUTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.threadCPULocked()
}

// threadCPULocked is cpuDone and the CPU time of the bound thread, if it
// is still there. c.mu is held; use is taken only if that needs no wait
// (a Switch holding it may wait for c.mu), to keep the pid from being
// reaped under the read.
func (c *context) threadCPULocked() time.Duration {
	total := c.cpuDone
	if c.as == nil || c.th == nil || !c.as.use.TryRLock() {
		return total
	}
	defer c.as.use.RUnlock()
	if !c.as.released.Load() {
		if d, err := platform.ThreadCPUTime(c.as.pid, c.th.tid); err == nil {
			total += d
		}
	}
	return total
}
