package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/vfs"
)

// Signals, as Linux delivers them: a signal is posted to a task or to its
// thread group, stays pending while blocked, and is delivered when the task
// next returns to the application: ignored, handled by its default action,
// or by running the application's handler on a signal frame built like the
// kernel's (rt_sigframe: return address, ucontext, siginfo, XSAVE area), so
// that glibc, musl and Go accept it. rt_sigreturn restores from that frame.
//
// Interrupted syscalls restart as in Linux (restart.go); stop signals
// stop the process (jobcontrol.go).

// SigInfo is a siginfo_t.
type SigInfo = linux.SignalInfo

// NewSigInfo returns a siginfo with signo, code and the sender's pid/uid.
func NewSigInfo(sig, code int32, pid int, uid uint32) SigInfo {
	si := SigInfo{Signo: sig, Code: code}
	si.SetPID(int32(pid))
	si.SetUID(int32(uid))
	return si
}

// showSenderUID maps the sender's kernel uid in si, if its layout has one
// (kill, tkill, sigqueue, mq_notify, and a child's SIGCHLD), into the
// receiver's user namespace ns, as __send_signal does; an unmapped one
// shows as the overflow uid.
func showSenderUID(si *SigInfo, ns *UserNamespace) {
	if ns != nil && hasSenderUID(si) {
		si.SetUID(int32(ns.ShowUID(uint32(si.UID()))))
	}
}

// hasSenderUID reports whether si's layout carries a sender's uid.
func hasSenderUID(si *SigInfo) bool {
	switch code := si.Code; {
	case code == linux.SI_USER, code == linux.SI_TKILL, code == linux.SI_QUEUE, code == linux.SI_MESGQ:
		return true
	case code >= linux.CLD_EXITED && code <= linux.CLD_CONTINUED && !faultSignal(si.Signo):
		return true
	}
	return false
}

// SenderUIDToKernel maps the uid a process wrote in a siginfo it queues
// (rt_sigqueueinfo) from its user namespace ns to a kernel uid, which the
// receiver's namespace then shows (userns_fixup_signal_uid); an unmapped
// one becomes the overflow uid (a receiver whose namespace maps kernel
// uid 65534 elsewhere sees that, where Linux shows 65534).
func SenderUIDToKernel(si *SigInfo, ns *UserNamespace) {
	if ns == nil || !hasSenderUID(si) {
		return
	}
	k, ok := ns.UIDToKernel(uint32(si.UID()))
	if !ok {
		k = OverflowID
	}
	si.SetUID(int32(k))
}

// faultSignal reports whether sig is one a fault raises, whose positive
// codes are not a child's.
func faultSignal(sig int32) bool {
	switch sig {
	case int32(unix.SIGSEGV), int32(unix.SIGBUS), int32(unix.SIGILL), int32(unix.SIGFPE), int32(unix.SIGTRAP):
		return true
	}
	return false
}

// ChildInfo returns the siginfo of a SIGCHLD (or another exit signal) about
// child pid: what happened (code, a CLD_*) and its status.
func ChildInfo(sig, code int32, pid int, uid uint32, status int32) SigInfo {
	si := NewSigInfo(sig, code, pid, uid)
	si.SetStatus(status)
	return si
}

const sigRTMin = 32

// UnblockableSignals are SIGKILL and SIGSTOP, which no mask blocks, no
// handler catches and no signalfd takes.
const UnblockableSignals = 1<<(linux.SIGKILL-1) | 1<<(linux.SIGSTOP-1)

// signalState is a task's blocked mask, pending signals, and what wakes it
// from a blocking syscall when a signal arrives.
type signalState struct {
	mu      sync.Mutex
	pending pendingSet // signals sent to this thread; guarded by mu
	// notify is closed (and replaced) when a signal becomes deliverable;
	// guarded by mu.
	notify chan struct{}
}

