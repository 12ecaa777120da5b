package vfs

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"
)

// Mounts the application makes with mount(2) and removes with umount2(2).
//
// Decisions: a mount(2), remount, bind, move, unmount or pivot_root
// changes the caller's mount namespace only (mountns.go), and only where
// the paths are in that namespace (EINVAL otherwise, as check_mnt). The
// sandbox's own mounts (/, /tmp, /dev, /proc, /sys, the volumes) and
// their copies hide the host's directories below them, so they are
// locked to what they cover, as Linux's MNT_LOCKED mounts: they cannot
// be unmounted (EBUSY), moved or made the root (EINVAL), remounted but
// by a bind remount that adds flags, or left bare by a bind without
// MS_REC (BindAt), a lazy unmount or a gone namespace. A mount is never
// busy: unmounting one that has open files or working directories in it
// succeeds, as a lazy unmount (MNT_DETACH) does in Linux, and those keep
// working. Mount flags are each mount's (a read-only bind mount leaves
// its source writable): writes to a read-only mount's regular files,
// directories and symlinks fail with EROFS before permissions are
// checked, as sb_permission and mnt_want_write do.

// MountOptions describe a mount that mount(2) made, as /proc/PID/mounts
// shows it.
type MountOptions struct {
	Source string // what was mounted: a device's path or a name ("tmpfs")
	Type   string // the filesystem type ("tmpfs")
	Flags  uint64 // the mount's flags (MountFlags)
	Data   string // the filesystem's options ("size=32M")
}

// MountFlags are the flags of mount(2) that a mount keeps; they are also
// statfs(2)'s ST_ flags of the same values.
const MountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS |
	unix.MS_MANDLOCK | unix.MS_DIRSYNC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME

// MountInfo is a mount of a namespace, as /proc/PID/mountinfo lists it.
type MountInfo struct {
	// MountOptions are those of a mount mount(2) made (and of its
	// copies and bind mounts); the sandbox's own mounts have none, and
	// Origin names them: the ID the mount (or the one it copies) has in
	// the first namespace.
	MountOptions
	Origin int
	Path   string // where it is mounted, from the namespace's root
	// Root is the path of the mount's root in its filesystem: "/", or
	// the directory a bind mount shows.
	Root string
	// Live are the mount's flags now (MountFlags), which a remount may
	// have changed from those the sandbox made it with.
	Live uint64
	Dev  uint64 // st_dev of its files
	// ID and ParentID are its MountID and that of the mount it is on.
	ID, ParentID int
}

// MountAt mounts fs on the directory path (mount(2)), on top of whatever
// is mounted there; path is resolved for creds with symlinks followed.
func (v *VFS) MountAt(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, fs FileSystem, opts MountOptions) error {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, true)
	if err != nil {
		return err
	}
	if d.mnt.ns != ns {
		return unix.EINVAL
	}
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if !IsDir(st.Mode) {
		return unix.ENOTDIR
	}
	if !comparable(d.inode) {
		return unix.EINVAL
	}
	m := &Mount{FS: fs, opts: opts, ns: ns, made: true}
	m.flags.Store(opts.Flags & MountFlags)
	m.root = &Dentry{inode: fs.Root(), mnt: m}
	defer ns.changed()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lastID++
	m.id, m.origin = v.lastID, v.lastID
	d.mnt.attach(d, m)
	return nil
}

// madeAt returns the mount of namespace ns whose root path names, which
// mount(2) must have made: EINVAL if path is not a mount's root, or in
// another namespace, or locked; EBUSY if the sandbox made it. top says
// to take the mount on top of what path names ("." or "/" name a
// directory without the mounts on it; umount2 takes the top one,
// LOOKUP_MOUNTPOINT).
func (v *VFS) madeAt(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, follow, top bool) (*Mount, error) {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, follow)
	if err != nil {
		return nil, err
	}
	if top {
		d = v.crossMounts(d)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	switch m := d.mnt; {
	case d.parent != nil || m.ns != ns || m.locked:
		return nil, unix.EINVAL
	case !m.made:
		return nil, unix.EBUSY
	}
	return d.mnt, nil
}

// Remount changes the flags of the mount whose root path names (mount(2)
// with MS_REMOUNT). With bind (MS_BIND: the mount's own flags, not its
// filesystem's) it may change a sandbox's own mount, or a locked copy,
// but not clear the read-only, nosuid, nodev and noexec flags it has
// (EPERM, as Linux's locked mount flags); without, only mount(2)'s
// mounts (madeAt).
func (v *VFS) Remount(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, flags uint64, bind bool) error {
	var m *Mount
	if bind {
		d, err := v.Lookup(ctx, creds, fsc, nil, path, true)
		if err != nil {
			return err
		}
		if m = d.mnt; d.parent != nil || m.ns != ns {
			return unix.EINVAL
		}
	} else {
		var err error
		if m, err = v.madeAt(ctx, creds, fsc, ns, path, true, false); err != nil {
			return err
		}
	}
	flags &= MountFlags
	v.mu.Lock()
	if locked := m.flags.Load() & lockedFlags; (!m.made || m.locked) && flags&locked != locked {
		v.mu.Unlock()
		return unix.EPERM
	}
	m.opts.Flags = flags
	m.flags.Store(flags)
	v.mu.Unlock()
	ns.changed()
	return nil
}

