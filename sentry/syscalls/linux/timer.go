package linux

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

func registerTimer(st *kernel.SyscallTable) {
	reg(st, unix.SYS_SETITIMER, "setitimer", setitimer, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETITIMER, "getitimer", getitimer, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_ALARM, "alarm", alarm, kernel.ArgInt)
	partial(st, unix.SYS_TIMER_CREATE, "timer_create", timerCreate, "CLOCK_REALTIME/MONOTONIC/BOOTTIME/TAI and the caller's CPU-time clocks (a thread's is its process's) with SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_NONE; no alarm clocks", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
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

// itimer is the process's interval timer which (ITIMER_REAL, ITIMER_VIRTUAL
// or ITIMER_PROF), or nil.
func itimer(t *kernel.Task, which int32) *kernel.IntervalTimer {
	switch which {
	case unix.ITIMER_REAL:
		return t.TG.RealTimer()
	case unix.ITIMER_VIRTUAL, unix.ITIMER_PROF:
		return t.TG.CPUTimer(int(which))
	}
	return nil
}

// setitimer in Linux's order: the new value is read (EFAULT, EINVAL),
// then which is checked, then the old value written.
func setitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var value, interval time.Duration
	if a.Pointer(1) != 0 {
		var err error
		if value, interval, err = readItimerval(t, a.Pointer(1)); err != nil {
			return 0, err
		}
	}
	it := itimer(t, a.Int(0))
	if it == nil {
		return 0, unix.EINVAL
	}
	oldV, oldI := it.Set(value, interval)
	if a.Pointer(2) != 0 {
		return 0, copyOutItimerval(t, a.Pointer(2), oldV, oldI)
	}
	return 0, nil
}

func getitimer(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	it := itimer(t, a.Int(0))
	if it == nil {
		return 0, unix.EINVAL
	}
	v, i := it.Get()
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

// cpuClock returns the CPU-time clock a timer on clock runs on, nil if it
// is not one: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, or the
// encoded clock of a process or thread of the sandbox (clock_getcpuclockid,
// which the C library's timer_create passes even for the caller's own), of
// kind CPUCLOCK_PROF (user and system time), CPUCLOCK_VIRT (user) or
// CPUCLOCK_SCHED (both, here). A thread's clock is the thread's own CPU
// time (Task.ThreadCPUTime). ok is false for an encoded clock that names
// no task, or no kind.
func cpuClock(t *kernel.Task, clock int32) (cpu func() time.Duration, ok bool) {
	tg, kind := t.TG, int32(linux.CPUCLOCK_SCHED)
	var thread *kernel.Task // a thread's clock, not its process's
	switch {
	case clock < 0 && clock&linux.CPUCLOCK_CLOCK_MASK > linux.CPUCLOCK_SCHED:
		// CPUCLOCK_MAX and CLOCKFD (a dynamic clock's descriptor: the
		// sandbox has no PTP devices).
		return nil, false
	case clock == unix.CLOCK_PROCESS_CPUTIME_ID:
	case clock == unix.CLOCK_THREAD_CPUTIME_ID:
		thread = t
	case clock < 0:
		kind = clock & linux.CPUCLOCK_CLOCK_MASK
		if kind == linux.CLOCKFD {
			return nil, false
		}
		if pid := int(^(clock >> 3)); pid != 0 {
			// pid_for_clock: a thread's clock only of the caller's
			// own process, a process's by its PID (or the caller's
			// own thread ID).
			o := t.LookupTask(pid)
			perThread := clock&linux.CPUCLOCK_PERTHREAD_MASK != 0
			if o == nil || perThread && o.TG != t.TG || !perThread && t.PIDOf(o.TG) != pid && o != t {
				return nil, false
			}
			tg = o.TG
			if perThread {
				thread = o
			}
		} else if clock&linux.CPUCLOCK_PERTHREAD_MASK != 0 {
			thread = t
		}
	default:
		return nil, true
	}
	times := tg.CPUTime
	if thread != nil {
		times = thread.ThreadCPUTime
	}
	if kind == linux.CPUCLOCK_VIRT {
		return func() time.Duration { u, _ := times(); return u }, true
	}
	return func() time.Duration { u, s := times(); return u + s }, true
}

func timerCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock := a.Int(0)
	cpu, ok := cpuClock(t, clock)
	switch {
	case !ok:
		return 0, unix.EINVAL
	case cpu != nil:
	case clock == unix.CLOCK_REALTIME, clock == unix.CLOCK_MONOTONIC, clock == unix.CLOCK_BOOTTIME, clock == unix.CLOCK_TAI:
	default:
		// Clocks without timers (the raw and coarse ones; the alarm
		// clocks, which need a real-time clock device) are EOPNOTSUPP,
		// unknown ones EINVAL.
		if validClock(clock) {
			return 0, unix.EOPNOTSUPP
		}
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
			target = t.LookupTask(int(ev.Tid))
			if target == nil || target.TG != t.TG {
				return 0, unix.EINVAL
			}
		}
	}
	if notify == linux.SIGEV_THREAD {
		// The C library's threads are its own business: to the kernel
		// SIGEV_THREAD is a signal to the process (good_sigevent).
		notify = linux.SIGEV_SIGNAL
	}
	if notify != linux.SIGEV_NONE && (sig < 1 || sig > 64) || notify != linux.SIGEV_SIGNAL && notify != linux.SIGEV_NONE && notify != linux.SIGEV_THREAD_ID {
		return 0, unix.EINVAL
	}
	tt := t.TG.PosixTimers()
	var id int
	it, err := t.TG.NewPosixTimer(cpu, notify == linux.SIGEV_NONE, func(it *kernel.IntervalTimer) bool {
		si := kernel.NewSigInfo(sig, linux.SI_TIMER, 0, 0)
		si.SetTimerID(linux.TimerID(id))
		si.SetSigval(value)
		if notify == linux.SIGEV_THREAD_ID {
			return target.SendTimerSignal(si, it)
		}
		return t.TG.SendTimerSignal(si, it)
	})
	if err != nil {
		return 0, fmt.Errorf("timer_create: its signal: %w", err)
	}
	it.Clock = clock
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
	if a.Pointer(2) == 0 {
		return 0, unix.EINVAL
	}
	value, interval, err := copyInItimerspec(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	it := t.TG.PosixTimers().Get(int(a.Int(0)))
	if it == nil {
		return 0, unix.EINVAL
	}
	arm := value > 0
	if a.Int(1)&unix.TIMER_ABSTIME != 0 && arm {
		now, ok := it.CPUNow()
		if !ok {
			if now, err = t.Now(it.Clock); err != nil {
				return 0, err
			}
		}
		// Past already: it expires at once, with the intervals since
		// then as its overrun.
		value -= now
	}
	oldV, oldI := it.Arm(arm, value, interval)
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
