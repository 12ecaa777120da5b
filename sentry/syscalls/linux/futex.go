package linux

import (
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

func registerFutex(st *kernel.SyscallTable) {
	partial(st, unix.SYS_FUTEX, "futex", futex, "WAIT, WAKE, *_BITSET, REQUEUE, CMP_REQUEUE; no PI, no WAKE_OP", kernel.ArgHex, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
}

const (
	futexWait          = 0
	futexWake          = 1
	futexRequeue       = 3
	futexCmpRequeue    = 4
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
)

func futex(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr, op, val := a.Pointer(0), a.Int(1), a.Uint(2)
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	private := op&futexPrivateFlag != 0
	f := &t.K.Futexes
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := ^uint32(0)
		if cmd == futexWaitBitset {
			bitset = a.Uint(5)
		}
		timeout, err := futexTimeout(t, a.Pointer(3), cmd == futexWaitBitset, op&futexClockRealtime != 0)
		if err != nil {
			return 0, err
		}
		return 0, f.Wait(t, addr, private, val, bitset, timeout)
	case futexWake, futexWakeBitset:
		bitset := ^uint32(0)
		if cmd == futexWakeBitset {
			bitset = a.Uint(5)
		}
		n, err := f.Wake(t, addr, private, int(int32(val)), bitset)
		return uintptr(n), err
	case futexRequeue, futexCmpRequeue:
		n, err := f.Requeue(t, addr, a.Pointer(4), private, int(int32(val)), int(int32(a.Uint(3))), cmd == futexCmpRequeue, a.Uint(5))
		return uintptr(n), err
	}
	return 0, unix.ENOSYS
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
		var now unix.Timespec
		unix.ClockGettime(clock, &now)
		d -= time.Duration(now.Nano())
	}
	if d <= 0 {
		d = time.Nanosecond
	}
	return d, nil
}
