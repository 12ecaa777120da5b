package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
)

func registerFutex(st *kernel.SyscallTable) {
	reg(st, unix.SYS_FUTEX_WAITV, "futex_waitv", futexWaitv, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_FUTEX, "futex", futex, "no *_REQUEUE_PI; PI locks are handed over in FIFO order without priority boosting", kernel.ArgHex, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_GET_ROBUST_LIST, "get_robust_list", getRobustList, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
}

const (
	futexLockPI2 = 13
)

func futex(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, op, val := a.Pointer(0), a.Int(1), a.Uint(2)
	cmd := op &^ (linux.FUTEX_PRIVATE_FLAG | linux.FUTEX_CLOCK_REALTIME)
	private := op&linux.FUTEX_PRIVATE_FLAG != 0
	realtime := op&linux.FUTEX_CLOCK_REALTIME != 0
	if realtime && cmd != linux.FUTEX_WAIT_BITSET && cmd != futexLockPI2 {
		return 0, unix.ENOSYS
	}
	f := &t.K.Futexes
	switch cmd {
	case linux.FUTEX_WAIT, linux.FUTEX_WAIT_BITSET:
		bitset := ^uint32(0)
		if cmd == linux.FUTEX_WAIT_BITSET {
			bitset = a.Uint(5)
		}
		timeout, err := futexTimeout(t, a.Pointer(3), cmd == linux.FUTEX_WAIT_BITSET, realtime)
		if err != nil {
			return 0, err
		}
		var end time.Time
		if timeout > 0 {
			end = time.Now().Add(timeout)
		}
		return 0, futexWaitUntil(t, addr, private, val, bitset, end)
	case linux.FUTEX_WAKE, linux.FUTEX_WAKE_BITSET:
		bitset := ^uint32(0)
		if cmd == linux.FUTEX_WAKE_BITSET {
			bitset = a.Uint(5)
		}
		n, err := f.Wake(t, addr, private, int(int32(val)), bitset)
		return uintptr(n), err
	case linux.FUTEX_REQUEUE, linux.FUTEX_CMP_REQUEUE:
		n, err := f.Requeue(t, addr, a.Pointer(4), private, int(int32(val)), int(int32(a.Uint(3))), cmd == linux.FUTEX_CMP_REQUEUE, a.Uint(5))
		return uintptr(n), err
	case linux.FUTEX_WAKE_OP:
		// The second count travels in the timeout argument.
		n, err := f.WakeOp(t, addr, a.Pointer(4), private, int(int32(val)), int(int32(a.Uint(3))), a.Uint(5))
		return uintptr(n), err
	case linux.FUTEX_LOCK_PI, futexLockPI2, linux.FUTEX_TRYLOCK_PI:
		var deadline time.Time
		if cmd != linux.FUTEX_TRYLOCK_PI && a.Pointer(3) != 0 {
			// An absolute time: CLOCK_REALTIME for LOCK_PI, CLOCK_MONOTONIC
			// for LOCK_PI2 unless FUTEX_CLOCK_REALTIME.
			d, err := futexTimeout(t, a.Pointer(3), true, cmd == linux.FUTEX_LOCK_PI || realtime)
			if err != nil {
				return 0, err
			}
			deadline = time.Now().Add(d)
		}
		return 0, f.LockPI(t, addr, private, cmd == linux.FUTEX_TRYLOCK_PI, deadline)
	case linux.FUTEX_UNLOCK_PI:
		return 0, f.UnlockPI(t, addr, private)
	}
	return 0, unix.ENOSYS
}

// futexWaitUntil is FUTEX_WAIT until end (zero: no timeout). Interrupted,
// a wait with a timeout restarts through restart_syscall with what is
// left, as Linux's futex_wait_restart, so that a handler makes it EINTR
// even under SA_RESTART; one without restarts as ERESTARTSYS.
func futexWaitUntil(t *kernel.Task, addr uintptr, private bool, val, bitset uint32, end time.Time) error {
	var timeout time.Duration
	if !end.IsZero() {
		// Even an expired wait compares the word first (EAGAIN).
		timeout = max(time.Until(end), time.Nanosecond)
	}
	err := t.K.Futexes.Wait(t, addr, private, val, bitset, timeout)
	if err == unix.EINTR && !end.IsZero() {
		t.SetRestartBlock(func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
			return 0, futexWaitUntil(t, addr, private, val, bitset, end)
		})
		return kernel.ErrRestartBlock
	}
	return err
}

