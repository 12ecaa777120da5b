package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// ptrace(2), emulated for tracers and tracees inside the sandbox: nothing
// of it reaches the host's ptrace (the platform named ptrace is how the
// sentry traps, unrelated). A traced task stops (a ptrace-stop) at the
// points Linux stops it: before a signal is delivered, at syscall entry
// and exit when resumed with PTRACE_SYSCALL (entry only with SYSEMU), at
// the events its options ask for (fork, vfork, clone, exec, exit), at a
// group stop, and at PTRACE_INTERRUPT. While it is stopped its goroutine
// waits, and the tracer reads and writes its registers and memory; wait4
// reports the stop to the tracer (WaitStatus: the signal, and the event
// in bits 8-15) and the tracer gets SIGCHLD with CLD_TRAPPED. Resuming
// (CONT, SYSCALL, SYSEMU, SINGLESTEP, DETACH) gives the signal to deliver
// (0: suppress it); PTRACE_LISTEN leaves a seized tracee in its group
// stop, reporting a PTRACE_EVENT_STOP again when the stop ends (SIGCONT).
//
// A tracee's exit goes to its tracer first: when the tracer is not the
// parent, the parent neither sees the zombie nor gets SIGCHLD until the
// tracer has waited for it (ThreadGroup.tracerHolds), as Linux releases
// it to the parent only then.
//
// Tracing is per thread, as in Linux: the tracer is a task, the tracee a
// task. The state below lives in Task.ptrace, guarded by Kernel.mu.
//
// Not emulated: a group stop of a traced task is reported as a ptrace
// stop at once (the tracer's resume ends it, as for a non-seized tracee
// in Linux); PTRACE_EVENT_EXIT is reported for exit(2), exit_group(2)
// and death by a signal other than SIGKILL in the thread that dies, not
// in the other threads of its process; hardware breakpoints (DR7) are
// refused.

// ptraceState is a task's side of tracing; guarded by Kernel.mu.
type ptraceState struct {
	// tracer is the task tracing this one (nil: not traced); seized
	// whether it attached with PTRACE_SEIZE; options its PTRACE_O_*.
	tracer  *Task
	seized  bool
	options uint32
	// tracees are the tasks this task traces.
	tracees map[*Task]struct{}
	// gone is set when the task, exiting, has let go of its tracees:
	// nothing may attach to it any more.
	gone bool
	// exited are tracees that exited and that the tracer has not
	// waited for (those that are not its own children).
	exited []WaitResult
	// stop is the ptrace-stop the task is in, nil while it runs.
	stop *ptraceStop
	// syscallStops says the last resume was PTRACE_SYSCALL, sysemu
	// PTRACE_SYSEMU; singlestep PTRACE_SINGLESTEP.
	syscallStops, sysemu, singlestep bool
	// interrupt is a PTRACE_INTERRUPT not served yet; set it with
	// setPtraceInterrupt.
	interrupt bool
	// interruptPending mirrors interrupt for SignalNotify, which runs
	// under sig.mu and so cannot take Kernel.mu: a PTRACE_INTERRUPT that
	// comes as the task is about to block (after its last look at the
	// notify channel) must still end the wait.
	interruptPending atomic.Bool
	// eventMsg is PTRACE_GETEVENTMSG's answer; siginfo the signal of the
	// last signal-delivery-stop (GETSIGINFO/SETSIGINFO).
	eventMsg uint64
	siginfo  SigInfo
	// syscallInfo is what PTRACE_GET_SYSCALL_INFO says of the stop.
	syscallInfo syscallStopInfo
	// debugRegs are what PTRACE_POKEUSER stored in the debug registers
	// (setDebugReg); they outlive tracing, as a thread's do.
	debugRegs [8]uint64
	// wakeStopped tells the task, waiting in a group stop, that it was
	// attached (waitWhileStopped).
	wakeStopped chan struct{}
}