// lockedFlags are the flags a remount may not clear from a mount that
// cannot be unmounted alone (MNT_LOCK_READONLY, _NOSUID, _NODEV,
// _NOEXEC).
const lockedFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// Unmount removes the mount whose root path names (umount2(2); follow is
// false with UMOUNT_NOFOLLOW). A mount with mounts below it is EBUSY
// unless detach (MNT_DETACH) says to remove them too.
func (v *VFS) Unmount(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, follow, detach bool) error {
	m, err := v.madeAt(ctx, creds, fsc, ns, path, follow, true)
	if err != nil {
		return err
	}
	if err := v.unmount(m, detach); err != nil {
		return err
	}
	ns.changed()
	return nil
}

// unmount removes m, and with detach the mounts below it that mount(2)
// made; the sandbox's own (copies made by MS_REC) stay on what they
// cover, for the files still open below m.
func (v *VFS) unmount(m *Mount, detach bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(m.children) > 0 && !detach {
		return unix.EBUSY
	}
	for _, c := range m.tree()[1:] {
		if c.made {
			c.detach()
		}
	}
	m.detach()
	return nil
}

// Mounts returns the mounts of namespace ns, in the order they were made
// (by ID), as Linux lists a namespace's.
func (v *VFS) Mounts(ctx context.Context, ns *MountNamespace) []MountInfo {
	v.mu.RLock()
	ms := slices.SortedFunc(slices.Values(ns.rootMount().tree()), byID)
	infos := make([]MountInfo, len(ms))
	for i, m := range ms {
		infos[i] = MountInfo{MountOptions: m.opts, Origin: m.origin, Root: joinPath(m.rootPath, "/"), Live: m.flags.Load(),
			Path: PathOf(ns.Root(), m.root), ID: m.id, ParentID: m.parentID()}
	}
	v.mu.RUnlock()
	for i, m := range ms {
		if st, err := m.FS.Root().Stat(ctx); err == nil {
			infos[i].Dev = st.Dev
		}
	}
	return infos
}

// MountID is the ID of d's mount: mounts count from 1 in the order they
// were made, the sandbox's own first.
func MountID(d *Dentry) int { return d.mnt.id }

// ParentMountID is the ID of the mount that d's mount is on; the root is
// its own parent.
func ParentMountID(d *Dentry) int { return d.mnt.parentID() }

func (m *Mount) parentID() int {
	parent, _ := m.mountedOn()
	if parent == nil {
		return m.id
	}
	return parent.id
}

// IsMountRoot reports whether d is the root of a mount.
func IsMountRoot(d *Dentry) bool { return d.parent == nil }

// StatfsDev describes the filesystem mounted in namespace ns whose files
// have st_dev dev (ustat(2)); EINVAL if none has.
func (v *VFS) StatfsDev(ctx context.Context, ns *MountNamespace, dev uint64) (unix.Statfs_t, error) {
	v.mu.RLock()
	var fss []FileSystem
	for _, m := range ns.rootMount().tree() {
		fss = append(fss, m.FS)
	}
	v.mu.RUnlock()
	for _, fs := range fss {
		if st, err := fs.Root().Stat(ctx); err == nil && st.Dev == dev {
			return fs.Statfs(ctx)
		}
	}
	return unix.Statfs_t{}, unix.EINVAL
}

// readOnly reports whether d is in a read-only mount.
func (d *Dentry) readOnly() bool {
	return d != nil && d.mnt != nil && d.mnt.flags.Load()&unix.MS_RDONLY != 0
}

// writeErr is EROFS when d, a file of the given mode, is in a read-only
// mount and is a regular file, a directory or a symlink; devices, FIFOs
// and sockets may still be written (sb_permission).
func (d *Dentry) writeErr(mode uint32) error {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
		if d.readOnly() {
			return unix.EROFS
		}
	}
	return nil
}

// mountStatfsFlags are the statfs(2) flags of d's mount.
func (d *Dentry) mountStatfsFlags() int64 {
	if d == nil || d.mnt == nil {
		return 0
	}
	return int64(d.mnt.flags.Load())
}

