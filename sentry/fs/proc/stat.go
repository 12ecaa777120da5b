package proc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

// /proc/stat, /proc/loadavg and /proc/uptime describe the sandbox's CPUs
// since it started (kernel/stats.go), in Linux's formats:
//   - The CPU time is the sandbox's (its processes' user and system time,
//     the sentry's as system time); idle time is what is left of every CPU's
//     uptime. The sentry does not know on which CPU time was spent, so the
//     per-CPU lines share the totals evenly. There is no nice, iowait, irq,
//     softirq, steal or guest time.
//   - Interrupts and context switches are not counted: "intr 0", "ctxt 0"
//     and a softirq line of zeros.
//   - btime is when the sandbox started; processes counts the tasks it has
//     created; procs_running counts the tasks that are not in a syscall,
//     and the task reading; procs_blocked is 0 (no task ever waits in D
//     state).
//   - /proc/loadavg's last field is the last pid the sandbox handed out.

// ticks converts d to clock ticks (USER_HZ), the unit of /proc's times.
func ticks(d time.Duration) uint64 { return uint64(d / linux.ClockTick) }

// cpuTimes returns the sandbox's user, system and idle time, in ticks,
// over all its CPUs.
func cpuTimes(k *kernel.Kernel) (user, sys, idle uint64) {
	u, s := k.CPUTime()
	user, sys = ticks(u), ticks(s)
	if all := ticks(k.Uptime()) * uint64(k.CPUs()); all > user+sys {
		idle = all - user - sys
	}
	return user, sys, idle
}

// share is CPU cpu's part of total ticks spread evenly over n CPUs.
func share(total uint64, cpu, n int) uint64 {
	s := total / uint64(n)
	if uint64(cpu) < total%uint64(n) {
		s++
	}
	return s
}

// running returns how many tasks are running: those not in a syscall,
// and the caller, which is running the read.
func running(ctx context.Context, k *kernel.Kernel) int {
	n := k.Running()
	if caller(ctx) != nil {
		n++
	}
	return n
}

// stat is /proc/stat.
func stat(ctx context.Context, k *kernel.Kernel) string {
	user, sys, idle := cpuTimes(k)
	var b strings.Builder
	fmt.Fprintf(&b, "cpu  %d 0 %d %d 0 0 0 0 0 0\n", user, sys, idle)
	n := k.CPUs()
	for cpu := range n {
		fmt.Fprintf(&b, "cpu%d %d 0 %d %d 0 0 0 0 0 0\n", cpu, share(user, cpu, n), share(sys, cpu, n), share(idle, cpu, n))
	}
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n",
		k.Started.Unix(), k.Forks(), running(ctx, k))
	b.WriteString("softirq 0 0 0 0 0 0 0 0 0 0 0\n")
	return b.String()
}

// loadavg is /proc/loadavg.
func loadavg(ctx context.Context, k *kernel.Kernel) string {
	var b strings.Builder
	for _, l := range k.LoadAvg() {
		l += kernel.Fixed1 / 200 // rounds to hundredths
		fmt.Fprintf(&b, "%d.%02d ", l>>kernel.FShift, (l&(kernel.Fixed1-1))*100>>kernel.FShift)
	}
	last := k.LastPID()
	if t := caller(ctx); t != nil {
		last = t.LastPID()
	}
	fmt.Fprintf(&b, "%d/%d %d\n", running(ctx, k), k.NumTasks(), last)
	return b.String()
}

// uptime is /proc/uptime: the sandbox's uptime, as the reader's time
// namespace moves it (uptime_proc_show), and the idle time of its CPUs,
// in seconds.
func uptime(ctx context.Context, k *kernel.Kernel) string {
	_, _, idle := cpuTimes(k)
	up := ticks(k.Uptime())
	if t := caller(ctx); t != nil {
		up = ticks(max(t.Uptime(), 0))
	}
	const hz = linux.CLOCKS_PER_SEC
	return fmt.Sprintf("%d.%02d %d.%02d\n", up/hz, up%hz, idle/hz, idle%hz)
}
