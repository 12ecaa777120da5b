package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/kernel"
)

func registerSignal(st *kernel.SyscallTable) {
	reg(st, unix.SYS_RT_SIGACTION, "rt_sigaction", rtSigaction, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_RT_SIGPROCMASK, "rt_sigprocmask", rtSigprocmask, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SIGALTSTACK, "sigaltstack", sigaltstack, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_RT_SIGRETURN, "rt_sigreturn", rtSigreturn)
	reg(st, unix.SYS_KILL, "kill", kill, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_TKILL, "tkill", tkill, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_TGKILL, "tgkill", tgkill, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_RT_SIGPENDING, "rt_sigpending", rtSigpending, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_RT_SIGSUSPEND, "rt_sigsuspend", rtSigsuspend, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_PAUSE, "pause", pause)
	reg(st, unix.SYS_RT_SIGTIMEDWAIT, "rt_sigtimedwait", rtSigtimedwait, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_RT_SIGQUEUEINFO, "rt_sigqueueinfo", rtSigqueueinfo, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", rtTgsigqueueinfo, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_RESTART_SYSCALL, "restart_syscall", restartSyscall)
	reg(st, unix.SYS_SIGNALFD, "signalfd", signalfdOld, kernel.ArgFD, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SIGNALFD4, "signalfd4", signalfd4, kernel.ArgFD, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
}

// sigsetSize is the only sigsetsize the rt_sig* syscalls take: the
// kernel's sigset_t, linux.SignalSet.
const sigsetSize = linux.SignalSetSize

func rtSigaction(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sig := int(a.Int(0))
	if a.Pointer(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	if sig < 1 || sig > 64 {
		return 0, unix.EINVAL
	}
	old := t.TG.SigAction(sig)
	if a.Pointer(1) != 0 {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			return 0, unix.EINVAL
		}
		var act linux.SigAction
		if err := kernel.CopyIn(t, a.Pointer(1), &act); err != nil {
			return 0, err
		}
		act.Mask &^= kernel.UnblockableSignals
		t.TG.SetSigAction(sig, act)
		t.TG.DropIgnoredPending(sig)
	}
	if a.Pointer(2) != 0 {
		return 0, kernel.CopyOut(t, a.Pointer(2), &old)
	}
	return 0, nil
}

func rtSigprocmask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.SigMask()
	if a.Pointer(1) != 0 {
		var set linux.SignalSet
		if err := kernel.CopyIn(t, a.Pointer(1), &set); err != nil {
			return 0, err
		}
		switch a.Int(0) {
		case unix.SIG_BLOCK:
			t.SetSigMask(t.SigMask() | uint64(set))
		case unix.SIG_UNBLOCK:
			t.SetSigMask(t.SigMask() &^ uint64(set))
		case unix.SIG_SETMASK:
			t.SetSigMask(uint64(set))
		default:
			return 0, unix.EINVAL
		}
		t.SetSigMask(t.SigMask() &^ kernel.UnblockableSignals)
	}
	if a.Pointer(2) != 0 {
		return 0, kernel.CopyOut(t, a.Pointer(2), &old)
	}
	return 0, nil
}

func sigaltstack(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var ss *linux.SignalStack
	if a.Pointer(0) != 0 {
		ss = new(linux.SignalStack)
		if err := kernel.CopyIn(t, a.Pointer(0), ss); err != nil {
			return 0, err
		}
	}
	old, err := t.SigAltStack(ss, t.Regs.Rsp)
	if err != nil {
		return 0, err
	}
	if a.Pointer(1) != 0 {
		return 0, kernel.CopyOut(t, a.Pointer(1), &old)
	}
	return 0, nil
}

func restartSyscall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.RestartSyscall()
}

func rtSigreturn(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.SigReturn()
}

// validSignal reports whether sig is a signal number (0 is the existence
// check kill allows).
func validSignal(sig int32) bool { return sig >= 0 && sig <= 64 }

func kill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, sig := int(a.Int(0)), a.Int(1)
	// An invalid signal is EINVAL once there is a target (Kernel.Kill).
	si := kernel.NewSigInfo(sig, 0, t.PID(), t.Creds().UID.Real)
	return 0, t.K.Kill(t, pid, si)
}

func tkill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, sendToThread(t, -1, int(a.Int(0)), a.Int(1))
}

func tgkill(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) <= 0 {
		// -1 would be sendToThread's "any process": a caller's -1 is
		// not a process.
		return 0, unix.EINVAL
	}
	return 0, sendToThread(t, int(a.Int(0)), int(a.Int(1)), a.Int(2))
}

// sendToThread implements tkill and tgkill (tgid -1: any group); a
// zombie, until reaped, is found and takes the signal as a dead task
// does, dropping it.
func sendToThread(t *kernel.Task, tgid, tid int, sig int32) error {
	if tid <= 0 || tgid == 0 || tgid < -1 || !validSignal(sig) {
		return unix.EINVAL
	}
	target := t.LookupTaskOrZombie(tid)
	if target == nil || tgid != -1 && t.PIDOf(target.TG) != tgid {
		return unix.ESRCH
	}
	if err := t.MaySignal(target.TG, int(sig)); err != nil {
		return err
	}
	if sig == 0 || target.IsZombie() {
		return nil // a zombie's signals are dropped
	}
	si := kernel.NewSigInfo(sig, linux.SI_TKILL, t.PID(), t.Creds().UID.Real)
	if t.SignalDropped(target.TG, &si) {
		return nil
	}
	return target.SendSignal(si)
}

