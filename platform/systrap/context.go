package systrap

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// context is one application thread: a slot, and the stub thread in it, in
// the address space it last ran in.
type context struct {
	p *Platform

	// mu guards as and tid for Interrupt and ThreadCPUTime, and cpuDone
	// and cpuFrom.
	mu   sync.Mutex
	as   *addressSpace
	tid  int
	slot int
	// cpuDone is the CPU time c's application thread had in its bindings
	// that ended; cpuFrom the CPU time the bound stub thread had when the
	// binding began (threadcpu.go).
	cpuDone, cpuFrom time.Duration

	frame          frame              // the signal frame of the last stop
	frameRegs      platform.Registers // the registers as the frame has them
	fsBase, gsBase uint64

	// fp and fpGen are the FP state the thread has: the host restores it from
	// every frame and saves it in the next, so it needs writing only when
	// the sentry passes another FPState or changed this one.
	fp    *platform.FPState
	fpGen uint64
	// lazy is the frame fp is still lazily loaded from (the last stop's),
	// and fill its fillFP, made once: a method value made per stop would
	// be an allocation per syscall. Only fp can be pending on it: Switch
	// and forgetFP load fp before the frame is reused or fp replaced.
	lazy lazyFP
	fill func([]byte)

	// unpatchable are the sites this thread found it cannot patch, in
	// unpatchableIn: a syscall from one of them needs no look at its code.
	unpatchable   map[uintptr]struct{}
	unpatchableIn *addressSpace

	// lentTo is the address space whose pool c's thread went to because
	// its task waits (Idle): binding there again is not a new thread of
	// that address space.
	lentTo *addressSpace

	gate platform.SwitchGate
	// interruptedAt is when Interrupt signalled the thread running in
	// Switch (unix nanoseconds), 0 if it has not since that Switch began.
	interruptedAt atomic.Int64
}

// unresponsive is how long a stub thread may take to stop after Interrupt
// signalled it, or to make its first stop after it was started, before the
// sentry gives up on it and kills its stub process. A live thread stops
// within microseconds of its SIGCHLD; one that does not is held down by
// application code (its state word overwritten with "resume" faster than
// the sentry reads it, its host signal mask changed by a forged
// rt_sigreturn), and only killing the stub ends its task, which the sentry
// must always be able to do.
const unresponsive = 5 * time.Second

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
	c.frame.storeRegs(regs, &c.frameRegs)
	wroteFP := c.storeFP(fp)
	m := as.sh.Msg(c.slot)
	c.setBases(m, regs, wroteFP)

	limit := c.p.spin.Limit(int(c.p.running.Add(1)))
	if ctl, spin := as.sh.Control(), c.p.stubSpin(limit); atomic.LoadUint32(&ctl.SpinLimit) != spin {
		atomic.StoreUint32(&ctl.SpinLimit, spin)
	}
	if limit != 0 && m.WaitsHere() && !sysmsg.MoveOff() {
		limit = 0 // the thread needs this CPU (sysmsg/cpu.go)
	}
	handed := as.handOver(c.slot, m)
	m.Resume()
	defer c.interruptedAt.Store(0)
	start := c.p.spin.Now()
	state, _ := m.WaitEvent(limit, func() bool {
		at := c.interruptedAt.Load()
		return as.exited() || (at != 0 && as.giveUp(time.Unix(0, at).Add(unresponsive)))
	})
	c.p.running.Add(-1)
	c.p.spin.Record(start)
	c.p.procs.Record()
	if err := c.stopped(state); err != nil {
		return platform.Event{}, err
	}
	if handed {
		if err := c.checkResumeCall(as, m); err != nil {
			return platform.Event{}, err
		}
	}
	c.frame.loadRegs(regs)
	c.frameRegs = *regs
	c.lazy = lazyFP{fp: c.frame.fp, as: as}
	if c.fill == nil {
		c.fill = c.lazy.fillFP
	}
	fp.SetLazy(c.fill)
	c.fp, c.fpGen = fp, fp.Generation()
	if c.p.hasFSGSBase {
		c.fsBase, c.gsBase = m.FsBase, m.GsBase
	}
	regs.FsBase, regs.GsBase = c.fsBase, c.appGS(c.gsBase)
	ev := c.event(as, m, regs)
	if ev.Kind == platform.EventSyscall && uintptr(m.Ucontext) != sysmsg.PatchUcontext(c.slot) {
		as.stoppedFor(c.slot, regs.OrigRax)
	}
	return ev, nil
}