// BindAt mounts the tree at src on target (mount(2) with MS_BIND): the
// same files, from src's directory (or file) down, and with rec
// (MS_REC) a copy of each mount below src too. Both paths are resolved
// with symlinks followed and must be in namespace ns (EINVAL); a
// directory goes on a directory and a file on a file (ENOTDIR). The new
// mount keeps src's mount flags, as clone_mnt does.
//
// The sandbox's own mounts are locked to what they cover, as Linux locks
// the mounts a less privileged namespace copied (MNT_LOCKED): they hide
// the host's directories below them (its /proc, /sys, /tmp, /dev in the
// host's root), so a bind without MS_REC of a tree with one below src
// is EINVAL (has_locked_children), and the copies MS_REC makes of them
// cannot be unmounted alone (EBUSY), only with the bind mount above them
// (MNT_DETACH).
func (v *VFS) BindAt(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, src, target string, rec bool) error {
	s, d, err := v.lookupPair(ctx, creds, fsc, src, target)
	if err != nil {
		return err
	}
	if s.mnt.ns != ns || d.mnt.ns != ns || !comparable(d.inode) {
		return unix.EINVAL
	}
	if err := sameKind(ctx, s, d); err != nil {
		return err
	}
	if err := v.bind(s, d, rec); err != nil {
		return err
	}
	ns.changed()
	return nil
}

// bind is BindAt's change of the table, under v.mu.
func (v *VFS) bind(s, d *Dentry, rec bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var below []*Mount
	for _, m := range s.mnt.tree()[1:] {
		if isBelow(m, s) {
			if !rec && !m.made {
				return unix.EINVAL
			}
			below = append(below, m)
		}
	}
	top := v.bindLocked(s, d, true)
	if !rec {
		return nil
	}
	// The mounts below s, each after the one it is on (tree's order), go
	// on the copies of those.
	copies := map[*Mount]*Mount{s.mnt: top}
	for _, m := range below {
		on, at := m.mountedOn()
		parent, ok := copies[on]
		if !ok {
			continue // on a mount that is not below s: stacked over it
		}
		point := rebase(at, parent)
		if on == s.mnt {
			point = rebaseUnder(at, s, top.root)
		}
		copies[m] = v.bindLocked(m.root, point, m.made)
	}
	return nil
}

// bindLocked mounts the files from s down on d, a mount of s's
// filesystem with s's flags, and returns it; made says whether it may
// be unmounted alone. v.mu is held.
func (v *VFS) bindLocked(s, d *Dentry, made bool) *Mount {
	m := &Mount{FS: s.mnt.FS, opts: s.mnt.opts, ns: d.mnt.ns, made: made,
		origin: s.mnt.origin, rootPath: joinPath(s.mnt.rootPath, PathOf(s.mnt.root, s))}
	m.flags.Store(s.mnt.flags.Load())
	m.root = &Dentry{inode: s.inode, mnt: m}
	v.lastID++
	m.id = v.lastID
	d.mnt.attach(d, m)
	return m
}

// isBelow reports whether mount m is on s's tree: on a dentry at or
// below s in s's mount, or on a mount that is.
func isBelow(m *Mount, s *Dentry) bool {
	for {
		parent, point := m.mountedOn()
		switch parent {
		case nil:
			return false
		case s.mnt:
			return isAncestor(s, point)
		}
		m = parent
	}
}

// rebaseUnder returns the dentry that d, below top, names below root.
func rebaseUnder(d, top, root *Dentry) *Dentry {
	if d.mnt == top.mnt && sameInode(d.inode, top.inode) || d.parent == nil {
		return root
	}
	return &Dentry{parent: rebaseUnder(d.parent, top, root), name: d.name, inode: d.inode, mnt: root.mnt, unnamed: d.unnamed}
}

// joinPath joins a mount's root path and a path below it.
func joinPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	if p == "/" {
		return root
	}
	return root + p
}

// MoveAt moves the mount whose root src names to target (mount(2) with
// MS_MOVE): the mount and the mounts on it. src must be the root of a
// mount of namespace ns that mount(2) made, not the namespace's root
// (EINVAL: a sandbox's own mount stays on what it hides), target a
// directory for a directory and a file for a file (EINVAL), not below
// src (ELOOP), in do_move_mount's order.
func (v *VFS) MoveAt(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, src, target string) error {
	s, d, err := v.lookupPair(ctx, creds, fsc, src, target)
	if err != nil {
		return err
	}
	kinds := sameKind(ctx, s, d)
	v.mu.Lock()
	err = v.move(ns, s, d, kinds)
	v.mu.Unlock()
	if err != nil {
		return err
	}
	ns.changed()
	return nil
}