// SignalNotify returns a channel closed when a signal arrives that the task
// should handle; blocking syscalls select on it and return EINTR. They ask
// for it right before they block, so it is also where the task lends its
// host thread (idle).
func (t *Task) SignalNotify() <-chan struct{} {
	t.idle()
	t.sig.mu.Lock()
	defer t.sig.mu.Unlock()
	if t.sig.notify == nil {
		t.sig.notify = make(chan struct{})
	}
	if t.deliverableLocked() || t.ptrace.interruptPending.Load() {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.sig.notify
}

// deliverableLocked reports whether an unblocked signal is pending for t;
// t.sig.mu is held.
func (t *Task) deliverableLocked() bool {
	blocked := t.SigMask()
	return t.sig.pending.mask&^blocked != 0 || t.TG.pendingMask()&^blocked != 0
}

// wake gets the task's attention: blocking syscalls (through SignalNotify
// and the process tree's condition) and the application (Interrupt).
func (t *Task) wake() {
	t.interrupt()
	t.K.mu.Lock()
	t.K.treeChanged.Broadcast()
	t.K.mu.Unlock()
}

// interrupt is wake without the process tree's condition, for callers
// that hold k.mu and broadcast it themselves.
func (t *Task) interrupt() {
	t.sig.mu.Lock()
	if t.sig.notify != nil {
		close(t.sig.notify)
		t.sig.notify = nil
	}
	t.sig.mu.Unlock()
	t.ctx.Interrupt()
}

// idle lets the platform context lend its host thread while the task
// waits (platform.Idler).
func (t *Task) idle() {
	if i, ok := t.ctx.(platform.Idler); ok {
		i.Idle()
	}
}

// Interrupted returns a channel closed when a blocking syscall of the task
// must return EINTR: the task is being killed, or has a signal to handle.
func (t *Task) Interrupted() <-chan struct{} {
	if t.isKilled() {
		return t.killed
	}
	return t.SignalNotify()
}

// SignalPending reports whether a signal the task does not block is
// pending: a blocking syscall should return EINTR.
func (t *Task) SignalPending() bool {
	t.sig.mu.Lock()
	defer t.sig.mu.Unlock()
	return t.deliverableLocked()
}

// MustStopWaiting reports whether a wait for signals (sigtimedwait) has
// to end with EINTR: a signal the task does not block is pending, the
// task is being killed, or a ptrace interrupt is due. A signal that
// arrives blocked wakes the waiter too (wake), but is no reason to stop.
func (t *Task) MustStopWaiting() bool {
	t.sig.mu.Lock()
	defer t.sig.mu.Unlock()
	return t.deliverableLocked() || t.ptrace.interruptPending.Load() || t.isKilled()
}

// SendSignal posts a signal to this thread (tkill, a fault). The error is
// EAGAIN for a real-time signal beyond RLIMIT_SIGPENDING (sigqueue.go).
func (t *Task) SendSignal(si SigInfo) error {
	_, err := t.sendSignal(si, nil)
	return err
}

// SendTimerSignal posts the signal si of POSIX timer it to this thread
// (SIGEV_THREAD_ID); false if the signal is ignored (send_sigqueue).
func (t *Task) SendTimerSignal(si SigInfo, it *IntervalTimer) bool {
	ignored, _ := t.sendSignal(si, it)
	return !ignored
}

// sendSignal posts si, the signal of timer if that is not nil.
func (t *Task) sendSignal(si SigInfo, timer *IntervalTimer) (ignored bool, err error) {
	showSenderUID(&si, t.TG.userNS())
	t.TG.prepareSignal(int(si.Signo))
	if t.ignored(int(si.Signo)) {
		return true, nil
	}
	if timer != nil {
		t.sig.mu.Lock()
		t.sig.pending.addTimer(si, timer)
		t.sig.mu.Unlock()
	} else {
		quota := t.TG.sigQuota()
		t.sig.mu.Lock()
		err = t.sig.pending.add(si, quota)
		t.sig.mu.Unlock()
		if err != nil {
			return false, err
		}
	}
	t.TG.signalQueued()
	// A blocked signal wakes nothing (complete_signal's wants_signal): it
	// stays pending until the thread unblocks it, or waits for it with
	// the set unblocked (UnblockToWait).
	if si.Signo <= 0 || t.SigMask()&(1<<(si.Signo-1)) == 0 {
		t.wake()
	}
	return false, nil
}

// signalQueued tells the process's signalfds that a signal became pending
// (Linux's sighand->signalfd_wqh). Both ways of posting a signal end here.
func (tg *ThreadGroup) signalQueued() {
	tg.signalQueue.Notify(unix.POLLIN | linux.POLLRDNORM)
}

// SignalQueue is notified whenever a signal is queued to the process or
// one of its threads; signalfds wait on it.
func (tg *ThreadGroup) SignalQueue() *vfs.Queue { return &tg.signalQueue }

// SendSignal posts a signal to the process: one of its threads that does
// not block it will take it. The error is EAGAIN for a real-time signal
// beyond RLIMIT_SIGPENDING (sigqueue.go).
func (tg *ThreadGroup) SendSignal(si SigInfo) error {
	_, err := tg.sendSignal(si, nil)
	return err
}

// SendTimerSignal posts the signal si of POSIX timer it to the process;
// false if the signal is ignored (send_sigqueue).
func (tg *ThreadGroup) SendTimerSignal(si SigInfo, it *IntervalTimer) bool {
	ignored, _ := tg.sendSignal(si, it)
	return !ignored
}

// sendSignal posts si, the signal of timer if that is not nil.
func (tg *ThreadGroup) sendSignal(si SigInfo, timer *IntervalTimer) (ignored bool, err error) {
	showSenderUID(&si, tg.userNS())
	sig := int(si.Signo)
	if sig == int(unix.SIGKILL) {
		tg.Kill(sig)
		return false, nil
	}
	tg.prepareSignal(sig)
	k := tg.k
	k.mu.Lock()
	target, ignored, err := tg.queueLocked(si, timer)
	k.mu.Unlock()
	if target != nil {
		target.wake()
	}
	return ignored, err
}

// queueLocked queues si (the signal of timer, if not nil) for the process
// and returns the thread to wake, nil if the signal is dropped or every
// thread blocks it; k.mu is held.
func (tg *ThreadGroup) queueLocked(si SigInfo, timer *IntervalTimer) (target *Task, ignored bool, err error) {
	sig := int(si.Signo)
	tasks := tg.tasks
	if len(tasks) == 0 {
		return nil, false, nil
	}
	if tasks[0].ignored(sig) {
		return nil, true, nil
	}
	if timer != nil {
		tg.sigmu.Lock()
		tg.pending.addTimer(si, timer)
		tg.sigmu.Unlock()
	} else {
		quota := tg.sigQuota()
		tg.sigmu.Lock()
		err := tg.pending.add(si, quota)
		tg.sigmu.Unlock()
		if err != nil {
			return nil, false, err
		}
	}
	tg.signalQueued()
	for _, t := range tasks {
		if t.SigMask()&(1<<(sig-1)) == 0 {
			return t, false, nil
		}
	}
	return nil, false, nil // every thread blocks it: it waits, pending
}

func (tg *ThreadGroup) pendingMask() uint64 {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	return tg.pending.mask
}

// PendingSignals returns the task's and its group's pending set.
func (t *Task) PendingSignals() uint64 {
	t.sig.mu.Lock()
	defer t.sig.mu.Unlock()
	return t.sig.pending.mask | t.TG.pendingMask()
}

// SignalMasks returns what /proc/PID/status shows of t's signals: those
// pending for the thread and for its process, and those its process
// ignores (SIG_IGN) and catches (a handler).
func (t *Task) SignalMasks() (pending, shared, ignored, caught uint64) {
	t.sig.mu.Lock()
	pending = t.sig.pending.mask
	t.sig.mu.Unlock()
	tg := t.TG
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	for sig, act := range tg.handlers {
		switch act.Handler {
		case linux.SIG_DFL:
		case linux.SIG_IGN:
			ignored |= 1 << (sig - 1)
		default:
			caught |= 1 << (sig - 1)
		}
	}
	return pending, tg.pending.mask, ignored, caught
}

// ignored reports whether sig would be dropped on arrival: SIG_IGN, or
// SIG_DFL with an ignoring default action. A blocked signal is never
// dropped (sig_ignored): its action may change before it is unblocked, and
// a signalfd may read it.
func (t *Task) ignored(sig int) bool {
	if (t.SigMask()|t.realBlocked.Load())&(1<<(sig-1)) != 0 {
		return false
	}
	if t.Traced() && sig != int(unix.SIGKILL) {
		// The tracer hears of every signal (sig_ignored).
		return false
	}
	act := t.TG.SigAction(sig)
	switch act.Handler {
	case linux.SIG_IGN:
		return sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP)
	case linux.SIG_DFL:
		// A namespace's init takes only the signals it handles, and
		// SIGKILL and SIGSTOP from above (NSInitIgnores checks the
		// sender of those).
		return defaultAction(sig) == actIgnore || t.TG.unkillable.Load() && !kernelOnly(sig)
	}
	return false
}

