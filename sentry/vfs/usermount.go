package vfs

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"
)

// Mounts the application makes with mount(2) and removes with umount2(2).
//
// Decisions: every task of the sandbox shares one mount table (no mount
// namespaces). The sandbox's own mounts (/, /tmp, /dev, /proc, /sys...)
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

// MountInfo is a mount mount(2) made, as /proc/PID/mountinfo lists it.
type MountInfo struct {
	MountOptions
	Path string // where it is mounted, from the caller's root
	Dev  uint64 // st_dev of its files
	// ID and ParentID are its MountID and that of the mount it is on.
	ID, ParentID int
}

// MountAt mounts fs on the directory path (mount(2)), on top of whatever
// is mounted there; path is resolved for creds with symlinks followed.
func (v *VFS) MountAt(ctx context.Context, creds Creds, fsc *FSContext, path string, fs FileSystem, opts MountOptions) error {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, true)
	if err != nil {
		return err
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
	m := &Mount{FS: fs, parent: d.mnt, point: d, opts: opts}
	m.flags.Store(opts.Flags & MountFlags)
	m.root = &Dentry{inode: fs.Root(), mnt: m}
	defer v.mountsChanged()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lastID++
	m.id = v.lastID
	v.mounts[mountKey{d.mnt, d.inode}] = m
	v.made = append(v.made, m)
	return nil
}

// madeAt returns the mount whose root path names, which mount(2) must
// have made: EINVAL if path is not a mount's root, EBUSY if the sandbox
// made it.
func (v *VFS) madeAt(ctx context.Context, creds Creds, fsc *FSContext, path string, follow bool) (*Mount, error) {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, follow)
	if err != nil {
		return nil, err
	}
	if d.parent != nil {
		return nil, unix.EINVAL
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !slices.Contains(v.made, d.mnt) {
		return nil, unix.EBUSY
	}
	return d.mnt, nil
}

// Remount changes the flags of the mount whose root path names (mount(2)
// with MS_REMOUNT).
func (v *VFS) Remount(ctx context.Context, creds Creds, fsc *FSContext, path string, flags uint64) error {
	m, err := v.madeAt(ctx, creds, fsc, path, true)
	if err != nil {
		return err
	}
	defer v.mountsChanged()
	v.mu.Lock()
	defer v.mu.Unlock()
	m.opts.Flags = flags & MountFlags
	m.flags.Store(m.opts.Flags)
	return nil
}

// Unmount removes the mount whose root path names (umount2(2); follow is
// false with UMOUNT_NOFOLLOW). A mount with mounts below it is EBUSY
// unless detach (MNT_DETACH) says to remove them too.
func (v *VFS) Unmount(ctx context.Context, creds Creds, fsc *FSContext, path string, follow, detach bool) error {
	m, err := v.madeAt(ctx, creds, fsc, path, follow)
	if err != nil {
		return err
	}
	if err := v.unmount(m, detach); err != nil {
		return err
	}
	v.mountsChanged()
	return nil
}

// unmount removes m, and with detach the mounts below it.
func (v *VFS) unmount(m *Mount, detach bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	gone := []*Mount{m}
	for i := 0; i < len(gone); i++ {
		for _, c := range v.mounts {
			if c.parent == gone[i] {
				if !detach {
					return unix.EBUSY
				}
				gone = append(gone, c)
			}
		}
	}
	for _, g := range gone {
		delete(v.mounts, mountKey{g.parent, g.point.inode})
		v.made = slices.DeleteFunc(v.made, func(x *Mount) bool { return x == g })
	}
	return nil
}

// Mounted returns the mounts mount(2) made, in the order it made them,
// with their paths as seen from root.
func (v *VFS) Mounted(ctx context.Context, root *Dentry) []MountInfo {
	v.mu.RLock()
	made := slices.Clone(v.made)
	infos := make([]MountInfo, len(made))
	for i, m := range made {
		infos[i] = MountInfo{MountOptions: m.opts, Path: PathOf(root, m.point), ID: m.id, ParentID: m.parentID()}
	}
	v.mu.RUnlock()
	for i, m := range made {
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

// StatfsDev describes the mounted filesystem whose files have st_dev dev
// (ustat(2)); EINVAL if none has.
func (v *VFS) StatfsDev(ctx context.Context, dev uint64) (unix.Statfs_t, error) {
	v.mu.RLock()
	fss := []FileSystem{v.root.FS}
	for _, m := range v.mounts {
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
