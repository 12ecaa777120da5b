package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Nice values, as getpriority(2)/setpriority(2) see them. They are
// bookkeeping only: the host schedules every stub thread at the sandbox's
// own priority, so a nice value changes what the application reads back,
// not how much CPU it gets.

// Nice returns the task's nice value (-20..19). Linux keeps it per thread.
func (t *Task) Nice() int { return int(t.nice.Load()) }

// prioTargets returns the tasks that which and who name, as
// getpriority(2) reads them: a thread ID, a process group, or every task
// whose real user ID is who (0: the caller's own).
func (t *Task) prioTargets(which, who int) ([]*Task, error) {
	if who < 0 {
		return nil, unix.ESRCH
	}
	k := t.K
	switch which {
	case linux.PRIO_PROCESS:
		if who == 0 {
			return []*Task{t}, nil
		}
		if o := t.LookupTaskOrZombie(who); o != nil {
			return []*Task{o}, nil
		}
		return nil, unix.ESRCH
	case linux.PRIO_PGRP, linux.PRIO_USER:
	default:
		return nil, unix.EINVAL
	}
	uid := uint32(who)
	if which == linux.PRIO_USER && who == 0 {
		uid = t.Creds().UID.Real
	}
	if which == linux.PRIO_PGRP && who != 0 {
		if who = t.KernelIDOf(who); who == 0 {
			return nil, unix.ESRCH
		}
	}
	k.mu.Lock()
	if which == linux.PRIO_PGRP && who == 0 {
		who = t.TG.pgid
	}
	var out []*Task
	if which == linux.PRIO_PGRP {
		for _, o := range k.tasks {
			if o.TG.pgid == who && !o.TG.zombie {
				out = append(out, o)
			}
		}
		// Zombies count until reaped (do_each_pid_thread finds them).
		for _, tg := range k.groups {
			if tg.pgid == who && tg.zombie && tg.last != nil {
				out = append(out, tg.last)
			}
		}
	}
	k.mu.Unlock()
	if which == linux.PRIO_USER {
		for _, o := range k.taskList() {
			if o.Creds().UID.Real == uid {
				out = append(out, o)
			}
		}
	}
	if len(out) == 0 {
		return nil, unix.ESRCH
	}
	return out, nil
}

// taskList returns a snapshot of every task.
func (k *Kernel) taskList() []*Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*Task, 0, len(k.tasks))
	for _, o := range k.tasks {
		out = append(out, o)
	}
	return out
}

// GetPriority implements getpriority(2)'s search: the lowest nice value
// among the tasks named.
func (t *Task) GetPriority(which, who int) (int, error) {
	targets, err := t.prioTargets(which, who)
	if err != nil {
		return 0, err
	}
	best := 19
	for _, o := range targets {
		best = min(best, o.Nice())
	}
	return best, nil
}

// SetPriority implements setpriority(2): nice is clamped to -20..19; a
// task of another user needs privilege (EPERM), and lowering a nice value
// needs privilege or RLIMIT_NICE (EACCES), as set_one_prio checks. The
// sandbox's root has CAP_SYS_NICE, as its capability sets report.
func (t *Task) SetPriority(which, who, nice int) error {
	targets, err := t.prioTargets(which, who)
	if err != nil {
		return err
	}
	nice = max(-20, min(19, nice))
	c := t.Creds()
	privileged := c.HasCap(linux.CAP_SYS_NICE)
	lim, _ := t.TG.Rlimit(unix.RLIMIT_NICE, nil, false)
	var firstErr error
	for _, o := range targets {
		oc := o.Creds()
		switch {
		case !privileged && oc.UID.Real != c.UID.Effective && oc.UID.Effective != c.UID.Effective:
			err = unix.EPERM
		case nice < o.Nice() && !privileged && uint64(20-nice) > lim.Cur:
			err = unix.EACCES
		default:
			o.nice.Store(int32(nice))
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
