package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/kernel"
)

func registerTime(st *kernel.SyscallTable) {
	partial(st, unix.SYS_CLOCK_GETTIME, "clock_gettime", clockGettime, "CPU-time clocks are the sentry's process's", kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_CLOCK_GETRES, "clock_getres", clockGetres, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_CLOCK_SETTIME, "clock_settime", clockSettime, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SETTIMEOFDAY, "settimeofday", settimeofday, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETTIMEOFDAY, "gettimeofday", gettimeofday, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_TIME, "time", timeSyscall, kernel.ArgHex)
	reg(st, unix.SYS_NANOSLEEP, "nanosleep", nanosleep, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_CLOCK_NANOSLEEP, "clock_nanosleep", clockNanosleep, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
}

// clocks the application may read: the sandbox's (package clocks), which
// its vDSO computes too. CPU-time clocks of other processes are not
// visible.
func validClock(id int32) bool {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_THREAD_CPUTIME_ID, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE,
		unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM,
		unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return true
	}
	return false
}

// copyOutTimespec writes d as a struct timespec.
func copyOutTimespec(t *kernel.Task, addr uintptr, d time.Duration) error {
	ts := linux.DurationToTimespec(d)
	return kernel.CopyOut(t, addr, &ts)
}

// timeval is d as a struct timeval, the microseconds cut (as Linux's
// ns_to_kernel_old_timeval cuts them).
func timeval(d time.Duration) linux.Timeval {
	return linux.Timeval{Sec: int64(d / time.Second), Usec: int64(d % time.Second / time.Microsecond)}
}

func clockGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock := a.Int(0)
	cpu, ok := cpuClock(t, clock)
	if !ok || cpu == nil && !validClock(clock) {
		return 0, unix.EINVAL
	}
	var ts unix.Timespec
	if cpu != nil {
		// CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, and the
		// clocks clock_getcpuclockid and pthread_getcpuclockid encode
		// from a PID or thread ID (cpuClock). The process's CPU time is
		// its stub process's, as in getrusage; a thread's its own.
		ts = unix.NsecToTimespec(int64(cpu()))
	} else {
		// The sandbox's clock, moved by the task's time namespace.
		now, err := t.Now(clock)
		if err != nil {
			return 0, err
		}
		ts = unix.NsecToTimespec(int64(now))
	}
	return 0, kernel.CopyOut(t, a.Pointer(1), &ts)
}

// cpuClockTick is the resolution of the encoded CPUCLOCK_PROF and
// CPUCLOCK_VIRT clocks: a jiffy at HZ=250 (posix_cpu_clock_getres).
const cpuClockTick = 4 * time.Millisecond

func clockGetres(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock := a.Int(0)
	cpu, ok := cpuClock(t, clock)
	if !ok || cpu == nil && !validClock(clock) {
		return 0, unix.EINVAL
	}
	if a.Pointer(1) == 0 {
		return 0, nil
	}
	var ts unix.Timespec
	switch {
	case cpu != nil && clock < 0 && clock&linux.CPUCLOCK_CLOCK_MASK != linux.CPUCLOCK_SCHED:
		ts = unix.NsecToTimespec(int64(cpuClockTick))
	case cpu != nil:
		ts = unix.Timespec{Nsec: 1}
	default:
		if err := unix.ClockGetres(clock, &ts); err != nil {
			return 0, err
		}
	}
	return 0, kernel.CopyOut(t, a.Pointer(1), &ts)
}

