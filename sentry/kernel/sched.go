package kernel

import (
	"math/bits"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Scheduling policies, as sched_setscheduler(2) and sched_setattr(2) see
// them. Like nice values (priority.go) they are bookkeeping only: the host
// schedules every stub thread at the sandbox's own policy, so a policy
// changes what the application reads back and what it may do next (the
// permission rules are Linux's), not when it runs.

// SchedParams are a task's scheduling policy and its parameters.
type SchedParams struct {
	Policy      uint32 // SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE or SCHED_DEADLINE
	Priority    uint32 // 1..99 for SCHED_FIFO and SCHED_RR, else 0
	ResetOnFork bool   // SCHED_RESET_ON_FORK: children start with SCHED_NORMAL and nice 0
	// Runtime, Deadline and Period are SCHED_DEADLINE's, in nanoseconds.
	Runtime, Deadline, Period uint64
}

// sched is a task's SchedParams; the nice value is Task.nice.
type sched struct {
	mu sync.Mutex
	p  SchedParams // guarded by mu
}

// Limits of the parameters (linux/sched/prio.h, kernel/sched/deadline.c's
// default sysctl_sched_dl_period_min and max).
const (
	maxRTPriority = 99
	dlPeriodMin   = 100 * 1000      // ns
	dlPeriodMax   = 4194304 * 1000  // ns
	dlScale       = 10              // runtime is kept in units of 2^dlScale ns
	dlMSB         = uint64(1) << 63 // never set in a deadline or a period
)

// Sched returns the task's scheduling policy and parameters.
func (t *Task) Sched() SchedParams {
	t.sched.mu.Lock()
	defer t.sched.mu.Unlock()
	return t.sched.p
}

// ValidSchedPolicy reports whether policy is one Linux knows.
func ValidSchedPolicy(policy uint32) bool {
	switch policy {
	case linux.SCHED_NORMAL, linux.SCHED_FIFO, linux.SCHED_RR, linux.SCHED_BATCH, linux.SCHED_IDLE, linux.SCHED_DEADLINE:
		return true
	}
	return false
}

func rtPolicy(policy uint32) bool { return policy == linux.SCHED_FIFO || policy == linux.SCHED_RR }

// SetSched gives target the policy p and, for the fair policies, the nice
// value nice, as __sched_setscheduler checks them: parameters that do not
// fit the policy are EINVAL; without CAP_SYS_NICE, a real-time policy
// needs RLIMIT_RTPRIO, SCHED_DEADLINE is refused, a lower nice value needs
// RLIMIT_NICE, leaving SCHED_IDLE too, another user's task and clearing
// reset-on-fork are EPERM.
func (t *Task) SetSched(target *Task, p SchedParams, nice int) error {
	switch {
	case !ValidSchedPolicy(p.Policy), p.Priority > maxRTPriority, rtPolicy(p.Policy) != (p.Priority != 0):
		return unix.EINVAL
	case p.Policy == linux.SCHED_DEADLINE && !validDeadline(p):
		return unix.EINVAL
	}
	nice = max(-20, min(19, nice))
	old := target.Sched()
	c := t.Creds()
	if !c.HasCap(linux.CAP_SYS_NICE) {
		oc := target.Creds()
		nlim, _ := target.TG.Rlimit(unix.RLIMIT_NICE, nil, false)
		canNice := func(n int) bool { return uint64(20-n) <= nlim.Cur }
		rlim, _ := target.TG.Rlimit(unix.RLIMIT_RTPRIO, nil, false)
		switch {
		case !rtPolicy(p.Policy) && p.Policy != linux.SCHED_DEADLINE && nice < target.Nice() && !canNice(nice):
			return unix.EPERM
		case rtPolicy(p.Policy) && p.Policy != old.Policy && rlim.Cur == 0:
			return unix.EPERM
		case rtPolicy(p.Policy) && p.Priority > old.Priority && uint64(p.Priority) > rlim.Cur:
			return unix.EPERM
		case p.Policy == linux.SCHED_DEADLINE:
			return unix.EPERM
		case old.Policy == linux.SCHED_IDLE && p.Policy != linux.SCHED_IDLE && !canNice(target.Nice()):
			return unix.EPERM
		case c.UID.Effective != oc.UID.Effective && c.UID.Effective != oc.UID.Real:
			return unix.EPERM
		case old.ResetOnFork && !p.ResetOnFork:
			return unix.EPERM
		}
	}
	if !rtPolicy(p.Policy) && p.Policy != linux.SCHED_DEADLINE {
		target.nice.Store(int32(nice))
	}
	if p.Policy != linux.SCHED_DEADLINE {
		p.Runtime, p.Deadline, p.Period = 0, 0, 0
	}
	target.sched.mu.Lock()
	target.sched.p = p
	target.sched.mu.Unlock()
	return nil
}

// validDeadline is __checkparam_dl: runtime <= deadline <= period, within
// the default period bounds.
func validDeadline(p SchedParams) bool {
	period := p.Period
	if period == 0 {
		period = p.Deadline
	}
	return p.Deadline != 0 && p.Runtime >= 1<<dlScale && p.Deadline&dlMSB == 0 && p.Period&dlMSB == 0 &&
		period >= p.Deadline && p.Deadline >= p.Runtime && period >= dlPeriodMin && period <= dlPeriodMax
}

// inheritSched gives a child its parent's policy, or with reset-on-fork
// SCHED_NORMAL (a real-time or deadline parent) and nice 0 (a parent with
// a negative one), as sched_fork does.
func (c *Task) inheritSched(parent *Task) {
	p := parent.Sched()
	nice := parent.Nice()
	if p.ResetOnFork {
		if rtPolicy(p.Policy) || p.Policy == linux.SCHED_DEADLINE {
			p, nice = SchedParams{Policy: linux.SCHED_NORMAL}, 0
		}
		nice = max(nice, 0)
		p.ResetOnFork = false
	}
	c.sched.p = p
	c.nice.Store(int32(nice))
	c.affinity.Store(parent.affinity.Load())
}

// CPUMask is a set of the sandbox's CPUs: bit i%64 of word i/64 is CPU i.
// A mask is never changed once stored.
type CPUMask []uint64

// Has reports whether CPU i is in m.
func (m CPUMask) Has(i int) bool { return i/64 < len(m) && m[i/64]&(1<<(i%64)) != 0 }

// Affinity returns the CPUs t may run on (sched_getaffinity): all of the
// sandbox's unless sched_setaffinity narrowed them. Like the policy, the
// mask is what the application reads back, not where the host runs it.
func (t *Task) Affinity() CPUMask {
	if m := t.affinity.Load(); m != nil {
		return *m
	}
	n := t.K.CPUs()
	m := make(CPUMask, (n+63)/64)
	for i := 0; i < n; i++ {
		m[i/64] |= 1 << (i % 64)
	}
	return m
}

// SetAffinity is sched_setaffinity: the CPUs of m that the sandbox has,
// EINVAL if there are none.
func (t *Task) SetAffinity(m CPUMask) error {
	n := t.K.CPUs()
	kept := make(CPUMask, (n+63)/64)
	any := false
	for i := 0; i < n; i++ {
		if m.Has(i) {
			kept[i/64] |= 1 << (i % 64)
			any = true
		}
	}
	if !any {
		return unix.EINVAL
	}
	t.affinity.Store(&kept)
	return nil
}

// CPU is the CPU getcpu(2) reports: one of t's allowed CPUs, the same for
// the task's life while its mask stays (gVisor's assignCPU: the thread
// ID modulo the allowed count picks it), so that threads spread over the
// CPUs as per-CPU data expects.
func (t *Task) CPU() int {
	m := t.Affinity()
	count := 0
	for _, w := range m {
		count += bits.OnesCount64(w)
	}
	k := t.TID % count
	for i := 0; ; i++ {
		if m.Has(i) {
			if k == 0 {
				return i
			}
			k--
		}
	}
}

// MaySetAffinity is sched_setaffinity(2)'s permission check on target:
// another user's task (check_same_owner: the caller's effective ID is
// neither the target's effective nor its real ID) needs CAP_SYS_NICE.
func (t *Task) MaySetAffinity(target *Task) error {
	c, oc := t.Creds(), target.Creds()
	if c.UID.Effective != oc.UID.Effective && c.UID.Effective != oc.UID.Real && !c.HasCap(linux.CAP_SYS_NICE) {
		return unix.EPERM
	}
	return nil
}