func rtSigpending(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(1) > sigsetSize {
		return 0, unix.EINVAL
	}
	set := linux.SignalSet(t.PendingSignals() & t.SigMask())
	return 0, t.CopyOut(a.Pointer(0), abi.AsBytes(&set)[:a.Pointer(1)])
}

// waitForSignal blocks until a signal is deliverable or the task is killed.
func waitForSignal(t *kernel.Task) {
	select {
	case <-t.SignalNotify():
	case <-t.Killed():
	}
}

func rtSigsuspend(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(1) != sigsetSize {
		return 0, unix.EINVAL
	}
	var set linux.SignalSet
	if err := kernel.CopyIn(t, a.Pointer(0), &set); err != nil {
		return 0, err
	}
	old := t.SigMask()
	t.SetSigMask(uint64(set) &^ kernel.UnblockableSignals)
	waitForSignal(t)
	// The handler runs with the suspend mask; rt_sigreturn restores old.
	t.RestoreMaskAfterSignal(old)
	return 0, unix.EINTR
}

func pause(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	waitForSignal(t)
	return 0, unix.EINTR
}

func rtSigtimedwait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	var wanted linux.SignalSet
	if err := kernel.CopyIn(t, a.Pointer(0), &wanted); err != nil {
		return 0, err
	}
	set := uint64(wanted) &^ kernel.UnblockableSignals
	var expired <-chan time.Time
	if a.Pointer(2) != 0 {
		d, err := copyInTimespec(t, a.Pointer(2))
		if err != nil {
			return 0, err
		}
		timer := time.NewTimer(clocks.HostWait(d))
		defer timer.Stop()
		expired = timer.C
	}
	for {
		if si, ok := t.Dequeue(set); ok {
			if a.Pointer(1) != 0 {
				if err := kernel.CopyOut(t, a.Pointer(1), &si); err != nil {
					return 0, err
				}
			}
			return uintptr(si.Signo), nil
		}
		// Wait with the set unblocked, so that its signals wake us.
		restore := t.UnblockToWait(set)
		select {
		case <-t.SignalNotify():
		case <-t.Killed():
		case <-expired:
			restore()
			return 0, unix.EAGAIN
		}
		restore()
		// A signal of the set is taken next time round; any other
		// wake-up that does not end the wait means waiting again.
		if t.PendingSignals()&set == 0 && t.MustStopWaiting() {
			return 0, unix.EINTR
		}
	}
}

// copyInSigInfo reads a siginfo for rt_*sigqueueinfo.
func copyInSigInfo(t *kernel.Task, addr uintptr, sig int32) (kernel.SigInfo, error) {
	var si kernel.SigInfo
	if err := kernel.CopyIn(t, addr, &si); err != nil {
		return si, err
	}
	si.Signo = sig
	kernel.SenderUIDToKernel(&si, t.UserNS())
	return si, nil
}

// mayClaim checks that a queued siginfo does not claim to come from the
// kernel or from kill unless the caller sends it to itself (to is the
// pid or tid argument, compared with the caller's tid as
// do_rt_sigqueueinfo does): EPERM.
func mayClaim(t *kernel.Task, si kernel.SigInfo, to int) error {
	if (si.Code >= 0 || si.Code == linux.SI_TKILL) && to != t.ThreadID() {
		return unix.EPERM
	}
	return nil
}

func rtSigqueueinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, sig := int(a.Int(0)), a.Int(1)
	si, err := copyInSigInfo(t, a.Pointer(2), sig)
	if err != nil {
		return 0, err
	}
	if err := mayClaim(t, si, pid); err != nil {
		return 0, err
	}
	if pid <= 0 {
		// One process only: no group, no "every process" (kill_proc_info
		// finds no task for them).
		return 0, unix.ESRCH
	}
	return 0, t.K.Kill(t, pid, si)
}

func rtTgsigqueueinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tgid, tid, sig := int(a.Int(0)), int(a.Int(1)), a.Int(2)
	si, err := copyInSigInfo(t, a.Pointer(3), sig)
	if err != nil {
		return 0, err
	}
	if tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	if err := mayClaim(t, si, tid); err != nil {
		return 0, err
	}
	target := t.LookupTaskOrZombie(tid)
	if target == nil || t.PIDOf(target.TG) != tgid {
		return 0, unix.ESRCH
	}
	if !validSignal(sig) {
		return 0, unix.EINVAL
	}
	if err := t.MaySignal(target.TG, int(sig)); err != nil {
		return 0, err
	}
	if sig == 0 || target.IsZombie() || t.SignalDropped(target.TG, &si) {
		return 0, nil
	}
	return 0, target.SendSignal(si)
}
