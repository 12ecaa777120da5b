package kernel

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
)

// RLIMIT_CPU, as Linux enforces it (check_process_timers): when the
// process's CPU time reaches the soft limit it gets SIGXCPU and the soft
// limit moves up a second, so SIGXCPU comes again every second; at the
// hard limit it gets SIGKILL. The application runs in a host stub
// process that the sentry does not see between syscalls, so a watcher
// goroutine polls the stub's CPU clock (platform.AddressSpace.CPUTime)
// while the limit is finite: a loop that makes no syscalls is caught too,
// within one polling interval.
//
// CPU time is the stub process's: it starts again from zero at execve (a
// new address space is a new stub process), and a vfork child that
// shares its parent's address space is charged with it.

// cpuPollMax bounds how late a limit is noticed, with many threads
// spending CPU time at once; cpuPollMin bounds the polling rate.
const (
	cpuPollMin = 10 * time.Millisecond
	cpuPollMax = 200 * time.Millisecond
)

// watchCPULimit starts the RLIMIT_CPU watcher of tg if its limit is
// finite and none runs.
func (tg *ThreadGroup) watchCPULimit() {
	lim, _ := tg.Rlimit(unix.RLIMIT_CPU, nil, false)
	if lim.Cur == infinity && lim.Max == infinity {
		return
	}
	if tg.cpuWatched.CompareAndSwap(false, true) {
		go tg.cpuWatcher()
	}
}

// cpuWatcher enforces RLIMIT_CPU until the process ends or the limit is
// lifted.
func (tg *ThreadGroup) cpuWatcher() {
	wait := time.Duration(0)
	for {
		select {
		case <-tg.done:
			return
		case <-time.After(wait):
		}
		lim, _ := tg.Rlimit(unix.RLIMIT_CPU, nil, false)
		if lim.Cur == infinity && lim.Max == infinity {
			tg.cpuWatched.Store(false)
			// A limit set again meanwhile found the flag still up.
			tg.watchCPULimit()
			return
		}
		user, sys := tg.CPUTime()
		used := user + sys
		if lim.Max != infinity && used >= seconds(lim.Max) {
			tg.SendSignal(NewSigInfo(int32(unix.SIGKILL), linux.SI_KERNEL, 0, 0))
			return
		}
		next := seconds(lim.Max)
		if lim.Cur != infinity && used >= seconds(lim.Cur) {
			tg.SendSignal(NewSigInfo(int32(unix.SIGXCPU), linux.SI_KERNEL, 0, 0))
			if lim.Cur < lim.Max {
				tg.raiseCPUSoftLimit(lim.Cur)
				next = seconds(lim.Cur + 1)
			}
		} else if lim.Cur != infinity {
			next = seconds(lim.Cur)
		}
		wait = min(max(next-used, cpuPollMin), cpuPollMax)
	}
}

// seconds converts a limit in seconds to a duration, saturating.
func seconds(s uint64) time.Duration {
	if s >= uint64(1<<63-1)/uint64(time.Second) {
		return 1<<63 - 1
	}
	return time.Duration(s) * time.Second
}

// raiseCPUSoftLimit moves the soft limit from cur a second up, as Linux
// does after each SIGXCPU, unless setrlimit changed it meanwhile.
func (tg *ThreadGroup) raiseCPUSoftLimit(cur uint64) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if l, ok := tg.limits[unix.RLIMIT_CPU]; ok && l.Cur == cur {
		l.Cur++
		tg.limits[unix.RLIMIT_CPU] = l
	}
}

// ThreadCPUTime returns the user and system time of the thread alone
// (CLOCK_THREAD_CPUTIME_ID, RUSAGE_THREAD, /proc/PID/task/TID/stat): what
// its platform context measured, split as the process's time is split
// (the host's per-thread split would cost a second read at each sample),
// or the process's time on a platform that cannot tell threads apart.
func (t *Task) ThreadCPUTime() (user, sys time.Duration) {
	clock, ok := t.ctx.(platform.ThreadClock)
	if !ok {
		return t.TG.CPUTime()
	}
	total := clock.ThreadCPUTime()
	pu, ps := t.TG.CPUTime()
	if pu+ps > 0 {
		sys = time.Duration(float64(total) * float64(ps) / float64(pu+ps))
	}
	return t.cpu.Monotonic(total-sys, sys)
}

// CPUTime returns the user and system time of the process: that of the
// host stub process its address space runs in.
func (tg *ThreadGroup) CPUTime() (user, sys time.Duration) {
	var m *mm.MemoryManager
	tg.k.mu.Lock()
	if len(tg.tasks) > 0 {
		m = tg.tasks[0].MM()
	}
	tg.k.mu.Unlock()
	if m == nil {
		return 0, 0
	}
	user, sys, _ = m.CPUTime()
	return user, sys
}
