package kernel

import (
	"time"
)

// Children's CPU times (times(2)'s tms_cutime and tms_cstime,
// getrusage(RUSAGE_CHILDREN)): as in Linux's wait_task_zombie, a child's
// CPU time, with what its own waited-for children used, is added to its
// parent's when the parent reaps it with wait; a child reaped because
// SIGCHLD is ignored adds nothing. A process's CPU time is that of its
// address space (one host process per address space), read when the
// address space is released with the process's last thread; a process
// that leaves its address space to another (a vfork child that exits
// without execve) counts none.

// cpuTimes is a user and system CPU time.
type cpuTimes struct {
	user, sys time.Duration
}

func (c cpuTimes) add(d cpuTimes) cpuTimes { return cpuTimes{c.user + d.user, c.sys + d.sys} }

// noteExitCPULocked records the process's CPU time as its address space
// m, just released by its last user, left it; k.mu is held.
func (tg *ThreadGroup) noteExitCPULocked(user, sys time.Duration) {
	tg.exitCPU = cpuTimes{user, sys}
}

// reapWaitedLocked reaps zombie c for its parent, which waited for it: c's
// times and its children's go to the parent's children's times, and the
// larger of c's mark of resident memory and its children's to the
// parent's children's (maxrss.go); k.mu is held.
func (k *Kernel) reapWaitedLocked(parent, c *ThreadGroup) {
	u := c.childUsageLocked()
	parent.childCPU = parent.childCPU.add(cpuTimes{u.User, u.Sys})
	parent.childMaxRSS = max(parent.childMaxRSS, u.MaxRSS)
	k.reap(c)
}

// ChildrenCPUTime is the CPU time of the process's children it has
// waited for, and of theirs.
func (tg *ThreadGroup) ChildrenCPUTime() (user, sys time.Duration) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.childCPU.user, tg.childCPU.sys
}
