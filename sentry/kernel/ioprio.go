package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// I/O priorities, as ioprio_set(2) and ioprio_get(2) see them:
// bookkeeping only, like nice values, since the sandbox's I/O is the
// sentry's. A task's value is what ioprio_set gave it (IOPRIO_CLASS_NONE at
// first), inherited by its children; where ioprio_get compares tasks (a
// process group, a user) a task still in IOPRIO_CLASS_NONE counts with
// the class and level its policy and nice value imply, and the best (the
// lowest) value wins, as in Linux.

// ioprioLevels is IOPRIO_NR_LEVELS: a level is the value's low 3 bits.
const ioprioLevels = 8

// ioprioTargets returns the tasks IOPRIO_WHO_PROCESS, _PGRP or _USER and
// who name: the same searches as getpriority's.
func (t *Task) ioprioTargets(which, who int) ([]*Task, error) {
	switch which {
	case linux.IOPRIO_WHO_PROCESS:
		return t.prioTargets(linux.PRIO_PROCESS, who)
	case linux.IOPRIO_WHO_PGRP:
		return t.prioTargets(linux.PRIO_PGRP, who)
	case linux.IOPRIO_WHO_USER:
		return t.prioTargets(linux.PRIO_USER, who)
	}
	return nil, unix.EINVAL
}

// effectiveIOPrio is the task's value, or for IOPRIO_CLASS_NONE the one
// its policy and nice value imply (__get_task_ioprio).
func (t *Task) effectiveIOPrio() int {
	v := int(t.ioprio.Load())
	if v>>linux.IOPRIO_CLASS_SHIFT&linux.IOPRIO_CLASS_MASK != linux.IOPRIO_CLASS_NONE {
		return v
	}
	class := linux.IOPRIO_CLASS_BE
	switch t.Sched().Policy {
	case linux.SCHED_FIFO, linux.SCHED_RR:
		class = linux.IOPRIO_CLASS_RT
	case linux.SCHED_IDLE:
		class = linux.IOPRIO_CLASS_IDLE
	}
	return class<<linux.IOPRIO_CLASS_SHIFT | (t.Nice()+20)/5
}

// GetIOPrio implements ioprio_get(2).
func (t *Task) GetIOPrio(which, who int) (int, error) {
	targets, err := t.ioprioTargets(which, who)
	if err != nil {
		return 0, err
	}
	if which == linux.IOPRIO_WHO_PROCESS {
		return int(targets[0].ioprio.Load()), nil
	}
	best := targets[0].effectiveIOPrio()
	for _, o := range targets[1:] {
		best = min(best, o.effectiveIOPrio())
	}
	return best, nil
}

// SetIOPrio implements ioprio_set(2): the class must be one Linux knows,
// IOPRIO_CLASS_NONE with level 0; IOPRIO_CLASS_RT needs CAP_SYS_NICE or
// CAP_SYS_ADMIN; another user's task needs CAP_SYS_NICE (EPERM).
func (t *Task) SetIOPrio(which, who, ioprio int) error {
	c := t.Creds()
	switch ioprio >> linux.IOPRIO_CLASS_SHIFT & linux.IOPRIO_CLASS_MASK {
	case linux.IOPRIO_CLASS_RT:
		if !c.HasCap(linux.CAP_SYS_NICE) && !c.HasCap(linux.CAP_SYS_ADMIN) {
			return unix.EPERM
		}
	case linux.IOPRIO_CLASS_BE, linux.IOPRIO_CLASS_IDLE:
	case linux.IOPRIO_CLASS_NONE:
		if ioprio&(ioprioLevels-1) != 0 {
			return unix.EINVAL
		}
	default:
		return unix.EINVAL
	}
	targets, err := t.ioprioTargets(which, who)
	if err != nil {
		return err
	}
	for _, o := range targets {
		oc := o.Creds()
		if oc.UID.Real != c.UID.Effective && oc.UID.Real != c.UID.Real && !c.HasCap(linux.CAP_SYS_NICE) {
			return unix.EPERM
		}
		o.ioprio.Store(int32(ioprio))
	}
	return nil
}
