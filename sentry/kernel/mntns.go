package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// MountNS is a mount namespace (CLONE_NEWNS): its mounts are the VFS's
// (vfs.MountNamespace, mountns.go there has the rules), its owner the
// user namespace whose CAP_SYS_ADMIN may mount and unmount in it.
// References are its tasks and its open namespace files; with the last
// one its mounts leave the VFS's table.
type MountNS struct {
	nsRefs
	VFS    *vfs.MountNamespace // immutable
	userNS *UserNamespace      // owner; immutable
	ino    uint64              // immutable
	k      *Kernel
}

// InitMountNSInode is the inode number of the sandbox's first mount
// namespace, as /proc/PID/ns/mnt shows it (the second number Linux hands
// out, after init_net's).
const InitMountNSInode = 0xF0000001

// Inode is the namespace's inode number (/proc/PID/ns/mnt).
func (ns *MountNS) Inode() uint64 { return ns.ino }

// UserNS is the user namespace that owns ns.
func (ns *MountNS) UserNS() *UserNamespace { return ns.userNS }

// decRef drops a reference; the last one removes the namespace's
// mounts.
func (ns *MountNS) decRef() {
	if ns.release() {
		ns.k.VFS.ReleaseNamespace(ns.VFS)
	}
}

// initMountNS is the sandbox's first mount namespace, made on first use:
// the VFS is set before the first task runs.
func (k *Kernel) initMountNS() *MountNS {
	k.mntnsOnce.Do(func() {
		k.mntns = &MountNS{nsRefs: nsRefs{root: true}, VFS: k.VFS.InitNamespace(), ino: InitMountNSInode, k: k}
	})
	return k.mntns
}

// MountNS returns t's mount namespace.
func (t *Task) MountNS() *MountNS {
	if ns := t.mntns.Load(); ns != nil {
		return ns
	}
	return t.K.initMountNS()
}

// MountNSInode returns t's mount namespace as a file.
func (t *Task) MountNSInode() *NSInode { return &NSInode{Mnt: t.MountNS()} }

// MayMount reports whether t may mount and unmount in its mount
// namespace: CAP_SYS_ADMIN in the namespace's owner (may_mount).
func (t *Task) MayMount() bool {
	return t.Creds().HasCapIn(t.MountNS().userNS, linux.CAP_SYS_ADMIN)
}

// newMountNSFor is CLONE_NEWNS for credentials c (already in a new user
// namespace if the call made one): CAP_SYS_ADMIN in c's user namespace
// (EPERM). The copy is of t's namespace, owned by c's user namespace; if
// that is not the owner of t's, the copies of mount(2)'s mounts are
// locked (copy_mnt_ns with CL_UNPRIVILEGED).
func (t *Task) newMountNSFor(c Credentials) (*MountNS, *vfs.NamespaceCopy, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, nil, unix.EPERM
	}
	old := t.MountNS()
	cp := t.K.VFS.CopyNamespace(old.VFS, c.UserNS != old.userNS)
	ns := &MountNS{VFS: cp.NS, userNS: c.UserNS, ino: NewNSInode(), k: t.K}
	ns.refs.Store(1)
	return ns, cp, nil
}

// setMountNS makes ns t's namespace (nil: the first one), taking over
// the caller's reference, and drops the one it had.
func (t *Task) setMountNS(ns *MountNS) {
	if ns != nil && ns.root {
		ns = nil
	}
	if old := t.mntns.Swap(ns); old != nil {
		old.decRef()
	}
}

// inheritMountNS gives a new child the namespace CLONE_NEWNS made for
// it (taking that reference; its root and working directory move into
// the copy), or its parent's.
func (c *Task) inheritMountNS(parent *Task, made *MountNS, cp *vfs.NamespaceCopy) {
	if made != nil {
		c.mntns.Store(made)
		c.fs.EnterNamespace(cp)
		return
	}
	// The parent's own reference keeps its namespace alive here.
	if ns := parent.mntns.Load(); ns != nil && ns.tryIncRef() {
		c.mntns.Store(ns)
	}
}

// releaseMountNS drops the exiting task's reference to its namespace.
func (t *Task) releaseMountNS() { t.setMountNS(nil) }

// setNSMount is setns(2) into mount namespace ns (mntns_install):
// CAP_SYS_ADMIN in its owner, CAP_SYS_CHROOT and CAP_SYS_ADMIN in the
// caller's own user namespace (EPERM); a caller sharing its root and
// working directory with another task (CLONE_FS) is EINVAL. Root and
// working directory become the namespace's root.
func (t *Task) setNSMount(ns *MountNS) error {
	c := t.Creds()
	if !c.HasCapIn(ns.userNS, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_CHROOT) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if t.sharesFS() {
		return unix.EINVAL
	}
	if !ns.tryIncRef() {
		return unix.EINVAL
	}
	t.setMountNS(ns)
	t.FS().SetNamespace(ns.VFS)
	return nil
}

// sharesFS reports whether another task shares t's root and working
// directory (CLONE_FS).
func (t *Task) sharesFS() bool {
	fs := t.FS()
	for _, o := range t.K.taskList() {
		if o != t && o.FS() == fs {
			return true
		}
	}
	return false
}

// ReplaceRoots moves every process's root and working directory that is
// old to root (pivot_root's chroot_fs_refs).
func (k *Kernel) ReplaceRoots(old, root *vfs.Dentry) {
	seen := make(map[*vfs.FSContext]bool)
	for _, t := range k.taskList() {
		if fs := t.FS(); fs != nil && !seen[fs] {
			seen[fs] = true
			fs.ReplaceRoot(old, root)
		}
	}
}