// kernelOnly reports whether sig is SIGKILL or SIGSTOP, which no handler
// takes (sig_kernel_only).
func kernelOnly(sig int) bool { return sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) }

// dequeue takes the next deliverable signal, from the thread first. A
// POSIX timer's signal re-arms its timer (dequeue_signal's
// posixtimer_rearm), with the signal locks released.
func (t *Task) dequeue(blocked uint64) (SigInfo, bool) {
	if t.sig.pending.maskSeen.Load()&^blocked == 0 && t.TG.pending.maskSeen.Load()&^blocked == 0 {
		return SigInfo{}, false // nothing deliverable: no lock (pendingSet.maskSeen)
	}
	t.sig.mu.Lock()
	si, timer, ok := t.sig.pending.take(blocked)
	if !ok {
		t.TG.sigmu.Lock()
		si, timer, ok = t.TG.pending.take(blocked)
		t.TG.sigmu.Unlock()
	}
	t.sig.mu.Unlock()
	if timer != nil {
		timer.delivered(&si)
	}
	return si, ok
}

// Dequeue takes a pending signal in set (rt_sigtimedwait).
func (t *Task) Dequeue(set uint64) (SigInfo, bool) { return t.dequeue(^set) }

type action int

const (
	actTerminate action = iota
	actIgnore
	actStop
)

