package linux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

func registerSignal(st *kernel.SyscallTable) {
	partial(st, unix.SYS_RT_SIGACTION, "rt_sigaction", rtSigaction, "recorded; handlers are not run until signal delivery lands", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_RT_SIGPROCMASK, "rt_sigprocmask", rtSigprocmask, "recorded; nothing is delivered yet", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_SIGALTSTACK, "sigaltstack", sigaltstack, "recorded; nothing is delivered yet", kernel.ArgHex, kernel.ArgHex)
}

const (
	sigsetSize = 8
	// sigactionSize is the kernel's struct sigaction on x86-64: handler,
	// flags, restorer, mask.
	sigactionSize = 32
	// Signals that cannot be caught, blocked or ignored.
	unblockable = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)
)

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
		var act [sigactionSize]byte
		if err := t.CopyIn(a.Pointer(1), act[:]); err != nil {
			return 0, err
		}
		mask := binary.LittleEndian.Uint64(act[24:]) &^ unblockable
		binary.LittleEndian.PutUint64(act[24:], mask)
		t.TG.SetSigAction(sig, act)
	}
	if a.Pointer(2) != 0 {
		return 0, t.CopyOut(a.Pointer(2), old[:])
	}
	return 0, nil
}

func rtSigprocmask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(3) != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.SigMask
	if a.Pointer(1) != 0 {
		var b [8]byte
		if err := t.CopyIn(a.Pointer(1), b[:]); err != nil {
			return 0, err
		}
		set := binary.LittleEndian.Uint64(b[:])
		switch a.Int(0) {
		case unix.SIG_BLOCK:
			t.SigMask |= set
		case unix.SIG_UNBLOCK:
			t.SigMask &^= set
		case unix.SIG_SETMASK:
			t.SigMask = set
		default:
			return 0, unix.EINVAL
		}
		t.SigMask &^= unblockable
	}
	if a.Pointer(2) != 0 {
		return 0, t.CopyOut(a.Pointer(2), binary.LittleEndian.AppendUint64(nil, old))
	}
	return 0, nil
}

// stack_t on x86-64: ss_sp, ss_flags (int, padded), ss_size.
const (
	ssOnstack    = 1
	ssDisable    = 2
	ssAutodisarm = 1 << 31
	minSigStack  = 2048
)

func sigaltstack(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old := t.AltStack
	if a.Pointer(0) != 0 {
		var ss [24]byte
		if err := t.CopyIn(a.Pointer(0), ss[:]); err != nil {
			return 0, err
		}
		flags := binary.LittleEndian.Uint32(ss[8:])
		if flags&^(ssDisable|ssAutodisarm) != 0 {
			return 0, unix.EINVAL
		}
		if flags&ssDisable == 0 && binary.LittleEndian.Uint64(ss[16:]) < minSigStack {
			return 0, unix.ENOMEM
		}
		t.AltStack = ss
	}
	if a.Pointer(1) != 0 {
		if binary.LittleEndian.Uint32(old[8:]) == 0 && binary.LittleEndian.Uint64(old[16:]) == 0 {
			binary.LittleEndian.PutUint32(old[8:], ssDisable)
		}
		return 0, t.CopyOut(a.Pointer(1), old[:])
	}
	return 0, nil
}
