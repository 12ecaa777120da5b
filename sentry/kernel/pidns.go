package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// PID namespaces (pid_namespaces(7)). Every task has one kernel ID, its
// ID in the sandbox's first namespace (Task.TID, ThreadGroup.PID: what
// the process tree, the control socket and the logs use), and one more
// ID in each nested namespace it belongs to, which the namespace's
// tables map to and from kernel IDs. The application only ever sees IDs
// through its own namespace: syscalls translate at their boundary
// (TIDOf, PIDOf, IDOf for what they return; LookupTask and KernelIDOf
// for what they are given), a process outside the caller's namespace
// shows as 0, and one cannot be named from inside.
//
// The first process made in a new namespace is its init (ID 1): it adopts
// the namespace's orphans, it ignores the signals it has no handler for
// when they come from inside (SIGKILL and SIGSTOP from an ancestor
// namespace excepted: sig_task_ignored with SIGNAL_UNKILLABLE), and its
// death kills every other process of the namespace and keeps any new one
// from being made there (ENOMEM), as zap_pid_ns_processes. The init of
// the sandbox's first namespace, the program the user ran, is not
// shielded so: signals reach it as any process, as in gVisor's runsc
// (whose task_signals.go gives the reason: most programs run in a sandbox
// are not written to be an init, and would otherwise not die of a
// SIGTERM they never handle).
//
// What other processes read of a process (SO_PEERCRED, SCM_CREDENTIALS,
// System V shared memory's and message queues' PIDs, F_GETLK's l_pid,
// a POSIX message queue's NOTIFY_PID and notification, seccomp
// notifications) is kept as its kernel ID and shown in the reader's
// namespace, as Linux keeps a struct pid; a semaphore's sempid is its
// writer's own view, as in Linux.

// maxPIDNSLevel is how deep PID namespaces nest (MAX_PID_NS_LEVEL): a
// new one below it is ENOSPC.
const maxPIDNSLevel = 32

// PIDNamespace is a PID namespace. parent, level, userNS and ino never
// change.
type PIDNamespace struct {
	parent *PIDNamespace // nil for the sandbox's first
	level  int           // 0 for the sandbox's first
	userNS *UserNamespace
	ino    uint64

	// mu guards the ID tables; a leaf, taken under Kernel.mu too.
	mu       sync.Mutex
	toLocal  map[int]int // kernel ID -> this namespace's; guarded by mu
	toKernel map[int]int // this namespace's ID -> kernel ID; guarded by mu
	next     int         // the next ID to try; guarded by mu
	last     int         // the ID handed out last; guarded by mu

	// proc is the namespace's /proc, made at its first mount (ProcFSOf);
	// guarded by mu.
	proc vfs.FileSystem

	// init is the process with ID 1, nil until it is made; guarded by
	// Kernel.mu.
	init *ThreadGroup
	// dead is set when init died: the namespace takes no new process
	// (Linux clears PIDNS_ADDING); guarded by Kernel.mu.
	dead bool
}

// newRootPIDNS returns the sandbox's first PID namespace, where every ID
// is the kernel's.
func newRootPIDNS() *PIDNamespace { return &PIDNamespace{ino: InitPIDNSInode} }

// Inode is the namespace's inode number (/proc/PID/ns/pid).
func (ns *PIDNamespace) Inode() uint64 { return ns.ino }

// UserNS is the user namespace that owns ns (nil: the initial one).
func (ns *PIDNamespace) UserNS() *UserNamespace { return ns.userNS }

// Parent is the namespace ns was made in, nil for the first.
func (ns *PIDNamespace) Parent() *PIDNamespace { return ns.parent }

// Level is how deep ns is nested, 0 for the sandbox's first.
func (ns *PIDNamespace) Level() int { return ns.level }

// IsAncestorOf reports whether ns is o or one of o's ancestors: whether
// ns's processes see o's.
func (ns *PIDNamespace) IsAncestorOf(o *PIDNamespace) bool {
	for ; o != nil; o = o.parent {
		if o == ns {
			return true
		}
	}
	return false
}

