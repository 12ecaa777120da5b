package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

func registerTimer(st *kernel.SyscallTable) {
	partial(st, unix.SYS_SETITIMER, "setitimer", setitimer, "ITIMER_REAL only; the CPU-time timers are EINVAL", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_GETITIMER, "getitimer", getitimer, "ITIMER_REAL only; the CPU-time timers are EINVAL", kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_ALARM, "alarm", alarm, kernel.ArgInt)
	partial(st, unix.SYS_TIMER_CREATE, "timer_create", timerCreate, "CLOCK_REALTIME/MONOTONIC/BOOTTIME with SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_NONE", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_TIMER_SETTIME, "timer_settime", timerSettime, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_TIMER_GETTIME, "timer_gettime", timerGettime, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_TIMER_GETOVERRUN, "timer_getoverrun", timerGetoverrun, kernel.ArgInt)
	reg(st, unix.SYS_TIMER_DELETE, "timer_delete", timerDelete, kernel.ArgInt)
	reg(st, unix.SYS_TIMERFD_CREATE, "timerfd_create", timerfdCreate, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_TIMERFD_SETTIME, "timerfd_settime", timerfdSettime, kernel.ArgFD, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_TIMERFD_GETTIME, "timerfd_gettime", timerfdGettime, kernel.ArgFD, kernel.ArgHex)
}

// readItimerval reads a struct itimerval: EINVAL if a time is negative
// or has microseconds out of range.
func readItimerval(t *kernel.Task, addr uintptr) (value, interval time.Duration, err error) {
	var it linux.ItimerVal
	if err := kernel.CopyIn(t, addr, &it); err != nil {
		return 0, 0, err
	}
	for _, tv := range []linux.Timeval{it.Interval, it.Value} {
		if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
			return 0, 0, unix.EINVAL
		}
	}
	d := func(tv linux.Timeval) time.Duration {
		return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
	}
	return d(it.Value), d(it.Interval), nil
}

// copyOutItimerval writes a struct itimerval.
func copyOutItimerval(t *kernel.Task, addr uintptr, value, interval time.Duration) error {
	it := linux.ItimerVal{Interval: timeval(interval), Value: timeval(value)}
	return kernel.CopyOut(t, addr, &it)
}

func setitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) != unix.ITIMER_REAL {
		return 0, unix.EINVAL
	}
	var value, interval time.Duration
	if a.Pointer(1) != 0 {
		var err error
		if value, interval, err = readItimerval(t, a.Pointer(1)); err != nil {
			return 0, err
		}
	}
	oldV, oldI := t.TG.RealTimer().Set(value, interval)
	if a.Pointer(2) != 0 {
		return 0, copyOutItimerval(t, a.Pointer(2), oldV, oldI)
	}
	return 0, nil
}

func getitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) != unix.ITIMER_REAL {
		return 0, unix.EINVAL
	}
	v, i := t.TG.RealTimer().Get()
	return 0, copyOutItimerval(t, a.Pointer(1), v, i)
}

func alarm(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old, _ := t.TG.RealTimer().Set(time.Duration(a.Uint(0))*time.Second, 0)
	secs := uintptr(old / time.Second)
	if old%time.Second >= time.Second/2 || (old > 0 && secs == 0) {
		secs++
	}
	return secs, nil
}

func timerCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
	default:
		return 0, unix.EINVAL
	}
	notify, sig, value, target := int32(linux.SIGEV_SIGNAL), int32(unix.SIGALRM), uint64(0), t
	if a.Pointer(1) != 0 {
		var ev linux.Sigevent
		if err := kernel.CopyIn(t, a.Pointer(1), &ev); err != nil {
			return 0, err
		}
		value, sig, notify = ev.Value, ev.Signo, ev.Notify
		if notify == linux.SIGEV_THREAD_ID {
			target = t.K.Task(int(ev.Tid))
			if target == nil || target.TG != t.TG {
				return 0, unix.EINVAL
			}
		}
	}
	if notify != linux.SIGEV_NONE && (sig < 1 || sig > 64) || notify != linux.SIGEV_SIGNAL && notify != linux.SIGEV_NONE && notify != linux.SIGEV_THREAD_ID {
		return 0, unix.EINVAL
	}
	tt := t.TG.PosixTimers()
	var id int
	it := kernel.NewIntervalTimer(func() {
		if notify == linux.SIGEV_NONE {
			return
		}
		si := kernel.NewSigInfo(sig, linux.SI_TIMER, 0, 0)
		si.SetTimerID(linux.TimerID(id))
		si.SetSigval(value)
		if notify == linux.SIGEV_THREAD_ID {
			target.SendSignal(si)
		} else {
			t.TG.SendSignal(si)
		}
	})
	it.Clock = a.Int(0)
	id = tt.Add(it)
	timerID := int32(id) // timer_t is an int to the kernel
	return 0, kernel.CopyOut(t, a.Pointer(2), &timerID)
}

// copyOutItimerspec writes a struct itimerspec.
func copyOutItimerspec(t *kernel.Task, addr uintptr, value, interval time.Duration) error {
	its := linux.Itimerspec{Interval: linux.DurationToTimespec(interval), Value: linux.DurationToTimespec(value)}
	return kernel.CopyOut(t, addr, &its)
}

// copyInItimerspec reads a struct itimerspec, each time checked as
// copyInTimespec checks it.
func copyInItimerspec(t *kernel.Task, addr uintptr) (value, interval time.Duration, err error) {
	var its linux.Itimerspec
	if err := kernel.CopyIn(t, addr, &its); err != nil {
		return 0, 0, err
	}
	if !its.Valid() {
		return 0, 0, unix.EINVAL
	}
	return timespecDuration(its.Value), timespecDuration(its.Interval), nil
}

func timerSettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	it := t.TG.PosixTimers().Get(int(a.Int(0)))
	if it == nil {
		return 0, unix.EINVAL
	}
	value, interval, err := copyInItimerspec(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	if a.Int(1)&unix.TIMER_ABSTIME != 0 && value > 0 {
		now, err := t.K.Clocks.Now(it.Clock)
		if err != nil {
			return 0, err
		}
		value = max(value-now, time.Nanosecond)
	}
	oldV, oldI := it.Set(value, interval)
	if a.Pointer(3) != 0 {
		return 0, copyOutItimerspec(t, a.Pointer(3), oldV, oldI)
	}
	return 0, nil
}

func timerGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	it := t.TG.PosixTimers().Get(int(a.Int(0)))
	if it == nil {
		return 0, unix.EINVAL
	}
	v, i := it.Get()
	return 0, copyOutItimerspec(t, a.Pointer(1), v, i)
}

func timerGetoverrun(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	it := t.TG.PosixTimers().Get(int(a.Int(0)))
	if it == nil {
		return 0, unix.EINVAL
	}
	return uintptr(it.Overrun()), nil
}

func timerDelete(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if !t.TG.PosixTimers().Delete(int(a.Int(0))) {
		return 0, unix.EINVAL
	}
	return 0, nil
}
