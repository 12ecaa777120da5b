package vfs

import (
	"slices"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Mount namespaces (CLONE_NEWNS): a copy of a namespace is a copy of
// each of its mounts, with IDs of their own, on the copies of the mounts
// they were on. A mount keeps the mounts on it (Mount.children), so a
// walk that starts in a namespace crosses that namespace's mounts only,
// and a file opened before the copy stays in the namespace it was
// opened in, as in Linux.
//
// Decisions: there is no propagation (every mount is private, as after
// `mount --make-rprivate /`, which is what unshare(1) does by default);
// a copy's mount flags are its own, so a remount in one namespace
// changes that namespace's copy only. A namespace whose last task and
// file are gone loses the mounts mount(2) made (files still open below
// them keep working, as after a lazy unmount), but not the copies of the
// sandbox's own, which stay on the host's directories they hide, for a
// file still open in the namespace (usermount.go's locked mounts); the
// garbage collector takes them with the last such file.

// MountNamespace is a mount namespace: its root mount and the mounts
// below it.
type MountNamespace struct {
	// root is the namespace's root mount, the tree below it its mounts;
	// it changes (pivot_root) under VFS.mu.
	root atomic.Pointer[Mount]
	// events counts the changes of the namespace's mounts (mount,
	// remount, unmount: Linux's mnt_namespace event), and queue hears of
	// each; /proc/PID/mounts and mountinfo poll on them.
	events atomic.Uint64
	queue  Queue
}

// Events returns the count of changes of ns's mounts so far and the
// queue notified (POLLPRI|POLLERR) after each, for the files of /proc
// that poll them (mounts_poll).
func (ns *MountNamespace) Events() (uint64, *Queue) { return ns.events.Load(), &ns.queue }

// changed counts a change of ns's mounts and tells the pollers; called
// without VFS.mu.
func (ns *MountNamespace) changed() {
	ns.events.Add(1)
	ns.queue.Notify(unix.POLLPRI | unix.POLLERR)
}

// Root returns the dentry of the namespace's /.
func (ns *MountNamespace) Root() *Dentry { return ns.rootMount().root }

// rootMount returns the namespace's root mount.
func (ns *MountNamespace) rootMount() *Mount { return ns.root.Load() }

// InitNamespace returns the sandbox's first mount namespace.
func (v *VFS) InitNamespace() *MountNamespace { return v.initNS }

// NamespaceOf returns the namespace of d's mount.
func NamespaceOf(d *Dentry) *MountNamespace { return d.mnt.ns }

// NamespaceCopy is a namespace made by CopyNamespace, with the way from
// its source's mounts to their copies.
type NamespaceCopy struct {
	NS     *MountNamespace
	copies map[*Mount]*Mount // source mount -> its copy; immutable
}

// CopyNamespace makes a new namespace with a copy of every mount of ns
// (copy_mnt_ns), in the order they were made; locked marks the copies of
// mount(2)'s mounts as mounts the new namespace may not unmount, for a
// namespace owned by a less privileged user namespace than ns's
// (MNT_LOCKED).
func (v *VFS) CopyNamespace(ns *MountNamespace, locked bool) *NamespaceCopy {
	v.mu.Lock()
	defer v.mu.Unlock()
	src := ns.rootMount().tree()
	c := &NamespaceCopy{NS: &MountNamespace{}, copies: make(map[*Mount]*Mount, len(src))}
	// The copies' IDs keep the order of the originals'.
	for _, m := range slices.SortedFunc(slices.Values(src), byID) {
		v.lastID++
		n := &Mount{FS: m.FS, opts: m.opts, id: v.lastID, ns: c.NS, made: m.made,
			locked: m.locked || locked && m.made, origin: m.origin, rootPath: m.rootPath}
		n.flags.Store(m.flags.Load())
		n.root = rebase(m.root, n)
		c.copies[m] = n
	}
	c.NS.root.Store(c.copies[ns.rootMount()])
	for _, m := range src[1:] {
		parent, point := m.mountedOn()
		np := c.copies[parent]
		np.attach(rebase(point, np), c.copies[m])
	}
	return c
}

// Translate returns d's counterpart in the copy: the same name in the
// copy of its mount, or d itself if its mount was not copied.
func (c *NamespaceCopy) Translate(d *Dentry) *Dentry {
	if n, ok := c.copies[d.mnt]; ok {
		return rebase(d, n)
	}
	return d
}

// rebase returns the dentry of m's filesystem that d names in its own
// mount: the same chain of names from the mount's root.
func rebase(d *Dentry, m *Mount) *Dentry {
	if d.parent == nil {
		if m.root != nil {
			return m.root
		}
		return &Dentry{inode: d.inode, mnt: m, unnamed: d.unnamed}
	}
	return &Dentry{parent: rebase(d.parent, m), name: d.name, inode: d.inode, mnt: m, unnamed: d.unnamed}
}

// ReleaseNamespace unmounts the mounts mount(2) made in ns, whose last
// task and file are gone.
func (v *VFS) ReleaseNamespace(ns *MountNamespace) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range ns.rootMount().tree()[1:] {
		if m.made {
			m.detach()
		}
	}
}

// EnterNamespace moves c's root and working directory to their
// counterparts in copy (a new namespace made for the process, as
// copy_mnt_ns moves a fs_struct's).
func (c *FSContext) EnterNamespace(copy *NamespaceCopy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.root, c.cwd = copy.Translate(c.root), copy.Translate(c.cwd)
}

// ReplaceRoot moves c's root and working directory where they are old
// to root (pivot_root's chroot_fs_refs).
func (c *FSContext) ReplaceRoot(old, root *Dentry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	same := func(d *Dentry) bool { return d.mnt == old.mnt && sameInode(d.inode, old.inode) }
	if same(c.root) {
		c.root = root
	}
	if same(c.cwd) {
		c.cwd = root
	}
}

// SetNamespace moves c's root and working directory to ns's root
// (setns(2) into a mount namespace: mntns_install).
func (c *FSContext) SetNamespace(ns *MountNamespace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.root, c.cwd = ns.Root(), ns.Root()
}