// IDOf returns the ID kernel ID kid has in ns, 0 if it has none there.
func (ns *PIDNamespace) IDOf(kid int) int {
	if ns.level == 0 {
		return kid
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.toLocal[kid]
}

// KernelIDOf returns the kernel ID of ns's ID id, 0 if ns has no such ID.
func (ns *PIDNamespace) KernelIDOf(id int) int {
	if ns.level == 0 || id <= 0 {
		return id
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.toKernel[id]
}

// IDs returns ns's ID of each of the kernel IDs kids that has one.
func (ns *PIDNamespace) IDs(kids []int) []int {
	if ns.level == 0 {
		return kids
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var ids []int
	for _, kid := range kids {
		if id := ns.toLocal[kid]; id != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// allocIDsLocked gives a new task in namespace ns its kernel ID and its ID
// in ns and in each namespace above it, and returns the first and ns's
// (alloc_pid). setTID (clone3's set_tid) chooses them, ns's first and up
// as far as it goes: EINVAL for more IDs than levels, an ID out of range
// or one other than 1 in a namespace without its init; EPERM without
// CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in a level's owner for
// credentials c; EEXIST for an ID taken. k.mu is held.
func (k *Kernel) allocIDsLocked(ns *PIDNamespace, setTID []int32, c Credentials) (kid, local int, err error) {
	if len(setTID) > ns.level+1 {
		return 0, 0, unix.EINVAL
	}
	chosen := make(map[*PIDNamespace]int, len(setTID))
	n := ns
	for _, tid := range setTID {
		switch {
		case tid < 1 || tid >= MaxPID, tid != 1 && n.init == nil:
			return 0, 0, unix.EINVAL
		case !c.HasCapIn(n.userNS, linux.CAP_SYS_ADMIN) && !c.HasCapIn(n.userNS, linux.CAP_CHECKPOINT_RESTORE):
			return 0, 0, unix.EPERM
		case n.level == 0 && (k.tasks[int(tid)] != nil || k.groups[int(tid)] != nil),
			n.level > 0 && n.KernelIDOf(int(tid)) != 0:
			return 0, 0, unix.EEXIST
		}
		chosen[n] = int(tid)
		n = n.parent
	}
	if id, ok := chosen[k.pidns]; ok {
		kid = id // the allocator's cursor stays (idr_alloc, not _cyclic)
		k.forks++
	} else {
		kid = k.allocID()
	}
	local = kid
	if ns.level > 0 {
		k.nestedIDs[kid] = ns
	}
	for n := ns; n.level > 0; n = n.parent {
		id, ok := chosen[n]
		if ok {
			n.allocExact(kid, id)
		} else {
			id = n.allocOne(kid)
		}
		if n == ns {
			local = id
		}
	}
	return kid, local, nil
}

// allocExact gives kernel ID kid ID id in ns, which is free; the cursor
// of the next IDs stays.
func (ns *PIDNamespace) allocExact(kid, id int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.toKernel[id], ns.toLocal[kid] = kid, id
}

// allocOne gives kernel ID kid the next free ID in ns.
func (ns *PIDNamespace) allocOne(kid int) int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for {
		id := ns.next
		ns.next++
		if ns.next >= MaxPID {
			ns.next = 2
		}
		if ns.toKernel[id] == 0 {
			ns.toKernel[id], ns.toLocal[kid] = kid, id
			ns.last = id
			return id
		}
	}
}

// freeID forgets kernel ID kid in ns and above.
func (ns *PIDNamespace) freeID(kid int) {
	for n := ns; n.level > 0; n = n.parent {
		n.mu.Lock()
		if id, ok := n.toLocal[kid]; ok {
			delete(n.toLocal, kid)
			delete(n.toKernel, id)
		}
		n.mu.Unlock()
	}
}

// releaseIDLocked frees the nested namespaces' IDs of kernel ID kid once
// nothing holds it: no task, no process (a zombie until reaped), no
// process group or session of one (Linux's struct pid lives as long).
// k.mu is held.
func (k *Kernel) releaseIDLocked(kid int) {
	ns := k.nestedIDs[kid]
	if ns == nil || k.tasks[kid] != nil || k.groups[kid] != nil {
		return
	}
	for _, tg := range k.groups {
		if tg.pgid == kid || tg.sid == kid {
			return
		}
	}
	delete(k.nestedIDs, kid)
	ns.freeID(kid)
}

// newPIDNSFor makes a child of parent owned by the user namespace of
// credentials c (create_pid_namespace): EPERM without CAP_SYS_ADMIN
// there, ENOSPC too deep.
func newPIDNSFor(parent *PIDNamespace, c Credentials) (*PIDNamespace, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	if parent.level >= maxPIDNSLevel {
		return nil, unix.ENOSPC
	}
	return &PIDNamespace{parent: parent, level: parent.level + 1, userNS: c.UserNS, ino: NewNSInode(),
		toLocal: make(map[int]int), toKernel: make(map[int]int), next: 1}, nil
}

// PIDNS is the namespace of t's ID (task_active_pid_ns).
func (t *Task) PIDNS() *PIDNamespace { return t.TG.pidns }

// PIDNSForChildren is the namespace t's next child is made in
// (pid_ns_for_children): its own, or the one unshare or setns chose.
func (t *Task) PIDNSForChildren() *PIDNamespace {
	if ns := t.pidnsChildren.Load(); ns != nil {
		return ns
	}
	return t.TG.pidns
}

// ThreadID is t's ID in its own namespace (gettid).
func (t *Task) ThreadID() int { return t.vtid }

// TIDOf returns task x's ID as t sees it, 0 if outside t's namespace.
func (t *Task) TIDOf(x *Task) int { return t.TG.pidns.IDOf(x.TID) }

// PIDOf returns process tg's ID as t sees it, 0 if outside t's namespace.
func (t *Task) PIDOf(tg *ThreadGroup) int { return t.TG.pidns.IDOf(tg.PID) }

// IDOf returns kernel ID kid (a process group's, a session's) as t sees
// it, 0 if outside t's namespace.
func (t *Task) IDOf(kid int) int { return t.TG.pidns.IDOf(kid) }

// KernelIDOf returns the kernel ID of ID id of t's namespace, 0 if none
// (id <= 0 stays as it is: the "this process" and "group" forms).
func (t *Task) KernelIDOf(id int) int { return t.TG.pidns.KernelIDOf(id) }

// LookupTask returns the task with ID id in t's namespace, or nil.
func (t *Task) LookupTask(id int) *Task {
	if id <= 0 {
		return nil
	}
	return t.K.Task(t.KernelIDOf(id))
}

// LookupTaskOrZombie is LookupTask that also finds a zombie process by
// its ID (TaskOrZombie).
func (t *Task) LookupTaskOrZombie(id int) *Task {
	if id <= 0 {
		return nil
	}
	return t.K.TaskOrZombie(t.KernelIDOf(id))
}

// isNSInitLocked reports whether tg is the init of a nested namespace;
// k.mu is held.
func (tg *ThreadGroup) isNSInitLocked() bool {
	return tg.pidns.level > 0 && tg.pidns.init == tg
}

// NSInitIgnores reports whether the init of a nested namespace ignores
// signal sig from t (sig_ignored with SIGNAL_UNKILLABLE): tg is such an
// init (ThreadGroup.unkillable), its first thread does not block sig (a
// blocked signal is never ignored), sig has the default action there,
// and t is inside tg's namespace or sig is neither SIGKILL nor SIGSTOP.
func (t *Task) NSInitIgnores(tg *ThreadGroup, sig int) bool {
	if sig <= 0 || !tg.unkillable.Load() {
		return false
	}
	k := t.K
	k.mu.Lock()
	var first *Task
	if len(tg.tasks) > 0 {
		first = tg.tasks[0]
	}
	k.mu.Unlock()
	if first == nil || (first.SigMask()|first.realBlocked.Load())&(1<<(sig-1)) != 0 ||
		tg.SigAction(sig).Handler != linux.SIG_DFL {
		return false
	}
	fromInside := tg.pidns.IsAncestorOf(t.TG.pidns)
	return fromInside || !kernelOnly(sig)
}

// zapPIDNS ends every process of init's namespace but init, which is
// dying, and waits until they have gone: the ones that were init's
// children (its orphans among them) reaped here, the others until their
// last thread has exited (zap_pid_ns_processes). The namespace takes no
// new process from now on.
func (k *Kernel) zapPIDNS(init *ThreadGroup) {
	ns := init.pidns
	k.mu.Lock()
	ns.dead = true
	var victims []*ThreadGroup
	for _, tg := range k.groups {
		if tg != init && !tg.zombie && ns.IsAncestorOf(tg.pidns) {
			victims = append(victims, tg)
		}
	}
	k.mu.Unlock()
	for _, tg := range victims {
		tg.Kill(int(unix.SIGKILL))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		for c := range init.children {
			if c.zombie {
				k.reap(c)
			}
		}
		if !k.livesInLocked(ns, init) {
			return
		}
		k.treeChanged.Wait()
	}
}

// livesInLocked reports whether a process other than init lives in ns or
// below; k.mu is held.
func (k *Kernel) livesInLocked(ns *PIDNamespace, init *ThreadGroup) bool {
	for _, tg := range k.groups {
		if tg != init && !tg.zombie && ns.IsAncestorOf(tg.pidns) {
			return true
		}
	}
	return false
}

// IsNSInit reports whether tg is the init of a nested PID namespace.
func (tg *ThreadGroup) IsNSInit() bool {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.isNSInitLocked()
}

// pidNSParent is NS_GET_PARENT of PID namespace ns: a file of its parent,
// EPERM for the first namespace and for a parent outside the caller's
// namespace (pidns_get_parent).
func (t *Task) pidNSParent(ns *PIDNamespace) (uintptr, error) {
	p := ns.parent
	if p == nil || !t.PIDNS().IsAncestorOf(p) {
		return 0, unix.EPERM
	}
	f := vfs.NewFile(t.K.VFS, nil, &NSInode{PID: p}, nsFileImpl{}, unix.O_RDONLY)
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, true)
	return uintptr(fd), err
}

// setNSPID is setns(2) into PID namespace ns (pidns_install): the
// caller's next children are made there. ns must be the caller's own or
// below it (EINVAL), and the caller needs CAP_SYS_ADMIN in its owner and
// in its own user namespace (EPERM).
func (t *Task) setNSPID(ns *PIDNamespace) error {
	if c := t.Creds(); !c.HasCapIn(ns.userNS, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if !t.PIDNS().IsAncestorOf(ns) {
		return unix.EINVAL
	}
	t.pidnsChildren.Store(ns)
	return nil
}

// PPIDIn returns t's parent's ID in ns, 0 if it has none there.
func (t *Task) PPIDIn(ns *PIDNamespace) int {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if p := t.TG.parent; p != nil {
		return ns.IDOf(p.PID)
	}
	return 0
}

// NSIDs are a task's IDs in each namespace from one down to its own
// (/proc/PID/status's NStgid, NSpid, NSpgid and NSsid lines).
type NSIDs struct{ TGID, TID, PGID, SID []int }

// NSIDsFrom returns t's IDs in each namespace from ns down to t's own;
// none if ns is not one of t's.
func (t *Task) NSIDsFrom(ns *PIDNamespace) NSIDs {
	var chain []*PIDNamespace
	for n := t.TG.pidns; n != nil; n = n.parent {
		chain = append(chain, n)
		if n == ns {
			break
		}
	}
	var ids NSIDs
	if chain[len(chain)-1] != ns {
		return ids
	}
	t.K.mu.Lock()
	pgid, sid := t.TG.pgid, t.TG.sid
	t.K.mu.Unlock()
	for i := len(chain) - 1; i >= 0; i-- {
		n := chain[i]
		ids.TGID = append(ids.TGID, n.IDOf(t.TG.PID))
		ids.TID = append(ids.TID, n.IDOf(t.TID))
		ids.PGID = append(ids.PGID, n.IDOf(pgid))
		ids.SID = append(ids.SID, n.IDOf(sid))
	}
	return ids
}

// ProcFSOf is the /proc that mount -t proc shows t: the one of t's PID
// namespace (proc_get_tree keys the superblock on it), nil if the sandbox
// has none.
func (t *Task) ProcFSOf() vfs.FileSystem {
	k, ns := t.K, t.PIDNS()
	if ns.level == 0 || k.NewProcFS == nil {
		return k.ProcFS
	}
	ns.mu.Lock()
	p := ns.proc
	ns.mu.Unlock()
	if p != nil {
		return p
	}
	p = k.NewProcFS(ns) // outside mu, a leaf
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.proc == nil {
		ns.proc = p // the first of two racing mounts
	}
	return ns.proc
}

// SignalDropped readies si, a signal t sends process tg, for tg's PID
// namespace, as __send_signal_locked does: a sender outside tg's
// namespace shows as PID 0; and it reports whether tg, a namespace's
// init, ignores the signal (NSInitIgnores), which then goes nowhere.
func (t *Task) SignalDropped(tg *ThreadGroup, si *SigInfo) bool {
	if hasSenderUID(si) && !tg.pidns.IsAncestorOf(t.TG.pidns) {
		si.SetPID(0)
	}
	return t.NSInitIgnores(tg, int(si.Signo))
}

// LastPID is /proc/sys/kernel/ns_last_pid and /proc/loadavg's last field
// for t: the ID its namespace handed out last.
func (t *Task) LastPID() int {
	ns := t.PIDNS()
	if ns.level == 0 {
		return t.K.LastPID()
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.last
}

// SetLastPID is a write of /proc/sys/kernel/ns_last_pid by t: its
// namespace's next ID is the first free one after pid (pid_ns_ctl_handler:
// CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in the namespace's owner, EPERM;
// EINVAL out of range).
func (t *Task) SetLastPID(pid int) error {
	ns := t.PIDNS()
	if c := t.Creds(); !c.HasCapIn(ns.userNS, linux.CAP_SYS_ADMIN) && !c.HasCapIn(ns.userNS, linux.CAP_CHECKPOINT_RESTORE) {
		return unix.EPERM
	}
	if ns.level == 0 {
		return t.K.SetLastPID(pid)
	}
	if pid < 0 || pid >= MaxPID {
		return unix.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.last, ns.next = pid, pid+1
	if ns.next >= MaxPID {
		ns.next = 2
	}
	return nil
}

// KernelPID is the kernel ID of t's process, which a reader's namespace
// shows (SO_PEERCRED, SCM_CREDENTIALS: package socket/unix).
func (t *Task) KernelPID() int { return t.TG.PID }