// move is MoveAt's change of the table, under v.mu; kinds is
// sameKind's answer for s and d.
func (v *VFS) move(ns *MountNamespace, s, d *Dentry, kinds error) error {
	m := s.mnt
	if s.parent != nil || m.ns != ns || d.mnt.ns != ns || !m.made || m.locked || !attached(m) || !comparable(d.inode) {
		return unix.EINVAL
	}
	if kinds == unix.ENOTDIR {
		return unix.EINVAL
	} else if kinds != nil {
		return kinds
	}
	for p := d.mnt; p != nil; p, _ = p.mountedOn() {
		if p == m {
			return unix.ELOOP
		}
	}
	m.detach()
	d.mnt.attach(d, m)
	return nil
}

// lookupPair resolves the source and the target of a bind or move
// mount, symlinks followed.
func (v *VFS) lookupPair(ctx context.Context, creds Creds, fsc *FSContext, src, target string) (s, d *Dentry, err error) {
	if s, err = v.Lookup(ctx, creds, fsc, nil, src, true); err != nil {
		return nil, nil, err
	}
	if d, err = v.Lookup(ctx, creds, fsc, nil, target, true); err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

// sameKind fails with ENOTDIR unless a and b are both directories or
// both not (graft_tree).
func sameKind(ctx context.Context, a, b *Dentry) error {
	ast, err := a.inode.Stat(ctx)
	if err != nil {
		return err
	}
	bst, err := b.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if IsDir(ast.Mode) != IsDir(bst.Mode) {
		return unix.ENOTDIR
	}
	return nil
}

// PivotRoot makes the mount whose root newRoot names the root of
// namespace ns, and puts the old root mount on putOld, which must be at
// or below newRoot (pivot_root(2)). It returns the old and the new root
// directories: the caller moves every process's root and working
// directory that was the old root to the new one (chroot_fs_refs).
// Errors as Linux's: ENOTDIR for a path that is not a directory; EINVAL
// if a mount is not in ns, newRoot or the caller's root is not a mount's
// root, newRoot is not below the caller's root or putOld not below
// newRoot, or newRoot is one of the sandbox's own mounts (locked); EBUSY
// if newRoot or putOld is on the caller's root mount.
func (v *VFS) PivotRoot(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, newRoot, putOld string) (old, root *Dentry, err error) {
	n, err := v.Lookup(ctx, creds, fsc, nil, newRoot, true)
	if err != nil {
		return nil, nil, err
	}
	o, err := v.Lookup(ctx, creds, fsc, nil, putOld, true)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range []*Dentry{n, o} {
		st, err := d.inode.Stat(ctx)
		if err != nil {
			return nil, nil, err
		}
		if !IsDir(st.Mode) {
			return nil, nil, unix.ENOTDIR
		}
	}
	r := fsc.Root()
	v.mu.Lock()
	err = v.pivot(ns, r, n, o)
	v.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	ns.changed()
	return r, n.mnt.root, nil
}

// pivot is PivotRoot's change of the table, under v.mu.
func (v *VFS) pivot(ns *MountNamespace, r, n, o *Dentry) error {
	nm, rm := n.mnt, r.mnt
	switch {
	case nm.ns != ns || rm.ns != ns || o.mnt.ns != ns:
		return unix.EINVAL
	case nm == rm || o.mnt == rm:
		return unix.EBUSY
	case !nm.made || nm.locked || n.parent != nil || r.parent != nil || !attached(nm):
		return unix.EINVAL
	case !isBelowMount(nm, rm) || !isBelowDentry(o, n):
		return unix.EINVAL
	}
	// The new root takes the old one's place: the namespace's root, or
	// the mount point of a chroot's mount; the old one goes on putOld,
	// which may be the new root's own root (pivot_root(".", ".")).
	parent, point := rm.mountedOn()
	nm.detach()
	if parent != nil {
		rm.detach()
		parent.attach(point, nm)
	} else {
		nm.on.Store(nil)
		ns.root.Store(nm)
	}
	o.mnt.attach(o, rm)
	// A root that may not be unmounted alone (the sandbox's own, or a
	// locked copy) passes that on to the new root, and the old one may
	// be unmounted then, as pivot_root moves MNT_LOCKED.
	if !rm.made {
		rm.made, nm.made = true, false
	}
	if rm.locked {
		rm.locked, nm.locked = false, true
	}
	return nil
}

// attached reports whether m is on the mount it names as its parent (a
// mount unmounted lazily still names it).
func attached(m *Mount) bool {
	parent, point := m.mountedOn()
	return parent != nil && parent.children[point.inode] == m
}

// isBelowMount reports whether mount m is on mount top or below it.
func isBelowMount(m, top *Mount) bool {
	for p, _ := m.mountedOn(); p != nil; p, _ = p.mountedOn() {
		if p == top {
			return true
		}
	}
	return false
}

// isBelowDentry reports whether d is top or below it, through mounts.
func isBelowDentry(d, top *Dentry) bool {
	for {
		if isAncestor(top, d) {
			return true
		}
		_, point := d.mnt.mountedOn()
		if point == nil {
			return false
		}
		d = point
	}
}
