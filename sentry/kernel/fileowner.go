package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// File owners (fcntl F_SETOWN, F_SETOWN_EX; Linux's struct fown_struct):
// the thread, process or process group that a file's SIGIO and SIGURG go
// to (vfs/async.go sends them). Linux holds the owner by its struct pid,
// so an owner that exits stops receiving signals and F_GETOWN reads 0,
// even if its number is later reused; the owner here holds the task
// itself for the same effect, and a process group by its number.

// fileOwner is a vfs.Owner.
type fileOwner struct {
	k    *Kernel
	typ  int32 // linux.F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP
	task *Task // F_OWNER_TID and F_OWNER_PID: the task the ID named; nil for ID 0
	pgid int   // F_OWNER_PGRP: the group, 0 for none
	// uid and euid are the setter's real and effective user IDs, which
	// sigio_perm compares with the target's.
	uid, euid uint32
}

// NewFileOwner returns the owner F_SETOWN_EX sets for typ and id, with
// t's credentials: EINVAL for an unknown typ, ESRCH when id names no task,
// process, group or session (find_vpid); ID 0 is an owner that signals
// no one.
func (t *Task) NewFileOwner(typ, id int32) (vfs.Owner, error) {
	switch typ {
	case linux.F_OWNER_TID, linux.F_OWNER_PID, linux.F_OWNER_PGRP:
	default:
		return nil, unix.EINVAL
	}
	uids := t.Creds().UID
	o := &fileOwner{k: t.K, typ: typ, uid: uids.Real, euid: uids.Effective}
	if id == 0 {
		return o, nil
	}
	if id = int32(t.KernelIDOf(int(id))); id <= 0 {
		return nil, unix.ESRCH // none in t's namespace
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.idInUseLocked(int(id)) {
		return nil, unix.ESRCH
	}
	if typ == linux.F_OWNER_PGRP {
		o.pgid = int(id)
	} else {
		o.task = k.tasks[int(id)]
	}
	return o, nil
}

// NewLeaseOwner returns the owner a lease makes of its taker t
// (lease_setup's __f_setown without force): t's process, with the user
// IDs of an owner never set by F_SETOWN, root's, which sigio_perm lets
// through.
func (t *Task) NewLeaseOwner() vfs.Owner {
	return &fileOwner{k: t.K, typ: linux.F_OWNER_PID, task: t}
}

// idInUseLocked reports whether id names a task, a process not yet
// reaped, a process group or a session: whether Linux has a struct pid
// for it. k.mu is held.
func (k *Kernel) idInUseLocked(id int) bool {
	if k.tasks[id] != nil || k.groups[id] != nil {
		return true
	}
	for _, tg := range k.groups {
		if tg.pgid == id || tg.sid == id {
			return true
		}
	}
	return false
}

// ID implements vfs.Owner (f_getown, f_getown_ex): a kernel ID (pidns.go).
func (o *fileOwner) ID() (typ, id int32) {
	return o.typ, int32(o.current())
}

// current returns the owner's ID while a task answers to it, else 0.
func (o *fileOwner) current() int {
	k := o.k
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case o.task != nil && o.typ == linux.F_OWNER_TID && k.tasks[o.task.TID] == o.task:
		return o.task.TID
	case o.task != nil && o.typ == linux.F_OWNER_PID && k.groups[o.task.TG.PID] == o.task.TG:
		return o.task.TID
	case o.pgid != 0 && len(k.pgrpLocked(o.pgid)) > 0:
		return o.pgid
	}
	return 0
}

// Signal implements vfs.Owner (send_sigio, send_sigurg): a thread owner
// gets si itself, a process owner's process or each process of a group
// owner gets it as a process signal, each only if sigio_perm allows.
func (o *fileOwner) Signal(si SigInfo) {
	k := o.k
	k.mu.Lock()
	var targets []*ThreadGroup
	var thread *Task
	switch {
	case o.task != nil && o.typ == linux.F_OWNER_TID && k.tasks[o.task.TID] == o.task:
		thread = o.task
	case o.task != nil && o.typ == linux.F_OWNER_PID && k.groups[o.task.TG.PID] == o.task.TG:
		targets = append(targets, o.task.TG)
	case o.pgid != 0:
		targets = k.pgrpLocked(o.pgid)
	}
	k.mu.Unlock()
	if thread != nil && o.mayIOSignal(thread.TG) {
		thread.SendSignal(si)
	}
	for _, tg := range targets {
		if o.mayIOSignal(tg) {
			tg.SendSignal(si)
		}
	}
}

// mayIOSignal is sigio_perm: the setter was root (effective UID 0), or
// its real or effective UID is the target's real or saved one.
func (o *fileOwner) mayIOSignal(tg *ThreadGroup) bool {
	ids := tg.uids()
	return o.euid == 0 || o.euid == ids.Saved || o.euid == ids.Real ||
		o.uid == ids.Saved || o.uid == ids.Real
}
