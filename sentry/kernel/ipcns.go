package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel/ipc"
	"runsc-lite/sentry/kernel/mqueue"
)

// IPC namespaces (CLONE_NEWIPC of clone(2) and unshare(2), setns(2)).
//
// An IPC namespace is its System V objects with their identifiers, next
// IDs and shmmax (package ipc) and its POSIX message queues (package
// mqueue); a task reaches its own through t.IPCNS(), the only way the
// syscalls, /proc/sysvipc and the IPC sysctls find one. A new namespace
// starts empty (create_ipc_ns), owned by the caller's user namespace,
// whose CAP_SYS_ADMIN it needs and where CAP_IPC_OWNER counts.
//
// A namespace lives while a task or a /proc/PID/ns/ipc file holds it;
// when the last goes its objects go as free_ipc_ns removes them (message
// queues and semaphore sets at once, segments when their last attachment
// goes: a mapping outlives its namespace). The kernel keeps every
// namespace that still has a segment (ipcAll), so that shmdt, exit and
// munmap find and reap a segment whatever namespace the task is in now.
type IPCNamespace struct {
	userNS *UserNamespace // owner; immutable
	ino    uint64         // immutable
	// SysV is its System V objects, MQ its POSIX message queues.
	SysV *ipc.Namespace
	MQ   *mqueue.Registry

	k      *Kernel // immutable
	nsRefs         // tasks and ns files holding it (netns.go)
}

// InitIPCNSInode is the initial IPC namespace's inode number
// (PROC_IPC_INIT_INO).
const InitIPCNSInode = 0xEFFFFFFF

// ipcNamespaces is the kernel's IPC namespaces that exist or still have
// a segment (ipcns.go).
type ipcNamespaces struct {
	root    *IPCNamespace // immutable after New
	sandbox ipc.Sandbox   // what they share: the sandbox-wide totals
	// mu guards all.
	mu  sync.Mutex
	all map[*IPCNamespace]bool
}

// Inode is the namespace's inode number (/proc/PID/ns/ipc).
func (ns *IPCNamespace) Inode() uint64 { return ns.ino }

// UserNS is the user namespace that owns ns (nil: the initial one).
func (ns *IPCNamespace) UserNS() *UserNamespace { return ns.userNS }

// newIPCNamespace returns an empty namespace owned by owner, with one
// reference, registered with k.
func (k *Kernel) newIPCNamespace(owner *UserNamespace, ino uint64, root bool) *IPCNamespace {
	ns := &IPCNamespace{userNS: owner, ino: ino, nsRefs: nsRefs{root: root}, k: k,
		SysV: ipc.NewNamespace(&k.ipcns.sandbox), MQ: mqueue.NewRegistry()}
	ns.refs.Store(1)
	k.ipcns.mu.Lock()
	defer k.ipcns.mu.Unlock()
	if k.ipcns.all == nil {
		k.ipcns.all = make(map[*IPCNamespace]bool)
	}
	k.ipcns.all[ns] = true
	return ns
}

// RootIPCNS returns the sandbox's initial IPC namespace.
func (k *Kernel) RootIPCNS() *IPCNamespace { return k.ipcns.root }

// IPCNS returns t's IPC namespace.
func (t *Task) IPCNS() *IPCNamespace {
	if ns := t.ipcns.Load(); ns != nil {
		return ns
	}
	return t.K.ipcns.root
}

// decRef drops a reference: the last one destroys the namespace's
// objects and unlinks its message queues. It counts attachments (under
// k.mu) only if the namespace has segments, so a namespace that never
// had one (a failed clone's) may go with k.mu held.
func (ns *IPCNamespace) decRef() {
	k := ns.k
	if !ns.release() {
		return
	}
	ns.SysV.Destroy()
	ns.MQ.UnlinkAll()
	if ns.SysV.Reap() {
		k.ipcns.mu.Lock()
		delete(k.ipcns.all, ns)
		k.ipcns.mu.Unlock()
	}
}

// allIPCNS returns the namespaces k keeps (ipcNamespaces.all).
func (k *Kernel) allIPCNS() []*IPCNamespace {
	k.ipcns.mu.Lock()
	defer k.ipcns.mu.Unlock()
	all := make([]*IPCNamespace, 0, len(k.ipcns.all))
	for ns := range k.ipcns.all {
		all = append(all, ns)
	}
	return all
}