// defaultAction is signal(7)'s table; core dumps count as termination.
func defaultAction(sig int) action {
	switch unix.Signal(sig) {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGCONT:
		return actIgnore
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return actStop
	}
	return actTerminate
}

// deliverSignals runs before the task returns to the application: it
// delivers at most one handled signal (its frame then runs first) and
// applies default actions.
func (t *Task) deliverSignals() {
	for !t.isKilled() {
		if !t.Traced() {
			t.waitWhileStopped()
		}
		t.ptraceInterrupted()
		si, ok := t.dequeue(t.SigMask())
		if !ok {
			if t.savedMask != nil {
				// rt_sigsuspend returned without a handler running.
				t.SetSigMask(*t.savedMask)
				t.savedMask = nil
			}
			t.restartAfterSignal(false, 0)
			return
		}
		if si, ok = t.ptraceSignalStop(si); !ok {
			continue
		}
		sig := int(si.Signo)
		if tr := t.K.observe.strace.Load(); tr != nil && sig != int(unix.SIGKILL) {
			traced := si // its address escapes: si's own would be allocated on every call
			(*tr).Signal(t, &traced)
		}
		act := t.TG.SigAction(sig)
		switch h := act.Handler; {
		case h == linux.SIG_IGN:
			continue
		case h == linux.SIG_DFL:
			if t.TG.unkillable.Load() && !kernelOnly(sig) {
				continue // a namespace's init (get_signal's SIGNAL_UNKILLABLE)
			}
			switch defaultAction(sig) {
			case actIgnore:
				continue
			case actStop:
				t.groupStop(sig)
				t.ptraceGroupStop(sig)
				continue
			}
			st := ExitStatus{Signal: sig}
			if dumpsCore(sig) {
				st.CoreDumped = t.dumpCore(si)
			}
			if sig != int(unix.SIGKILL) {
				// Death by a signal stops at PTRACE_EVENT_EXIT with the
				// signal as the exit code; SIGKILL does not stop (Linux's
				// ptrace_stop refuses under a fatal SIGKILL).
				t.ptraceEvent(linux.PTRACE_EVENT_EXIT, linux.PTRACE_O_TRACEEXIT, uint64(st.WaitStatus()))
			}
			t.TG.exit(st)
			return
		}
		t.restartAfterSignal(true, act.Flags)
		if err := t.pushFrame(sig, si, act); err != nil {
			// As Linux (force_sigsegv): a frame that cannot be written
			// forces a SIGSEGV, which a handler may catch (on another
			// stack); death if the frame was SIGSEGV's own.
			if sig == int(unix.SIGSEGV) {
				t.ExitGroup(0, sig)
				return
			}
			t.forceSignal(NewSigInfo(int32(unix.SIGSEGV), linux.SI_KERNEL, 0, 0))
			continue
		}
		if act.Flags&linux.SA_RESETHAND != 0 {
			// Only the handler goes back to SIG_DFL; the flags and
			// mask stay, as in Linux's handle_signal.
			reset := act
			reset.Handler = linux.SIG_DFL
			t.TG.SetSigAction(sig, reset)
		}
		return
	}
}

