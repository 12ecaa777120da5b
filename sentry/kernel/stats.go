package kernel

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
)

// The sandbox-wide figures that /proc (cpuinfo, stat, loadavg, uptime),
// sysinfo(2), /sys and the cgroup files show. They describe the sandbox,
// never the host:
//   - CPUs: the sandbox may use as many CPUs as the sentry's affinity mask
//     holds when it starts (its stub processes inherit the mask), numbered
//     0 to N-1 whatever the host calls them.
//   - Uptime: since the sandbox started (Kernel.Started).
//   - CPU time: the application's is what the host charged its stub
//     processes (the live ones read now, those gone from the usage.CPU
//     account); the sentry's own, which is the kernel's work for the
//     sandbox, counts as system time. The total never goes backwards.
//   - Running tasks: a task runs unless it is in a syscall or its process
//     is stopped: the sentry does not see a syscall's handler block, and
//     most of the time a task spends in one is spent waiting (read, wait4,
//     futex, poll, nanosleep). The one asking is running its syscall.
//     /proc/PID/stat's state, procs_running and the load average count
//     this way. No task is ever in uninterruptible sleep (D).
//   - The load average is Linux's (calc_load): every LOAD_FREQ (5 s) the
//     number of running tasks is folded into three exponentially decaying
//     averages (1, 5 and 15 minutes), in fixed point with FShift bits of
//     fraction. The sampling timer runs while the sandbox has tasks.

// Load average fixed point (include/linux/sched/loadavg.h).
const (
	FShift   = 11
	Fixed1   = 1 << FShift
	loadFreq = 5*time.Second + 10*time.Millisecond // LOAD_FREQ, 5*HZ+1 ticks at HZ=100
)

// loadExp are EXP_1, EXP_5 and EXP_15: 1/exp(5s/1min), 1/exp(5s/5min) and
// 1/exp(5s/15min) in fixed point.
var loadExp = [3]uint64{1884, 2014, 2037}

// stats is the kernel's state behind the figures.
type stats struct {
	mu    sync.Mutex  // guards every field below
	load  [3]uint64   // avenrun, fixed point; guarded by mu
	timer *time.Timer // guarded by mu
	// stopped is set when the sandbox ends: no more samples. Guarded by
	// mu.
	stopped bool
	// user and sys are the last CPU time reported, which the next report
	// never goes below; guarded by mu.
	user, sys time.Duration
}

// affinityCPUs is how many CPUs the sentry may run on.
func affinityCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return runtime.NumCPU()
	}
	return set.Count()
}

// CPUs returns how many CPUs the sandbox may use: CPUs 0 to CPUs()-1.
func (k *Kernel) CPUs() int { return k.cpus }

// Uptime returns how long the sandbox has been up.
func (k *Kernel) Uptime() time.Duration { return time.Since(k.Started) }

// Running returns how many tasks are running: not in a syscall, not
// stopped.
func (k *Kernel) Running() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, t := range k.tasks {
		if !t.inSyscall.Load() && t.TG.job.stopSig == 0 {
			n++
		}
	}
	return n
}

// Forks returns how many tasks the sandbox has created, threads included
// (total_forks).
func (k *Kernel) Forks() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.forks
}

// LastPID returns the ID handed out last, or set with SetLastPID.
func (k *Kernel) LastPID() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastID
}

// SetLastPID makes the next process or thread get the first free ID after
// pid, which must be below MaxPID (EINVAL): /proc/sys/kernel/ns_last_pid's
// write, with which CRIU restores processes with their own IDs
// (pid_ns_ctl_handler sets the allocator's cursor to pid+1).
func (k *Kernel) SetLastPID(pid int) error {
	if pid < 0 || pid >= MaxPID {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastID = pid
	k.nextID = pid + 1
	if k.nextID >= MaxPID {
		k.nextID = 2
	}
	return nil
}

// State returns the task's state letter as /proc/PID/stat shows it:
// Z for a zombie, T while its process is stopped, S in a syscall, R
// otherwise. The caller sees itself running.
func (t *Task) State() byte {
	t.K.mu.Lock()
	stopped, zombie := t.TG.job.stopSig != 0, t.TG.zombie
	t.K.mu.Unlock()
	switch {
	case zombie:
		return 'Z'
	case stopped:
		return 'T'
	case t.inSyscall.Load():
		return 'S'
	}
	return 'R'
}

// CPUTime returns the CPU time the sandbox has used since it started, in
// user and system time.
func (k *Kernel) CPUTime() (user, sys time.Duration) {
	// Retired first: an address space released meanwhile is then missed
	// for this once, never counted twice.
	user, sys = k.CPU.Retired()
	k.mu.Lock()
	seen := make(map[*mm.MemoryManager]bool)
	for _, t := range k.tasks {
		seen[t.MM()] = true
	}
	k.mu.Unlock()
	for m := range seen {
		if u, s, ok := m.CPUTime(); ok {
			user, sys = user+u, sys+s
		}
	}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		sys += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	k.stats.user, k.stats.sys = max(k.stats.user, user), max(k.stats.sys, sys)
	return k.stats.user, k.stats.sys
}

// LoadAvg returns the 1, 5 and 15 minute load averages in fixed point
// (FShift bits of fraction).
func (k *Kernel) LoadAvg() [3]uint64 {
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	return k.stats.load
}

// startLoadAvg starts sampling the load.
func (k *Kernel) startLoadAvg() {
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	if k.stats.timer == nil && !k.stats.stopped {
		k.stats.timer = time.AfterFunc(loadFreq, k.sampleLoad)
	}
}

// stopLoadAvg stops sampling the load.
func (k *Kernel) stopLoadAvg() {
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	k.stats.stopped = true
	if k.stats.timer != nil {
		k.stats.timer.Stop()
	}
}

// sampleLoad folds the running tasks into the load averages, and samples
// again in loadFreq while the sandbox has tasks.
func (k *Kernel) sampleLoad() {
	active := uint64(k.Running()) * Fixed1
	alive := k.NumTasks() > 0
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	for i, exp := range loadExp {
		k.stats.load[i] = calcLoad(k.stats.load[i], exp, active)
	}
	if alive && !k.stats.stopped {
		k.stats.timer.Reset(loadFreq)
	}
}

// calcLoad is Linux's calc_load: load decays by exp towards active.
func calcLoad(load, exp, active uint64) uint64 {
	next := load*exp + active*(Fixed1-exp)
	if active >= load {
		next += Fixed1 - 1
	}
	return next / Fixed1
}