func gettimeofday(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(0) != 0 {
		now := clocks.Realtime()
		tv := linux.Timeval{Sec: now.Unix(), Usec: int64(now.Nanosecond() / 1000)}
		if err := kernel.CopyOut(t, a.Pointer(0), &tv); err != nil {
			return 0, err
		}
	}
	if a.Pointer(1) != 0 {
		// struct timezone: always UTC, as the kernel keeps it by default.
		if err := t.CopyOut(a.Pointer(1), make([]byte, 8)); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func timeSyscall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	now := clocks.Realtime().Unix()
	if a.Pointer(0) != 0 {
		if err := kernel.CopyOut(t, a.Pointer(0), &now); err != nil {
			return 0, err
		}
	}
	return uintptr(now), nil
}

// copyInTimespec reads a struct timespec and checks it as nanosleep does.
func copyInTimespec(t *kernel.Task, addr uintptr) (time.Duration, error) {
	var ts linux.Timespec
	if err := kernel.CopyIn(t, addr, &ts); err != nil {
		return 0, err
	}
	if !ts.Valid() {
		return 0, unix.EINVAL
	}
	return timespecDuration(ts), nil
}

// timespecDuration is a valid timespec as a duration, at most 2^62 ns.
func timespecDuration(ts linux.Timespec) time.Duration {
	sec := min(ts.Sec, int64(time.Duration(1<<62)/time.Second))
	return time.Duration(sec)*time.Second + time.Duration(ts.Nsec)
}

func nanosleep(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	d, err := copyInTimespec(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, sleep(t, d, a.Pointer(1))
}

// sleep waits for d unless a signal comes first; then it writes the time
// left to rem (if not 0) and returns ERESTART_RESTARTBLOCK: a handler
// makes it EINTR, and without one restart_syscall sleeps what is left.
func sleep(t *kernel.Task, d time.Duration, rem uintptr) error {
	return sleepUntil(t, time.Now().Add(d), rem)
}

func sleepUntil(t *kernel.Task, end time.Time, rem uintptr) error {
	d := time.Until(end)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(clocks.HostWait(d))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-t.Interrupted():
	}
	if rem != 0 {
		left := max(time.Until(end), 0)
		if err := copyOutTimespec(t, rem, left); err != nil {
			return err
		}
	}
	t.SetRestartBlock(func(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
		return 0, sleepUntil(t, end, rem)
	})
	return kernel.ErrRestartBlock
}

func clockNanosleep(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	clock, flags := a.Int(0), a.Int(1)
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI:
	default:
		// CLOCK_THREAD_CPUTIME_ID has no nsleep: EOPNOTSUPP (the C
		// library's wrapper makes that EINVAL). An encoded clock of the
		// caller's own thread is EINVAL (posix_cpu_nsleep); sleeping on
		// another CPU clock is not implemented: EOPNOTSUPP.
		if clock < 0 && clock&(linux.CPUCLOCK_PERTHREAD_MASK|linux.CPUCLOCK_CLOCK_MASK) == linux.CLOCKFD {
			// A dynamic clock's: no nsleep at all.
			return 0, unix.EOPNOTSUPP
		}
		cpu, ok := cpuClock(t, clock)
		if !ok || cpu == nil && !validClock(clock) {
			return 0, unix.EINVAL
		}
		if clock < 0 && clock&linux.CPUCLOCK_PERTHREAD_MASK != 0 {
			if pid := int(^(clock >> 3)); pid == 0 || pid == t.TID {
				return 0, unix.EINVAL
			}
		}
		return 0, unix.EOPNOTSUPP
	}
	d, err := copyInTimespec(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	rem := a.Pointer(3)
	if flags&unix.TIMER_ABSTIME != 0 {
		now, err := t.Now(clock)
		if err != nil {
			return 0, err
		}
		d -= now
		rem = 0
	}
	return 0, sleep(t, d, rem)
}

// clockSettime: the sandbox may not set the host's clock, so it lacks
// CAP_SYS_TIME: EPERM for the settable clock, EINVAL for the others.
func clockSettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) != unix.CLOCK_REALTIME {
		return 0, unix.EINVAL
	}
	if _, err := copyInTimespec(t, a.Pointer(1)); err != nil {
		return 0, err
	}
	return 0, unix.EPERM
}

func settimeofday(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(0) == 0 && a.Pointer(1) == 0 {
		return 0, nil
	}
	return 0, unix.EPERM
}
