package kernel

import (
	"golang.org/x/sys/unix"
)

// WaitOptions select which children a wait reaps.
type WaitOptions struct {
	// Pid: > 0 that child, -1 any, 0 the caller's process group, < -1 the
	// process group -Pid.
	Pid    int
	NoHang bool
	NoWait bool // leave the child a zombie (waitid WNOWAIT)
	// Stopped and Continued also report stops and continues
	// (WUNTRACED, WCONTINUED); NoExit skips exits (waitid without
	// WEXITED).
	Stopped, Continued, NoExit bool
	// Clone selects only "clone" children, those whose exit signal is not
	// SIGCHLD (__WCLONE); without it, only the others. All selects both
	// (__WALL).
	Clone, All bool
}

// WaitResult is a reaped child, or one that stopped (Stopped is the
// signal) or continued.
type WaitResult struct {
	PID       int // as the waiter sees it
	kid       int // the kernel ID (pidns.go)
	UID       uint32
	Status    ExitStatus
	Stopped   int
	Continued bool
	// Usage is what the child used: all of it for an exit, so far for a
	// stop or a continue (a zero Usage for a tracee's exit).
	Usage ChildUsage
	// live is the stopped or continued process whose usage so far Wait
	// reads once it released k.mu.
	live *ThreadGroup
	// held is the zombie a tracer's wait for it releases to its parent
	// (ThreadGroup.tracerHolds).
	held *ThreadGroup
}

// WaitStatus encodes r as wait4 reports it.
func (r WaitResult) WaitStatus() uint32 {
	switch {
	case r.Stopped != 0:
		return uint32(r.Stopped)<<8 | 0x7f
	case r.Continued:
		return 0xffff
	}
	return r.Status.WaitStatus()
}

// Wait waits for a child of t's process to exit, as wait4 and waitid do:
// ECHILD if no child matches, a zero PID with NoHang if none has exited,
// EINTR if the task is killed meanwhile. o.Pid is an ID of t's namespace.
// A stop or continue reports the child's usage so far, as Linux's
// wait_task_stopped and wait_task_continued do (getrusage(RUSAGE_BOTH)).
func (t *Task) Wait(o WaitOptions) (WaitResult, error) {
	res, err := t.wait(o)
	if res.live != nil {
		res.Usage = res.live.usageSoFar()
	}
	return res, err
}

// wait is Wait but for a stop's or continue's usage.
func (t *Task) wait(o WaitOptions) (WaitResult, error) {
	if id := o.Pid; id > 0 || id < -1 {
		kid := t.KernelIDOf(max(id, -id))
		if kid == 0 {
			return WaitResult{}, unix.ECHILD // no such process here
		}
		o.Pid = kid
		if id < 0 {
			o.Pid = -kid
		}
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		res, found, matched := t.waitTraceesLocked(o)
		if found {
			return res, nil
		}
		for c := range t.TG.children {
			if !t.matches(c, o.Pid) || !o.All && (c.exitSignal != int(unix.SIGCHLD)) != o.Clone {
				continue
			}
			matched = true
			res := WaitResult{PID: t.PIDOf(c), kid: c.PID, UID: c.realUID(), Status: c.status}
			switch {
			case c.zombie && c.tracerHolds:
				// Its tracer sees it first.
			case c.zombie && !o.NoExit:
				res.Usage = c.childUsageLocked()
				if !o.NoWait {
					k.reapWaitedLocked(t.TG, c)
				}
				return res, nil
			case o.Stopped && c.job.stopReport:
				res.Stopped, res.live = c.job.stopSig, c
				c.job.stopReport = c.job.stopReport && o.NoWait
				return res, nil
			case o.Continued && c.job.contReport:
				res.Continued, res.live = true, c
				c.job.contReport = c.job.contReport && o.NoWait
				return res, nil
			}
		}
		switch {
		case !matched:
			return WaitResult{}, unix.ECHILD
		case o.NoHang:
			return WaitResult{}, nil
		case t.killedLocked() || t.SignalPending():
			return WaitResult{}, unix.EINTR
		}
		k.treeChanged.Wait()
	}
}

