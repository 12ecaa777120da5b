package vfs

import (
	"context"

	"golang.org/x/sys/unix"
)

// Mounts the application makes with mount(2) and removes with umount2(2).
//
// Decisions: a mount(2), remount or unmount changes the caller's mount
// namespace only (mountns.go), and only where the path is in that
// namespace (EINVAL otherwise, as check_mnt). The sandbox's own mounts
// (/, /tmp, /dev, /proc, /sys...) and their copies in other namespaces
// cannot be unmounted or remounted (EBUSY): the sandbox's shape is fixed,
// and /proc's mount table describes it. A mount is never busy: unmounting
// one that has open files or working directories in it succeeds, as a lazy
// unmount (MNT_DETACH) does in Linux, and those keep working. A read-only
// mount is read-only for its whole filesystem (a remount, not a read-only
// bind mount): writes to its regular files, directories and symlinks fail
// with EROFS before permissions are checked, as sb_permission does.

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
	// MountOptions are a mount's that mount(2) made (Made); the
	// sandbox's own mounts have none, and Origin names them: the ID
	// the mount (or the one it copies) has in the first namespace.
	MountOptions
	Made   bool
	Origin int
	Path   string // where it is mounted, from the namespace's root
	// Root is the path of the mount's root in its filesystem: "/", or
	// the directory a bind mount shows.
	Root string
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
	m := &Mount{FS: fs, parent: d.mnt, point: d, opts: opts, ns: ns, made: true}
	m.flags.Store(opts.Flags & MountFlags)
	m.root = &Dentry{inode: fs.Root(), mnt: m}
	defer ns.changed()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lastID++
	m.id, m.origin = v.lastID, v.lastID
	d.mnt.attach(d.inode, m)
	return nil
}

// madeAt returns the mount of namespace ns whose root path names, which
// mount(2) must have made: EINVAL if path is not a mount's root, or in
// another namespace, or locked; EBUSY if the sandbox made it.
func (v *VFS) madeAt(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, follow bool) (*Mount, error) {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, follow)
	if err != nil {
		return nil, err
	}
	switch m := d.mnt; {
	case d.parent != nil || m.ns != ns || m.locked:
		return nil, unix.EINVAL
	case !m.made:
		return nil, unix.EBUSY
	}
	return d.mnt, nil
}

// Remount changes the flags of the mount whose root path names (mount(2)
// with MS_REMOUNT).
func (v *VFS) Remount(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, flags uint64) error {
	m, err := v.madeAt(ctx, creds, fsc, ns, path, true)
	if err != nil {
		return err
	}
	defer ns.changed()
	v.mu.Lock()
	defer v.mu.Unlock()
	m.opts.Flags = flags & MountFlags
	m.flags.Store(m.opts.Flags)
	return nil
}

// Unmount removes the mount whose root path names (umount2(2); follow is
// false with UMOUNT_NOFOLLOW). A mount with mounts below it is EBUSY
// unless detach (MNT_DETACH) says to remove them too.
func (v *VFS) Unmount(ctx context.Context, creds Creds, fsc *FSContext, ns *MountNamespace, path string, follow, detach bool) error {
	m, err := v.madeAt(ctx, creds, fsc, ns, path, follow)
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
			delete(c.parent.children, c.point.inode)
		}
	}
	delete(m.parent.children, m.point.inode)
	return nil
}

// Mounts returns the mounts of namespace ns, in the order they were made
// (by ID), as Linux lists a namespace's.
func (v *VFS) Mounts(ctx context.Context, ns *MountNamespace) []MountInfo {
	v.mu.RLock()
	ms := ns.root.tree()
	infos := make([]MountInfo, len(ms))
	for i, m := range ms {
		infos[i] = MountInfo{MountOptions: m.opts, Made: m.made, Origin: m.origin, Root: joinPath(m.rootPath, "/"),
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
	if m.parent == nil {
		return m.id
	}
	return m.parent.id
}

// IsMountRoot reports whether d is the root of a mount.
func IsMountRoot(d *Dentry) bool { return d.parent == nil }

// StatfsDev describes the filesystem mounted in namespace ns whose files
// have st_dev dev (ustat(2)); EINVAL if none has.
func (v *VFS) StatfsDev(ctx context.Context, ns *MountNamespace, dev uint64) (unix.Statfs_t, error) {
	v.mu.RLock()
	var fss []FileSystem
	for _, m := range ns.root.tree() {
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
	s, err := v.Lookup(ctx, creds, fsc, nil, src, true)
	if err != nil {
		return err
	}
	d, err := v.Lookup(ctx, creds, fsc, nil, target, true)
	if err != nil {
		return err
	}
	if s.mnt.ns != ns || d.mnt.ns != ns || !comparable(d.inode) {
		return unix.EINVAL
	}
	sst, err := s.inode.Stat(ctx)
	if err != nil {
		return err
	}
	dst, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if IsDir(sst.Mode) != IsDir(dst.Mode) {
		return unix.ENOTDIR
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
	// The mounts below s, each after the one it is on (by ID), go on
	// the copies of those.
	copies := map[*Mount]*Mount{s.mnt: top}
	for _, m := range below {
		parent, ok := copies[m.parent]
		if !ok {
			continue // on a mount that is not below s: stacked over it
		}
		point := rebase(m.point, parent)
		if m.parent == s.mnt {
			point = rebaseUnder(m.point, s, top.root)
		}
		copies[m] = v.bindLocked(m.root, point, m.made)
	}
	return nil
}

// bindLocked mounts the files from s down on d, a mount of s's
// filesystem with s's flags, and returns it; made says whether it may
// be unmounted alone. v.mu is held.
func (v *VFS) bindLocked(s, d *Dentry, made bool) *Mount {
	m := &Mount{FS: s.mnt.FS, parent: d.mnt, point: d, opts: s.mnt.opts, ns: d.mnt.ns, made: made,
		origin: s.mnt.origin, rootPath: joinPath(s.mnt.rootPath, PathOf(s.mnt.root, s))}
	m.flags.Store(s.mnt.flags.Load())
	m.root = &Dentry{inode: s.inode, mnt: m}
	v.lastID++
	m.id = v.lastID
	d.mnt.attach(d.inode, m)
	return m
}

// isBelow reports whether mount m is on s's tree: on a dentry at or
// below s in s's mount, or on a mount that is.
func isBelow(m *Mount, s *Dentry) bool {
	for ; m.parent != nil; m = m.parent {
		if m.parent == s.mnt {
			return isAncestor(s, m.point)
		}
	}
	return false
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
