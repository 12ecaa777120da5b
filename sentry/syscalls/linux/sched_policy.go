package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
)

// The scheduling-policy syscalls: kernel.SchedParams is the bookkeeping
// (the host schedules every thread alike), these read and check arguments
// in Linux's order (kernel/sched/syscalls.c).

func registerSchedPolicy(st *kernel.SyscallTable) {
	const note = "policies are recorded and checked, not applied: the host schedules every thread alike"
	partial(st, unix.SYS_SCHED_SETSCHEDULER, "sched_setscheduler", schedSetscheduler, note, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_GETSCHEDULER, "sched_getscheduler", schedGetscheduler, note, kernel.ArgInt)
	partial(st, unix.SYS_SCHED_SETPARAM, "sched_setparam", schedSetparam, note, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_GETPARAM, "sched_getparam", schedGetparam, note, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_SETATTR, "sched_setattr", schedSetattr, note, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_GETATTR, "sched_getattr", schedGetattr, note, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", schedPriorityMax, kernel.ArgInt)
	reg(st, unix.SYS_SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", schedPriorityMin, kernel.ArgInt)
	partial(st, unix.SYS_SCHED_RR_GET_INTERVAL, "sched_rr_get_interval", schedRRGetInterval, "reports Linux's default slices", kernel.ArgInt, kernel.ArgHex)
}

// taskArg returns the task a sched_* pid argument names (0: the caller),
// a zombie included.
func taskArg(t *kernel.Task, pid int32) (*kernel.Task, error) {
	switch {
	case pid < 0:
		return nil, unix.EINVAL
	case pid == 0:
		return t, nil
	}
	if o := t.LookupTaskOrZombie(int(pid)); o != nil {
		return o, nil
	}
	return nil, unix.ESRCH
}

// schedParamArg reads struct sched_param and finds the task, in
// do_sched_setscheduler's order: EINVAL for no parameter or a negative
// pid, EFAULT, then ESRCH.
func schedParamArg(t *kernel.Task, pid int32, addr uintptr) (*kernel.Task, uint32, error) {
	if addr == 0 || pid < 0 {
		return nil, 0, unix.EINVAL
	}
	var prio int32
	if err := kernel.CopyIn(t, addr, &prio); err != nil {
		return nil, 0, err
	}
	target, err := taskArg(t, pid)
	return target, uint32(prio), err
}

func schedSetscheduler(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target, prio, err := schedParamArg(t, a.Int(0), a.Pointer(2))
	if err != nil {
		return 0, err
	}
	policy := uint32(a.Int(1))
	if int32(policy) < 0 && policy&^linux.SCHED_RESET_ON_FORK > 0xffff {
		return 0, unix.EINVAL
	}
	p := kernel.SchedParams{Policy: policy &^ linux.SCHED_RESET_ON_FORK, Priority: prio, ResetOnFork: policy&linux.SCHED_RESET_ON_FORK != 0}
	if p.Policy == linux.SCHED_DEADLINE {
		// sched_setscheduler cannot give deadline parameters.
		return 0, unix.EINVAL
	}
	return 0, t.SetSched(target, p, target.Nice())
}

func schedSetparam(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target, prio, err := schedParamArg(t, a.Int(0), a.Pointer(1))
	if err != nil {
		return 0, err
	}
	p := target.Sched()
	p.Priority = prio
	return 0, t.SetSched(target, p, target.Nice())
}

func schedGetscheduler(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target, err := taskArg(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	p := target.Sched()
	if p.ResetOnFork {
		return uintptr(p.Policy | linux.SCHED_RESET_ON_FORK), nil
	}
	return uintptr(p.Policy), nil
}

func schedGetparam(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(1) == 0 || a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	target, err := taskArg(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	prio := int32(target.Sched().Priority)
	return 0, kernel.CopyOut(t, a.Pointer(1), &prio)
}

// schedAttrMax is how much of a struct sched_attr may be given: a page.
const schedAttrMax = 4096

// copyInSchedAttr is sched_copy_attr: the size the caller gives (0 for the
// first version) must be at least SCHED_ATTR_SIZE_VER0 and at most a page,
// and the bytes past the kernel's structure zero; otherwise E2BIG, with
// the kernel's size written back.
func copyInSchedAttr(t *kernel.Task, addr uintptr) (unix.SchedAttr, error) {
	var attr unix.SchedAttr
	var size uint32
	if err := kernel.CopyIn(t, addr, &size); err != nil {
		return attr, err
	}
	if size == 0 {
		size = linux.SCHED_ATTR_SIZE_VER0
	}
	tooBig := func() (unix.SchedAttr, error) {
		kernelSize := uint32(unix.SizeofSchedAttr)
		if err := kernel.CopyOut(t, addr, &kernelSize); err != nil {
			return attr, err
		}
		return attr, unix.E2BIG
	}
	if size < linux.SCHED_ATTR_SIZE_VER0 || size > schedAttrMax {
		return tooBig()
	}
	switch err := kernel.CopyInExtensible(t, addr, int(size), &attr); {
	case err == unix.E2BIG:
		return tooBig()
	case err != nil:
		return attr, err
	}
	if attr.Flags&unix.SCHED_FLAG_UTIL_CLAMP != 0 && size < linux.SCHED_ATTR_SIZE_VER1 {
		return attr, unix.EINVAL
	}
	attr.Size = size
	attr.Nice = max(-20, min(19, attr.Nice))
	return attr, nil
}

func schedSetattr(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(1) == 0 || a.Int(0) < 0 || a.Uint(2) != 0 {
		return 0, unix.EINVAL
	}
	attr, err := copyInSchedAttr(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	if int32(attr.Policy) < 0 {
		return 0, unix.EINVAL
	}
	target, err := taskArg(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	if attr.Flags&^unix.SCHED_FLAG_ALL != 0 {
		return 0, unix.EINVAL
	}
	old := target.Sched()
	p := kernel.SchedParams{Policy: attr.Policy, Priority: attr.Priority, ResetOnFork: attr.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0,
		Runtime: attr.Runtime, Deadline: attr.Deadline, Period: attr.Period}
	nice := int(attr.Nice)
	if attr.Flags&unix.SCHED_FLAG_KEEP_POLICY != 0 {
		p.Policy = old.Policy
	}
	if attr.Flags&unix.SCHED_FLAG_KEEP_PARAMS != 0 {
		p.Priority, p.Runtime, p.Deadline, p.Period, nice = old.Priority, old.Runtime, old.Deadline, old.Period, target.Nice()
	}
	return 0, t.SetSched(target, p, nice)
}

func schedGetattr(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	usize := a.Uint(2)
	if a.Pointer(1) == 0 || a.Int(0) < 0 || usize > schedAttrMax || usize < linux.SCHED_ATTR_SIZE_VER0 || a.Uint(3) != 0 {
		return 0, unix.EINVAL
	}
	target, err := taskArg(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	p := target.Sched()
	attr := unix.SchedAttr{Size: min(usize, unix.SizeofSchedAttr), Policy: p.Policy, Priority: p.Priority,
		Runtime: p.Runtime, Deadline: p.Deadline, Period: p.Period, Util_max: 1024}
	if p.ResetOnFork {
		attr.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
	}
	if p.Policy != linux.SCHED_FIFO && p.Policy != linux.SCHED_RR && p.Policy != linux.SCHED_DEADLINE {
		attr.Nice = int32(target.Nice())
	}
	return 0, t.CopyOut(a.Pointer(1), abi.AsBytes(&attr)[:attr.Size])
}

// priorityRange returns the priorities policy takes.
func priorityRange(policy int32) (lo, hi uintptr, err error) {
	switch policy {
	case linux.SCHED_FIFO, linux.SCHED_RR:
		return 1, 99, nil
	case linux.SCHED_NORMAL, linux.SCHED_BATCH, linux.SCHED_IDLE, linux.SCHED_DEADLINE:
		return 0, 0, nil
	}
	return 0, 0, unix.EINVAL
}

func schedPriorityMax(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	_, hi, err := priorityRange(a.Int(0))
	return hi, err
}

func schedPriorityMin(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	lo, _, err := priorityRange(a.Int(0))
	return lo, err
}

// Time slices sched_rr_get_interval reports: SCHED_RR's default
// (sched_rr_timeslice_ms), none for SCHED_FIFO, and for the others the
// default base slice of the fair scheduler (3ms) rounded up to a 4ms tick.
const (
	rrSlice   = 100 * time.Millisecond
	fairSlice = 4 * time.Millisecond
)

func schedRRGetInterval(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target, err := taskArg(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	slice := fairSlice
	switch target.Sched().Policy {
	case linux.SCHED_RR:
		slice = rrSlice
	case linux.SCHED_FIFO:
		slice = 0
	}
	ts := unix.NsecToTimespec(slice.Nanoseconds())
	return 0, kernel.CopyOut(t, a.Pointer(1), &ts)
}