// storeFP writes fp into the frame unless the thread already has it, and
// reports whether it did. A lazy state the previous Switch left in another
// FPState is loaded first: its frame is about to be reused.
func (c *context) storeFP(fp *platform.FPState) bool {
	if fp == c.fp && fp.Generation() == c.fpGen {
		return false
	}
	if c.fp != nil {
		c.fp.Load()
	}
	c.frame.storeFP(fp)
	c.fp = nil
	return true
}

// setBases asks the handler to load new fs/gs bases before it returns, and
// the patch entry's return to load the FP state if the frame's is new
// (wroteFP): its registers hold the state the entry saved.
func (c *context) setBases(m *sysmsg.Msg, regs *platform.Registers, wroteFP bool) {
	var set uint32
	if wroteFP {
		set |= sysmsg.SetFP
	}
	if regs.FsBase != c.fsBase {
		m.NewFsBase, c.fsBase = regs.FsBase, regs.FsBase
		set |= sysmsg.SetFS
	}
	if gs := c.hostGS(regs.GsBase); gs != c.gsBase {
		m.NewGsBase, c.gsBase = gs, gs
		set |= sysmsg.SetGS
	}
	if set != 0 { // the handler clears it; not writing it saves a cache line
		m.SetBases = set
	}
}

// stopped checks the state the thread stopped in and finds its frame. Any
// failure leaves the context unbound.
func (c *context) stopped(state uint32) error {
	as := c.as
	switch state {
	case sysmsg.StateEvent:
		f, err := locateFrame(as.sh, c.slot, as.sh.Msg(c.slot))
		if err == nil {
			c.frame = f
			return nil
		}
		as.kill() // a forged frame pointer
	case sysmsg.StateDead:
	case sysmsg.StateResume:
		// The wait gave up: the process is gone.
	default:
		as.kill() // a forged state
	}
	c.drop()
	return platform.ErrContextDead
}

// event classifies the stop. A syscall through a patched site (its frame
// is the slot's patch frame) is a syscall like any other.
func (c *context) event(as *addressSpace, m *sysmsg.Msg, regs *platform.Registers) platform.Event {
	f := c.frame
	si := f.siginfo()
	switch m.Signo {
	case uint32(unix.SIGSYS):
		nr, arch := f.seccompSyscall()
		if si.Code == linux.SYS_SECCOMP && arch == linux.AUDIT_ARCH_X86_64 {
			regs.OrigRax = nr
			if uintptr(m.Ucontext) == sysmsg.PatchUcontext(c.slot) {
				c.p.patchEntries.Add(1)
			} else if !c.p.patching || !c.fromFallback(as, regs) {
				c.maybePatch(as, nr, regs)
			}
			return platform.Event{Kind: platform.EventSyscall}
		}
	case uint32(unix.SIGILL):
		if ev, ok := c.fixSite(as, regs); ok {
			return ev
		}
	case uint32(unix.SIGSEGV), uint32(unix.SIGBUS):
		if ev, ok := c.gsFault(as, regs); ok {
			return ev
		}
		if ev, ok := c.fixRegReturn(as, regs); ok {
			return ev
		}
		if m.Signo != uint32(unix.SIGSEGV) {
			break
		}
		if fault, ok := f.fault(); ok {
			return platform.Event{Kind: platform.EventFault, Fault: fault, Signal: si}
		}
	case uint32(unix.SIGCHLD):
		c.gate.Delivered()
		return platform.Event{Kind: platform.EventInterrupted}
	}
	return platform.Event{Kind: platform.EventSignal, Signal: si}
}

// bind gives c a stub thread of as, a pooled one if there is one, and
// waits for its first stop (a pooled thread has usually made it already).
func (c *context) bind(as *addressSpace) error {
	t, err := as.thread(c.lentTo != as)
	c.lentTo = nil
	if err != nil {
		return fmt.Errorf("starting a stub thread: %w", err)
	}
	c.mu.Lock()
	c.as, c.tid, c.slot = as, t.tid, t.slot
	c.cpuFrom, _ = as.threadCPU(t.tid)
	c.mu.Unlock()
	c.fsBase, c.gsBase = t.fsBase, t.gsBase
	m := as.sh.Msg(t.slot)
	deadline := time.Now().Add(unresponsive)
	state, _ := m.WaitEvent(c.p.spin.Limit(int(c.p.running.Load())), func() bool {
		return as.exited() || as.giveUp(deadline)
	})
	if err := c.stopped(state); err != nil {
		return fmt.Errorf("stub thread did not start: %w", err)
	}
	c.frame.loadRegs(&c.frameRegs)
	// The thread ran its set-up with asynchronous signals blocked; from its
	// first return on, nothing is: SIGCHLD is how Interrupt reaches it.
	c.frame.clearSigmask()
	if !c.frame.checkXSAVE() {
		c.unbind()
		return errors.New("the host's signal frames do not hold the XSAVE area CPUID describes")
	}
	if c.p.hasFSGSBase {
		c.fsBase, c.gsBase = m.FsBase, m.GsBase
	}
	return nil
}