// forceSignal delivers a synchronous signal (a fault): if it is blocked or
// ignored, the default action applies, as force_sig does.
func (t *Task) forceSignal(si SigInfo) {
	sig := int(si.Signo)
	bit := uint64(1) << (sig - 1)
	act := t.TG.SigAction(sig)
	if t.SigMask()&bit != 0 || act.Handler == linux.SIG_IGN {
		t.TG.SetSigAction(sig, linux.SigAction{})
		t.SetSigMask(t.SigMask() &^ bit)
		act.Handler = linux.SIG_DFL
	}
	if act.Handler == linux.SIG_DFL {
		t.TG.unkillable.Store(false) // a namespace's init dies of it too
	}
	t.sig.mu.Lock()
	// Forced: it queues whatever the limit, charged to nobody (a
	// fault's signal is standard and from the kernel, which Linux
	// queues past RLIMIT_SIGPENDING too). The zero quota never refuses.
	_ = t.sig.pending.add(si, sigQuota{})
	t.sig.mu.Unlock()
}

// faultInfo is the siginfo of an application fault.
func faultInfo(ev platform.Event) SigInfo {
	if ev.Kind == platform.EventSignal {
		if s := ev.Signal.Signo; s >= 1 && s <= linux.SignalMaximum {
			return ev.Signal
		}
		// Not a signal: the platform read the number from a frame
		// the application can write (systrap's signal frame), and the
		// application forged it. Only the application pays: SIGSEGV.
		return NewSigInfo(int32(unix.SIGSEGV), linux.SI_KERNEL, 0, 0)
	}
	si := NewSigInfo(int32(unix.SIGSEGV), abi.SEGV_MAPERR, 0, 0)
	if ev.Signal.Signo == int32(unix.SIGSEGV) {
		si = ev.Signal
	}
	si.SetAddr(uint64(ev.Fault.Addr))
	return si
}

// RestoreMaskAfterSignal makes the next signal frame save old as the mask to
// restore (rt_sigsuspend); if no signal is delivered, old is restored at
// once.
func (t *Task) RestoreMaskAfterSignal(old uint64) { t.savedMask = &old }

// Kill sends si as kill(2) does: pid > 0 that process (or the process of
// thread pid), 0 the caller's
// process group, -1 every process but init and the caller, < -1 the group
// -pid. Signal 0 only checks that a target exists and may be signalled.
// As in Linux, a process the caller may not signal (MaySignal) is EPERM
// for one pid, makes a group EPERM only if no member could be signalled,
// and is skipped silently by -1.
func (k *Kernel) Kill(from *Task, pid int, si SigInfo) error {
	// pid names a process of from's namespace (pidns.go): one outside it
	// does not exist for from.
	if pid > 0 || pid < -1 {
		kid := from.KernelIDOf(max(pid, -pid))
		switch {
		case kid == 0:
			return unix.ESRCH
		case pid > 0:
			pid = kid
		default:
			pid = -kid
		}
	}
	ns := from.PIDNS()
	k.mu.Lock()
	var targets []*ThreadGroup
	switch {
	case pid > 0:
		tg := k.groups[pid]
		if t := k.tasks[pid]; tg == nil && t != nil {
			// A thread's ID names its process too (kill_pid_info
			// finds any task, then signals its group).
			tg = t.TG
		}
		if tg != nil && tg.zombie {
			// A zombie's PID still names it: the signal is checked
			// and goes nowhere (Linux's group_send_sig_info).
			k.mu.Unlock()
			return from.checkZombies([]*ThreadGroup{tg}, si)
		}
		if tg != nil {
			targets = append(targets, tg)
		}
	case pid == -1:
		// Every process from sees but its namespace's init and itself.
		for _, tg := range k.groups {
			if tg != ns.init && tg != from.TG && !tg.zombie && ns.IsAncestorOf(tg.pidns) {
				targets = append(targets, tg)
			}
		}
	default:
		pgid := -pid
		if pid == 0 {
			pgid = from.TG.pgid
		}
		targets = k.pgrpLocked(pgid)
		if len(targets) == 0 {
			// Zombies alone: as a zombie's PID above (kill_pgrp
			// finds them until they are reaped).
			var zombies []*ThreadGroup
			for _, tg := range k.groups {
				if tg.pgid == pgid && tg.zombie {
					zombies = append(zombies, tg)
				}
			}
			k.mu.Unlock()
			return from.checkZombies(zombies, si)
		}
	}
	k.mu.Unlock()
	return from.signalAll(targets, si, pid == -1)
}