// matches reports whether child c is selected by a wait pid argument;
// k.mu is held.
func (t *Task) matches(c *ThreadGroup, pid int) bool {
	switch {
	case pid > 0:
		return c.PID == pid
	case pid == -1:
		return true
	case pid == 0:
		return c.pgid == t.TG.pgid
	default:
		return c.pgid == -pid
	}
}

// Pgid returns the process group of process pid (0: the caller's).
func (t *Task) Pgid(pid int) (int, error) {
	return t.groupField(pid, func(tg *ThreadGroup) int { return tg.pgid })
}

// Sid returns the session of process pid (0: the caller's).
func (t *Task) Sid(pid int) (int, error) {
	return t.groupField(pid, func(tg *ThreadGroup) int { return tg.sid })
}

// groupField reads an ID field of process pid, a zombie's too (getpgid
// and getsid find it until it is reaped), under the tree lock; pid and
// the result are IDs of t's namespace (0 for one outside it).
func (t *Task) groupField(pid int, field func(*ThreadGroup) int) (int, error) {
	if pid < 0 {
		return 0, unix.ESRCH
	}
	if pid != 0 {
		if pid = t.KernelIDOf(pid); pid == 0 {
			return 0, unix.ESRCH
		}
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg := k.groups[pid]; pid != 0 && tg != nil && tg.zombie {
		return t.IDOf(field(tg)), nil
	}
	tg, err := t.groupLocked(pid)
	if err != nil {
		return 0, err
	}
	return t.IDOf(field(tg)), nil
}

func (t *Task) groupLocked(pid int) (*ThreadGroup, error) {
	if pid == 0 {
		return t.TG, nil
	}
	tg := t.K.groups[pid]
	if tg == nil || tg.zombie {
		return nil, unix.ESRCH
	}
	return tg, nil
}

// Setpgid implements setpgid(2) within the sandbox. As in Linux, a
// zombie is still found by its PID (its group may change until it is
// reaped), a thread's ID that is not its process's is EINVAL, and a
// process group whose members are all zombies still exists.
func (t *Task) Setpgid(pid, pgid int) error {
	if pgid < 0 {
		return unix.EINVAL
	}
	if pid < 0 {
		return unix.ESRCH
	}
	if pid != 0 {
		if pid = t.KernelIDOf(pid); pid == 0 {
			return unix.ESRCH
		}
	}
	if pgid != 0 {
		if pgid = t.KernelIDOf(pgid); pgid == 0 {
			return unix.EPERM // no such group here
		}
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.TG
	if pid != 0 {
		if tg = k.groups[pid]; tg == nil {
			if k.tasks[pid] != nil {
				return unix.EINVAL // not a thread group leader
			}
			return unix.ESRCH
		}
	}
	if tg != t.TG && tg.parent != t.TG {
		return unix.ESRCH
	}
	if tg.sid != t.TG.sid {
		return unix.EPERM
	}
	if tg != t.TG && tg.execed {
		return unix.EACCES // a child that ran execve
	}
	if tg.PID == tg.sid {
		return unix.EPERM // a session leader cannot change group
	}
	if pgid == 0 {
		pgid = tg.PID
	}
	if pgid != tg.PID {
		found := false
		for _, g := range k.groups {
			if g.pgid == pgid && g.sid == t.TG.sid {
				found = true
				break
			}
		}
		if !found {
			return unix.EPERM
		}
	}
	old := tg.pgid
	tg.pgid = pgid
	k.releaseIDLocked(old)
	return nil
}

// Setsid implements setsid(2).
func (t *Task) Setsid() (int, error) {
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.TG
	for _, g := range k.groups {
		if g.pgid == tg.PID && !g.zombie {
			return 0, unix.EPERM
		}
	}
	oldPgid, oldSid := tg.pgid, tg.sid
	tg.sid, tg.pgid, tg.ctty = tg.PID, tg.PID, nil
	k.releaseIDLocked(oldPgid)
	k.releaseIDLocked(oldSid)
	return tg.vpid, nil
}