// ptraceStop is one ptrace-stop.
type ptraceStop struct {
	// status is the stop's wait status bits 8 and up: the signal, and
	// the event in the next byte.
	status int
	// reported: a wait has returned it.
	reported bool
	// listening: PTRACE_LISTEN left it stopped; the next signal makes
	// it report a PTRACE_EVENT_STOP again (ptraceNotifyListener).
	listening bool
	// notify wakes the stopped task for that (buffered).
	notify chan struct{}
	// resumed is closed by the tracer's resume; resumeSig is the signal
	// it gives.
	resumed   chan struct{}
	resumeSig int
}

// syscallStopInfo is the kind of a syscall stop (PTRACE_SYSCALL_INFO_*),
// with the return value at an exit.
type syscallStopInfo struct {
	op   uint8
	rval int64
}

// Traced reports whether the task has a tracer.
func (t *Task) Traced() bool { return t.traced.Load() }

// TracerPID is /proc/PID/status's TracerPid: the tracer's process (0:
// none).
func (t *Task) TracerPID(ns *PIDNamespace) int {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if tr := t.ptrace.tracer; tr != nil {
		return ns.IDOf(tr.TG.PID)
	}
	return 0
}

// ptraceStopAt stops the traced task with status (a signal, and an event
// shifted by 8) until its tracer resumes it, and returns the signal the
// resume gives; ok is false if the task is not traced (it did not stop).
// A task being killed does not stay stopped.
func (t *Task) ptraceStopAt(status int, msg uint64) (resumeSig int, ok bool) {
	k := t.K
	k.mu.Lock()
	tr := t.ptrace.tracer
	if tr == nil || t.isKilled() {
		k.mu.Unlock()
		return 0, false
	}
	if event := status >> 8; event != 0 {
		if event >= linux.PTRACE_EVENT_FORK && event <= linux.PTRACE_EVENT_VFORK_DONE {
			// A kernel ID, which the tracer sees in its namespace
			// (ptrace_event_pid).
			msg = uint64(tr.IDOf(int(msg)))
		}
		t.ptrace.eventMsg = msg
	}
	st := &ptraceStop{status: status, resumed: make(chan struct{}), notify: make(chan struct{}, 1)}
	t.ptrace.stop = st
	si := ChildInfo(int32(unix.SIGCHLD), linux.CLD_TRAPPED, tr.TIDOf(t), t.TG.realUID(), int32(status&0xff))
	k.treeChanged.Broadcast()
	k.mu.Unlock()
	tr.TG.SendSignal(si)
	for waiting := true; waiting; {
		select {
		case <-st.resumed:
			waiting = false
		case <-t.killed:
			waiting = false
		case <-st.notify:
			t.ptraceRetrap(st)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.ptrace.stop == st {
		t.ptrace.stop = nil
	}
	return st.resumeSig, true
}

// ptraceRetrap reports a listening tracee's stop again after its group
// stop changed (SIGCONT ended it: PTRACE_EVENT_STOP with SIGTRAP; else
// with the stop signal), as do_jobctl_trap does for a seized tracee; the
// tracer gets SIGCHLD with CLD_STOPPED.
func (t *Task) ptraceRetrap(st *ptraceStop) {
	k := t.K
	k.mu.Lock()
	tr := t.ptrace.tracer
	if !st.listening || t.ptrace.stop != st || tr == nil {
		k.mu.Unlock()
		return
	}
	sig := t.TG.job.stopSig
	if sig == 0 {
		sig = int(unix.SIGTRAP)
	}
	st.listening, st.reported = false, false
	t.setPtraceInterrupt(false) // a PTRACE_INTERRUPT is served by this stop
	st.status = sig | linux.PTRACE_EVENT_STOP<<8
	si := ChildInfo(int32(unix.SIGCHLD), linux.CLD_STOPPED, tr.TIDOf(t), t.TG.realUID(), int32(sig))
	k.treeChanged.Broadcast()
	k.mu.Unlock()
	tr.TG.SendSignal(si)
}

// ptraceNotifyListenersLocked tells the listening tracees of tg that
// its group stop changed; k.mu is held.
func (tg *ThreadGroup) ptraceNotifyListenersLocked() {
	for _, t := range tg.tasks {
		if st := t.ptrace.stop; st != nil && st.listening {
			select {
			case st.notify <- struct{}{}:
			default:
			}
		}
	}
}

// ptraceResumeLocked ends tracee's stop with sig; k.mu is held.
func (tracee *Task) ptraceResumeLocked(sig int) {
	st := tracee.ptrace.stop
	if st == nil {
		return
	}
	st.resumeSig = sig
	tracee.ptrace.stop = nil
	close(st.resumed)
}

// ptraceSignalStop is the signal-delivery-stop of a traced task about to
// deliver si: it returns the signal to deliver instead (si itself, one the
// tracer chose, or none: ok false).
func (t *Task) ptraceSignalStop(si SigInfo) (SigInfo, bool) {
	sig := int(si.Signo)
	if sig == int(unix.SIGKILL) {
		return si, true
	}
	t.K.mu.Lock()
	traced := t.ptrace.tracer != nil
	if traced {
		t.ptrace.siginfo = si
		t.ptrace.syscallInfo = syscallStopInfo{}
	}
	t.K.mu.Unlock()
	if !traced {
		return si, true
	}
	next, ok := t.ptraceStopAt(sig, 0)
	if !ok {
		return si, true
	}
	if next == 0 {
		return SigInfo{}, false
	}
	t.K.mu.Lock()
	out := t.ptrace.siginfo
	t.K.mu.Unlock()
	if int(out.Signo) != next {
		// A signal other than the stop's: from the tracer, as
		// ptrace_signal builds it.
		out = NewSigInfo(int32(next), linux.SI_USER, 0, 0)
	}
	if t.SigMask()&(1<<(next-1)) != 0 {
		// Blocked: queued again, as Linux requeues it.
		t.SendSignal(out)
		return SigInfo{}, false
	}
	return out, true
}

// ptraceEvent stops t at event (PTRACE_EVENT_*) if its tracer asked for
// it with option, with msg for PTRACE_GETEVENTMSG; false if it did not
// stop.
func (t *Task) ptraceEvent(event int, option uint32, msg uint64) bool {
	t.K.mu.Lock()
	want := t.ptrace.tracer != nil && t.ptrace.options&option != 0
	t.ptrace.syscallInfo = syscallStopInfo{}
	t.K.mu.Unlock()
	if !want {
		return false
	}
	t.ptraceStopAt(int(unix.SIGTRAP)|event<<8, msg)
	return true
}

// ptraceSyscallEntry is the syscall-entry-stop; it returns whether the
// syscall is emulated by the tracer (SYSEMU: the sentry runs nothing).
func (t *Task) ptraceSyscallEntry() (sysemu bool) {
	if !t.traced.Load() {
		// Untraced (a tracer that attaches now first stops the task
		// elsewhere, and asks for syscall stops only after): no k.mu
		// on every syscall.
		return false
	}
	k := t.K
	k.mu.Lock()
	want := t.ptrace.tracer != nil && (t.ptrace.syscallStops || t.ptrace.sysemu)
	sysemu = t.ptrace.sysemu
	if want {
		t.ptrace.syscallInfo = syscallStopInfo{op: unix.PTRACE_SYSCALL_INFO_ENTRY}
	}
	status := t.syscallTrapLocked()
	k.mu.Unlock()
	if !want {
		return false
	}
	rax := t.Regs.Rax
	t.Regs.Rax = negENOSYS
	t.ptraceStopAt(status, 0)
	if t.Regs.Rax == negENOSYS && !sysemu {
		t.Regs.Rax = rax
	}
	return sysemu
}

// ptraceSyscallExit is the syscall-exit-stop, after the result is in rax.
func (t *Task) ptraceSyscallExit() {
	if !t.traced.Load() { // as in ptraceSyscallEntry
		return
	}
	k := t.K
	k.mu.Lock()
	want := t.ptrace.tracer != nil && t.ptrace.syscallStops
	if want {
		t.ptrace.syscallInfo = syscallStopInfo{op: unix.PTRACE_SYSCALL_INFO_EXIT, rval: int64(t.Regs.Rax)}
	}
	status := t.syscallTrapLocked()
	k.mu.Unlock()
	if want {
		t.ptraceStopAt(status, 0)
	}
}

// negENOSYS is rax at a syscall-entry-stop, as Linux sets it.
const negENOSYS = ^uint64(unix.ENOSYS) + 1

// syscallTrapLocked is the signal of a syscall stop: SIGTRAP, with bit 7
// under PTRACE_O_TRACESYSGOOD; k.mu is held.
func (t *Task) syscallTrapLocked() int {
	if t.ptrace.options&linux.PTRACE_O_TRACESYSGOOD != 0 {
		return int(unix.SIGTRAP) | 0x80
	}
	return int(unix.SIGTRAP)
}

// setPtraceInterrupt sets or clears a pending PTRACE_INTERRUPT.
// Preconditions: t.K.mu is held.
func (t *Task) setPtraceInterrupt(v bool) {
	t.ptrace.interrupt = v
	t.ptrace.interruptPending.Store(v)
}

// ptraceInterrupted serves a PTRACE_INTERRUPT (or the first stop of a
// seized task's auto-attached child): a PTRACE_EVENT_STOP.
func (t *Task) ptraceInterrupted() {
	if !t.traced.Load() {
		// Nothing to clear: an untraced task has no PTRACE_INTERRUPT
		// pending and no syscall stop information (detachLocked
		// clears both).
		return
	}
	k := t.K
	k.mu.Lock()
	want := t.ptrace.tracer != nil && t.ptrace.interrupt
	t.setPtraceInterrupt(false)
	t.ptrace.syscallInfo = syscallStopInfo{}
	k.mu.Unlock()
	if want {
		t.ptraceStopAt(int(unix.SIGTRAP)|linux.PTRACE_EVENT_STOP<<8, 0)
	}
}

// ptraceGroupStop reports a group stop of a traced task to its tracer and
// waits for its resume; false if the task is not traced.
func (t *Task) ptraceGroupStop(sig int) bool {
	k := t.K
	k.mu.Lock()
	traced, seized := t.ptrace.tracer != nil, t.ptrace.seized
	k.mu.Unlock()
	if !traced {
		return false
	}
	status := sig
	if seized {
		status |= linux.PTRACE_EVENT_STOP << 8
	}
	t.ptraceStopAt(status, 0)
	return true
}

// ptraceClone makes child, just created by t, a tracee of t's tracer
// when the options ask for it (or CLONE_PTRACE), and returns the event
// to report (0: none).
func (t *Task) ptraceClone(child *Task, flags uint64, exitSignal int) (event int, option uint32) {
	switch {
	case flags&unix.CLONE_VFORK != 0:
		event, option = linux.PTRACE_EVENT_VFORK, linux.PTRACE_O_TRACEVFORK
	case exitSignal == int(unix.SIGCHLD):
		event, option = linux.PTRACE_EVENT_FORK, linux.PTRACE_O_TRACEFORK
	default:
		event, option = linux.PTRACE_EVENT_CLONE, linux.PTRACE_O_TRACECLONE
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	tr := t.ptrace.tracer
	if tr == nil || (t.ptrace.options&option == 0 && flags&unix.CLONE_PTRACE == 0) {
		return 0, 0
	}
	tr.attachLocked(child, t.ptrace.seized, t.ptrace.options)
	if t.ptrace.seized {
		child.setPtraceInterrupt(true)
	} else {
		child.sig.mu.Lock()
		// A standard signal from the kernel: never refused.
		_ = child.sig.pending.add(NewSigInfo(int32(unix.SIGSTOP), linux.SI_USER, 0, 0), sigQuota{})
		child.sig.mu.Unlock()
	}
	if t.ptrace.options&option == 0 {
		return 0, 0
	}
	return event, option
}

// attachLocked makes tracer trace tracee; k.mu is held.
func (tracer *Task) attachLocked(tracee *Task, seized bool, options uint32) {
	tracee.ptrace.tracer, tracee.ptrace.seized, tracee.ptrace.options = tracer, seized, options
	tracee.traced.Store(true)
	tracee.ptrace.syscallStops, tracee.ptrace.sysemu, tracee.ptrace.singlestep = false, false, false
	if tracer.ptrace.tracees == nil {
		tracer.ptrace.tracees = map[*Task]struct{}{}
	}
	tracer.ptrace.tracees[tracee] = struct{}{}
}

// detachLocked ends tracing of tracee, which runs on with sig; k.mu is
// held.
func (tracer *Task) detachLocked(tracee *Task, sig int) {
	delete(tracer.ptrace.tracees, tracee)
	tracee.ptrace.tracer = nil
	tracee.traced.Store(false)
	tracee.ptrace.options = 0
	tracee.ptrace.syscallStops, tracee.ptrace.sysemu, tracee.ptrace.singlestep = false, false, false
	tracee.setPtraceInterrupt(false)
	tracee.ptrace.syscallInfo = syscallStopInfo{}
	tracee.ptraceResumeLocked(sig)
}

// ptraceTracerExit lets go of t's tracees when t exits: they run on, or
// die under PTRACE_O_EXITKILL.
func (t *Task) ptraceTracerExit() {
	k := t.K
	k.mu.Lock()
	t.ptrace.gone = true
	var kill []*Task
	for tracee := range t.ptrace.tracees {
		if tracee.ptrace.options&linux.PTRACE_O_EXITKILL != 0 {
			kill = append(kill, tracee)
		}
		t.detachLocked(tracee, 0)
	}
	for _, r := range t.ptrace.exited {
		k.releaseHeldLocked(r.held)
	}
	t.ptrace.exited = nil
	k.treeChanged.Broadcast()
	k.mu.Unlock()
	for _, tracee := range kill {
		tracee.TG.Kill(int(unix.SIGKILL))
	}
}

// ptraceTraceeExitedLocked tells t's tracer that t exited with st, unless
// the tracer's process is the one that waits for t anyway (t leads a
// child of it); k.mu is held.
func (k *Kernel) ptraceTraceeExitedLocked(t *Task, st ExitStatus, groupDied bool) {
	tr := t.ptrace.tracer
	if tr == nil {
		return
	}
	delete(tr.ptrace.tracees, t)
	t.ptrace.tracer = nil
	t.traced.Store(false)
	leader := t.TID == t.TG.PID
	if leader && t.TG.parent == tr.TG {
		return
	}
	if leader && !groupDied {
		return
	}
	r := WaitResult{PID: tr.TIDOf(t), kid: t.TID, UID: t.TG.realUID(), Status: st}
	if leader && t.TG.tracerHolds {
		r.held = t.TG
	}
	tr.ptrace.exited = append(tr.ptrace.exited, r)
}

// waitTraceesLocked looks for a tracee of t's process that o selects and
// that has a stop or an exit to report; matched says whether any tracee
// was selected. k.mu is held.
func (t *Task) waitTraceesLocked(o WaitOptions) (res WaitResult, found, matched bool) {
	for _, tracer := range t.TG.tasks {
		for i, r := range tracer.ptrace.exited {
			if o.Pid > 0 && r.kid != o.Pid || o.Pid < -1 || o.Pid == 0 {
				continue
			}
			matched = true
			if o.NoExit {
				continue
			}
			if !o.NoWait {
				tracer.ptrace.exited = append(tracer.ptrace.exited[:i:i], tracer.ptrace.exited[i+1:]...)
				t.K.releaseHeldLocked(r.held)
			}
			return r, true, true
		}
		for tracee := range tracer.ptrace.tracees {
			if !t.matchesTracee(tracee, o.Pid) {
				continue
			}
			matched = true
			st := tracee.ptrace.stop
			if st == nil || st.reported {
				continue
			}
			st.reported = !o.NoWait
			return WaitResult{PID: t.TIDOf(tracee), kid: tracee.TID, UID: tracee.TG.realUID(), Stopped: st.status, live: tracee.TG}, true, true
		}
	}
	return WaitResult{}, false, matched
}

// matchesTracee is matches for a traced task: a pid names its thread.
func (t *Task) matchesTracee(tracee *Task, pid int) bool {
	if pid > 0 {
		return tracee.TID == pid
	}
	return t.matches(tracee.TG, pid)
}

// ptraceSeized reports whether the task's tracer attached with
// PTRACE_SEIZE.
func (t *Task) ptraceSeized() bool {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	return t.ptrace.seized
}