// unbind makes the stub thread exit and frees its slot.
func (c *context) unbind() {
	as := c.as
	if as == nil {
		return
	}
	if !as.Enter() {
		c.drop()
		return
	}
	defer as.Leave()
	m := as.sh.Msg(c.slot)
	if m.LoadState() == sysmsg.StateEvent && c.recycle(as) {
		return
	}
	if m.LoadState() == sysmsg.StateEvent {
		m.Exit()
		deadline := time.Now().Add(time.Second)
		if !m.WaitDead(func() bool { return as.exited() || time.Now().After(deadline) }) {
			as.kill() // the thread does not exit: do not leave it unsupervised
		}
	} else if m.LoadState() != sysmsg.StateDead {
		as.kill()
	}
	c.drop()
}

// recycle gives c's stopped thread to as's pool for the next context, if
// the pool has room, and forgets the binding.
func (c *context) recycle(as *addressSpace) bool {
	c.forgetFP()
	if !as.recycle(pooledThread{slot: c.slot, tid: c.tid, fsBase: c.fsBase, gsBase: c.gsBase}) {
		return false
	}
	c.forget()
	return true
}

// drop forgets the binding and frees the slot.
func (c *context) drop() {
	c.forgetFP()
	if as, tid := c.forget(); as != nil {
		as.freeSlot(c.slot, tid)
	}
}

// forgetFP loads a lazy FP state out of the frame, which is about to be
// reused or freed.
func (c *context) forgetFP() {
	if c.fp != nil {
		c.fp.Load()
		c.fp = nil
	}
}

// forget unbinds c and returns what it was bound to.
func (c *context) forget() (as *addressSpace, tid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	as, tid = c.as, c.tid
	if as != nil {
		c.endCPUSample(as, tid)
	}
	c.as, c.tid = nil, 0
	return as, tid
}

// Interrupt implements platform.Context. The signal (SIGCHLD, which the stub
// otherwise never gets) makes the running thread stop in its handler; if it
// is already stopped, the signal stays pending until the next Switch, which
// the flag makes return at once anyway.
func (c *context) Interrupt() {
	if !c.gate.Interrupt() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.as != nil && c.as.use.TryRLock() {
		if !c.as.released.Load() {
			c.interruptedAt.CompareAndSwap(0, time.Now().UnixNano())
			unix.Tgkill(c.as.pid, c.tid, unix.SIGCHLD)
		}
		c.as.use.RUnlock()
	}
}

// Idle implements platform.Idler. The task is about to wait in the
// sentry, and its thread, stopped in its handler, spins a while before it
// sleeps: it goes to the pool, where the next context to bind (a task this
// one woke, or this one when it wakes) takes it while it still spins,
// instead of waking a thread that sleeps. The context binds again on its
// next Switch (pool.go). A process that has had one thread keeps it: no
// other context of its could take it, and binding again costs a few
// microseconds. That thread is told to sleep rather than spin (Hold): its
// answer comes only when another task ends the wait, and a spinning thread
// would hold a CPU that task needs (on 2 cores, pipe ping-pong between two
// processes: 166us a round trip against 199us, in alternating runs).
func (c *context) Idle() {
	as := c.as
	if as == nil || c.gate.Running() || !as.Enter() {
		return
	}
	defer as.Leave()
	m := as.sh.Msg(c.slot)
	if m.LoadState() != sysmsg.StateEvent {
		return
	}
	if as.threaded() && c.recycle(as) {
		c.lentTo = as
		return
	}
	m.Hold()
}

// Bound implements platform.Bindable.
func (c *context) Bound() *addressSpace { return c.as }

// Rebind implements platform.Bindable.
func (c *context) Rebind(as *addressSpace) error {
	if c.as != nil && c.as == as.renewedFrom {
		// The same process and thread, under its new address space.
		c.mu.Lock()
		c.as = as
		c.mu.Unlock()
		return nil
	}
	c.unbind()
	return c.bind(as)
}

// Release implements platform.Context.
func (c *context) Release() { c.unbind() }
