package kernel

import (
	"time"

	"runsc-lite/sentry/mm"
)

// Peaks of resident memory (ru_maxrss of getrusage, wait4 and waitid), as
// Linux keeps them in the signal struct: a process's own mark is the
// largest of the address spaces it left (an execve's old program's,
// exec_mmap; its address space's at exit, do_exit) and of the one it has
// now (mm.HiwaterRSS); its children's is the largest among the children
// it waited for and theirs (wait_task_zombie: the larger of a child's own
// and its children's, never a sum). So an execve keeps both, a child
// reaped because SIGCHLD is ignored counts nothing, and a forked child's
// own starts at nothing but with its parent's address space's mark, which
// fork copies.

// ChildUsage is what wait4 and waitid report of a child that exited, or
// so far of one that stopped or continued (Linux's getrusage(RUSAGE_BOTH)
// of the child): its CPU time and that of the children it waited for, and
// the largest mark of resident memory among them, in bytes.
type ChildUsage struct {
	User, Sys time.Duration
	MaxRSS    uint64
}

// childUsageLocked is zombie c's ChildUsage; k.mu is held.
func (c *ThreadGroup) childUsageLocked() ChildUsage {
	cpu := c.exitCPU.add(c.childCPU)
	return ChildUsage{User: cpu.user, Sys: cpu.sys, MaxRSS: max(c.maxRSS, c.childMaxRSS)}
}

// usageSoFar is a live process's ChildUsage (getrusage(RUSAGE_BOTH)):
// its CPU time and its waited-for children's, and the largest mark of
// resident memory among its own, its address space's now, and theirs.
// k.mu is not held.
func (tg *ThreadGroup) usageSoFar() ChildUsage {
	user, sys := tg.CPUTime()
	var m *mm.MemoryManager
	tg.k.mu.Lock()
	if len(tg.tasks) > 0 {
		m = tg.tasks[0].MM()
	}
	u := ChildUsage{User: user + tg.childCPU.user, Sys: sys + tg.childCPU.sys, MaxRSS: max(tg.maxRSS, tg.childMaxRSS)}
	tg.k.mu.Unlock()
	if m != nil {
		u.MaxRSS = max(u.MaxRSS, m.HiwaterRSS(0))
	}
	return u
}

// noteMaxRSSLocked raises the process's own mark to bytes; k.mu is held.
func (tg *ThreadGroup) noteMaxRSSLocked(bytes uint64) { tg.maxRSS = max(tg.maxRSS, bytes) }

// exitHiwaterRSS is the mark of resident memory the exiting task leaves
// its process (do_exit's setmax_mm_hiwater_rss), from its address space m
// after its own use of it ended: the mark m kept if that released it, or,
// for the process's last thread, m's mark now (m is another process's
// too: a vfork parent's). Any other thread leaves m to its process, whose
// own mark counts m's while it has it, or at its own exit.
func (t *Task) exitHiwaterRSS(m *mm.MemoryManager, released bool) uint64 {
	if !released && !t.TG.lastTask(t.K) {
		return 0
	}
	return m.HiwaterRSS(0)
}

// MaxRSS is the process's ru_maxrss in bytes (RUSAGE_SELF and
// RUSAGE_THREAD): its own mark and its address space's.
func (t *Task) MaxRSS() uint64 {
	now := t.MM().HiwaterRSS(0)
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	return max(now, t.TG.maxRSS)
}

// ChildrenMaxRSS is RUSAGE_CHILDREN's ru_maxrss in bytes: the largest
// mark among the children the process waited for, and theirs.
func (tg *ThreadGroup) ChildrenMaxRSS() uint64 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.childMaxRSS
}