// checkZombies is kill(2) of zombies only: ESRCH without any, EINVAL for
// an invalid signal, then success if t may signal one of them.
func (t *Task) checkZombies(zombies []*ThreadGroup, si SigInfo) error {
	if len(zombies) == 0 {
		return unix.ESRCH
	}
	if !validSignal(si.Signo) {
		return unix.EINVAL
	}
	for _, tg := range zombies {
		if t.MaySignal(tg, int(si.Signo)) == nil {
			return nil
		}
	}
	return unix.EPERM
}

// KillGroup sends si from t to every process of group pgrp, as kill(2)
// with -pgrp does.
func (k *Kernel) KillGroup(from *Task, pgrp int, si SigInfo) error {
	k.mu.Lock()
	targets := k.pgrpLocked(pgrp)
	k.mu.Unlock()
	return from.signalAll(targets, si, false)
}

// validSignal reports whether sig is a signal number (0 checks only).
func validSignal(sig int32) bool { return sig >= 0 && sig <= 64 }

// signalAll sends si from t to each of targets that t may signal: ESRCH
// without targets, EPERM if none could be signalled unless quiet (kill
// -1 says nothing of those it skipped).
func (t *Task) signalAll(targets []*ThreadGroup, si SigInfo, quiet bool) error {
	if len(targets) == 0 {
		return unix.ESRCH
	}
	// The signal number is checked once there is a target
	// (check_kill_permission): kill of no process is ESRCH whatever the
	// signal.
	if !validSignal(si.Signo) {
		return unix.EINVAL
	}
	sent, queued := 0, 0
	var queueErr error
	for _, tg := range targets {
		if err := t.MaySignal(tg, int(si.Signo)); err != nil {
			continue
		}
		sent++
		if int(si.Signo) == 0 {
			continue
		}
		si := si
		if t.SignalDropped(tg, &si) {
			queued++
			continue
		}
		if err := tg.SendSignal(si); err != nil {
			queueErr = err
		} else {
			queued++
		}
	}
	if sent == 0 && !quiet {
		return unix.EPERM
	}
	if queued == 0 && queueErr != nil {
		// Refused by every target (RLIMIT_SIGPENDING: EAGAIN); a group
		// of which one took it succeeds, as __kill_pgrp_info.
		return queueErr
	}
	return nil
}

// MaySignal is check_kill_permission for a signal the application sends:
// a process may signal itself, and another process if its real or
// effective user ID is the target's real or saved one, or it holds
// CAP_KILL; SIGCONT reaches every process of its session. EPERM
// otherwise.
func (t *Task) MaySignal(tg *ThreadGroup, sig int) error {
	if tg == t.TG {
		return nil
	}
	c, tc := t.Creds().UID, tg.uids()
	// CAP_KILL counts in the target's user namespace (kill_ok_by_cred).
	if t.Creds().HasCapIn(tg.userNS(), linux.CAP_KILL) || c.Effective == tc.Saved || c.Effective == tc.Real || c.Real == tc.Saved || c.Real == tc.Real {
		return nil
	}
	if sig == int(unix.SIGCONT) {
		t.K.mu.Lock()
		same := tg.sid == t.TG.sid
		t.K.mu.Unlock()
		if same {
			return nil
		}
	}
	return unix.EPERM
}