// reapIPC destroys, in every namespace, the segments marked for removal
// that nothing maps any more, and forgets the namespaces that are gone
// with nothing left.
func (k *Kernel) reapIPC() {
	for _, ns := range k.allIPCNS() {
		if ns.SysV.Reap() && !ns.root && ns.refs.Load() <= 0 {
			k.ipcns.mu.Lock()
			delete(k.ipcns.all, ns)
			k.ipcns.mu.Unlock()
		}
	}
}

// ShmSegment returns the namespace that has the segment whose memfd
// mappings are dev/ino, and its size, whichever namespace the caller is
// in (a segment stays attached after its process left the namespace).
func (k *Kernel) ShmSegment(dev, ino uint64) (*ipc.Namespace, uint64, bool) {
	for _, ns := range k.allIPCNS() {
		if size, ok := ns.SysV.ShmSize(dev, ino); ok {
			return ns.SysV, size, true
		}
	}
	return nil, 0, false
}

// ShmDetached records a shmdt of the segment dev/ino by pid, then reaps
// segments everywhere.
func (k *Kernel) ShmDetached(dev, ino uint64, pid int) {
	if ns, _, ok := k.ShmSegment(dev, ino); ok {
		ns.Detached(dev, ino, pid)
	}
	k.reapIPC()
}

// exitIPC applies the ending process's SEM_UNDO adjustments in t's
// namespace (exit_sem) and lets go of segments marked for removal that
// it was the last to map.
func (t *Task) exitIPC() {
	t.IPCNS().SysV.ApplyUndo(t.TG, t.PID())
	t.K.reapIPC()
}

// setIPCNS makes ns t's namespace (nil: the initial one), taking over the
// caller's reference, and drops the one it had.
func (t *Task) setIPCNS(ns *IPCNamespace) {
	if ns != nil && ns.root {
		ns = nil
	}
	if old := t.ipcns.Swap(ns); old != nil {
		old.decRef()
	}
}

// inheritIPCNS gives a new child the namespace CLONE_NEWIPC made for it
// (taking that reference), or its parent's.
func (c *Task) inheritIPCNS(parent *Task, made *IPCNamespace) {
	if made != nil {
		c.ipcns.Store(made)
		return
	}
	// The parent's own reference keeps its namespace alive here.
	if ns := parent.ipcns.Load(); ns != nil && ns.tryIncRef() {
		c.ipcns.Store(ns)
	}
}

// newIPCNSFor is CLONE_NEWIPC for credentials c (already in a new user
// namespace if the call made one): CAP_SYS_ADMIN in c's user namespace
// (EPERM), which owns the new, empty namespace.
func (t *Task) newIPCNSFor(c Credentials) (*IPCNamespace, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return t.K.newIPCNamespace(c.UserNS, NewNSInode(), false), nil
}

// dropIPC drops the reference to a namespace no task took.
func (n newNamespaces) dropIPC() {
	if n.ipc != nil {
		n.ipc.decRef()
	}
}

// setNSIPC is setns(2) into IPC namespace ns (ipcns_install):
// CAP_SYS_ADMIN in its owner and in the caller's own user namespace
// (EPERM); the caller's SEM_UNDO adjustments end as at exit, in the
// namespace it leaves.
func (t *Task) setNSIPC(ns *IPCNamespace) error {
	c := t.Creds()
	if !c.HasCapIn(ns.userNS, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if !ns.tryIncRef() {
		return unix.EINVAL
	}
	t.leaveSemUndo()
	t.setIPCNS(ns)
	return nil
}

// leaveSemUndo ends the process's SEM_UNDO adjustments as exit would
// (exit_sem), when t leaves its IPC namespace or unshares CLONE_SYSVSEM.
// The sandbox keeps one list per process, which other threads share, so
// only a lone thread ends it.
func (t *Task) leaveSemUndo() {
	if t.TG.NumThreads() == 1 {
		t.IPCNS().SysV.ApplyUndo(t.TG, t.PID())
	}
}

// IPCNSInode returns t's IPC namespace as a file.
func (t *Task) IPCNSInode() *NSInode { return &NSInode{IPC: t.IPCNS()} }

// releaseIPCNS drops the exiting task's reference to its namespace.
func (t *Task) releaseIPCNS() { t.setIPCNS(nil) }