// getRobustList implements get_robust_list(2) for the caller (pid 0) or
// another thread of the sandbox, a zombie's too.
func getRobustList(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target, err := pidTask(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	if !t.MayInspect(target) {
		return 0, unix.EPERM
	}
	size := uint64(linux.SizeOfRobustListHead)
	if err := kernel.CopyOut(t, a.Pointer(2), &size); err != nil {
		return 0, err
	}
	head := uint64(target.RobustList())
	return 0, kernel.CopyOut(t, a.Pointer(1), &head)
}

// futexTimeout reads the timeout: relative for FUTEX_WAIT, an absolute time
// on the chosen clock for FUTEX_WAIT_BITSET. Zero means none; an expired
// absolute time is a tiny positive duration.
func futexTimeout(t *kernel.Task, addr uintptr, absolute, realtime bool) (time.Duration, error) {
	if addr == 0 {
		return 0, nil
	}
	d, err := copyInTimespec(t, addr)
	if err != nil {
		return 0, err
	}
	if absolute {
		clock := int32(unix.CLOCK_MONOTONIC)
		if realtime {
			clock = unix.CLOCK_REALTIME
		}
		now, _ := t.Now(clock)
		d -= now
	}
	if d <= 0 {
		d = time.Nanosecond
	}
	return d, nil
}

// futexWaitv implements futex_waitv(2), checking as sys_futex_waitv
// does: flags must be 0, 1 to FUTEX_WAITV_MAX words at a non-NULL
// address (EINVAL); a timeout is absolute on CLOCK_MONOTONIC or
// CLOCK_REALTIME (EINVAL for another clock); each word must be 32 bits
// (FUTEX2_SIZE_U32), with only FUTEX2_PRIVATE besides, its reserved field
// zero (EINVAL). It returns the index of the word woken.
func futexWaitv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, n, timeoutAddr, clock := a.Pointer(0), a.Pointer(1), a.Pointer(3), a.Int(4)
	if a.Uint(2) != 0 || n == 0 || n > abi.FutexWaitvMax || addr == 0 {
		return 0, unix.EINVAL
	}
	var timeout time.Duration
	if timeoutAddr != 0 {
		if clock != unix.CLOCK_MONOTONIC && clock != unix.CLOCK_REALTIME {
			return 0, unix.EINVAL
		}
		d, err := copyInTimespec(t, timeoutAddr)
		if err != nil {
			return 0, err
		}
		now, _ := t.Now(clock)
		timeout = max(d-now, time.Nanosecond)
	}
	ws := make([]abi.FutexWaitv, n)
	if err := kernel.CopyInSlice(t, addr, ws); err != nil {
		return 0, err
	}
	words := make([]kernel.FutexWord, n)
	for i, w := range ws {
		if w.Flags&^(abi.Futex2SizeMask|abi.Futex2Private) != 0 || w.Reserved != 0 ||
			w.Flags&abi.Futex2SizeMask != abi.Futex2SizeU32 {
			return 0, unix.EINVAL
		}
		words[i] = kernel.FutexWord{Addr: uintptr(w.Uaddr), Val: w.Val, Private: w.Flags&abi.Futex2Private != 0}
	}
	i, err := t.K.Futexes.WaitV(t, words, timeout)
	return uintptr(i), err
}
