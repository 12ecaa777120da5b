package host

import (
	"context"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// A writable tree (a read-write volume) changes the host directory it was
// given, as the sentry's host identity: files it creates belong to that
// identity (the caller when runsc-lite runs without root; --host-uid and
// --host-gid, 65534 by default, under root), whatever the sandbox's
// credentials, as on an NFS export that squashes every user.
//
// Every change names at most one component relative to a descriptor opened
// with the confined openat2 (the parent directory, or the file itself with
// AT_EMPTY_PATH), and none follows a final symlink, so a symlink or ".."
// the sandbox planted, or a rename racing with the change, never takes it
// outside the tree. Host devices are never made: mknod makes FIFOs and
// socket nodes only (EPERM otherwise, as on a nodev mount).

// Writable reports whether the tree may be changed.
func (fs *FS) Writable() bool { return fs.writable }

// parentFD opens the directory inode i for a change of one of its names.
func (i *inode) parentFD() (int, error) {
	if !i.fs.writable {
		return -1, unix.EROFS
	}
	if i.Removed() {
		return -1, unix.ENOENT
	}
	fd, err := i.fs.open(i.hostPath(), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, hostErr(err)
	}
	return fd, nil
}

// Create implements vfs.DirWriter.
func (i *inode) Create(ctx context.Context, creds vfs.Creds, name string, mode uint32, rdev uint64) (vfs.Inode, error) {
	p := path.Join(i.hostPath(), name)
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		if !i.fs.writable {
			return nil, unix.EROFS
		}
		how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Mode: uint64(mode & 0o7777), Resolve: resolveFlags}
		fd, err := openat2(int(i.fs.root.Fd()), p, &how)
		if err != nil {
			return nil, hostErr(err)
		}
		defer unix.Close(fd)
		return i.fs.inodeOf(fd, p, i)
	case unix.S_IFIFO, unix.S_IFSOCK:
		err := i.atParent(func(pfd int) error { return unix.Mknodat(pfd, name, mode&(unix.S_IFMT|0o7777), 0) })
		if err != nil {
			return nil, err
		}
		return i.Lookup(ctx, name)
	}
	return nil, unix.EPERM
}

// inodeOf returns the inode of the host file open at fd, at p in
// directory parent.
func (fs *FS) inodeOf(fd int, p string, parent *inode) (vfs.Inode, error) {
	st, born, err := fstat(fd)
	if err != nil {
		return nil, hostErr(err)
	}
	return fs.inodeFor(p, st, born, parent), nil
}

// atParent runs change on a descriptor of directory i.
func (i *inode) atParent(change func(pfd int) error) error {
	pfd, err := i.parentFD()
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := change(pfd); err != nil {
		return hostErr(err)
	}
	return nil
}

// Mkdir implements vfs.DirWriter.
func (i *inode) Mkdir(ctx context.Context, creds vfs.Creds, name string, mode uint32) error {
	return i.atParent(func(pfd int) error { return unix.Mkdirat(pfd, name, mode&0o7777) })
}

// Symlink implements vfs.DirWriter.
func (i *inode) Symlink(ctx context.Context, creds vfs.Creds, name, target string) error {
	return i.atParent(func(pfd int) error { return unix.Symlinkat(target, pfd, name) })
}

// Link implements vfs.DirWriter.
func (i *inode) Link(ctx context.Context, name string, target vfs.Inode) error {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return unix.EXDEV
	}
	tdir, tname := splitPath(t.hostPath())
	tfd, err := i.fs.open(tdir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return hostErr(err)
	}
	defer unix.Close(tfd)
	return i.atParent(func(pfd int) error { return unix.Linkat(tfd, tname, pfd, name, 0) })
}

// Unlink implements vfs.DirWriter.
func (i *inode) Unlink(ctx context.Context, name string) error {
	if err := i.atParent(func(pfd int) error { return unix.Unlinkat(pfd, name, 0) }); err != nil {
		return err
	}
	i.fs.removed(path.Join(i.hostPath(), name))
	return nil
}

// Rmdir implements vfs.DirWriter.
func (i *inode) Rmdir(ctx context.Context, name string) error {
	if err := i.atParent(func(pfd int) error { return unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR) }); err != nil {
		return err
	}
	i.fs.removed(path.Join(i.hostPath(), name))
	return nil
}

// Rename implements vfs.DirWriter.
func (i *inode) Rename(ctx context.Context, oldName string, newDir vfs.Inode, newName string, flags uint32) error {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return unix.EXDEV
	}
	nfd, err := nd.parentFD()
	if err != nil {
		return err
	}
	defer unix.Close(nfd)
	oldPath, newPath := path.Join(i.hostPath(), oldName), path.Join(nd.hostPath(), newName)
	if err := i.atParent(func(pfd int) error { return unix.Renameat2(pfd, oldName, nfd, newName, uint(flags)) }); err != nil {
		return err
	}
	if flags&unix.RENAME_EXCHANGE == 0 && oldPath != newPath {
		// Two hard links of one file: rename(2) does nothing, and both
		// names stay (nothing moved, nothing was renamed over).
		if fd, err := i.fs.open(oldPath, unix.O_PATH); err == nil {
			unix.Close(fd)
			return nil
		}
		i.fs.removed(newPath) // a directory or an open file renamed over
	}
	i.fs.moved(oldPath, newPath, i, nd, flags&unix.RENAME_EXCHANGE != 0)
	return nil
}

// moved gives the directories and open files known below oldPath, in
// directory from, their names below newPath, in directory to (and the
// other way round for an exchange).
func (fs *FS) moved(oldPath, newPath string, from, to *inode, exchange bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	move := func(d *inode) {
		if rest, ok := below(d.path, oldPath); ok {
			if rest == "" {
				d.parent = to
			}
			d.path = newPath + rest
		} else if rest, ok := below(d.path, newPath); ok && exchange {
			if rest == "" {
				d.parent = from
			}
			d.path = oldPath + rest
		}
	}
	for _, d := range fs.dirs {
		move(d)
	}
	for f := range fs.files {
		if i := f.Value(); i != nil {
			move(i)
		}
	}
}

// below reports whether p is dir or below it, and what follows dir.
func below(p, dir string) (string, bool) {
	if p == dir {
		return "", true
	}
	rest, ok := strings.CutPrefix(p, dir+"/")
	return "/" + rest, ok
}

// splitPath splits a cleaned relative path into its directory and last
// component.
func splitPath(p string) (string, string) {
	dir, name := path.Split(p)
	if dir == "" {
		dir = "."
	}
	return path.Clean(dir), name
}

// SetAttr implements vfs.AttrSetter, on a descriptor of the file itself.
func (i *inode) SetAttr(ctx context.Context, a vfs.Attr) error {
	if !i.fs.writable {
		return unix.EROFS
	}
	p := i.hostPath()
	if a.Mask&vfs.AttrSize != 0 {
		fd, err := i.fs.open(p, unix.O_WRONLY)
		if err != nil {
			return hostErr(err)
		}
		err = unix.Ftruncate(fd, a.Size)
		unix.Close(fd)
		if err != nil {
			return hostErr(err)
		}
	}
	fd, err := i.fs.open(p, unix.O_PATH)
	if err != nil {
		return hostErr(err)
	}
	defer unix.Close(fd)
	return setAttrAt(fd, a)
}

// setAttrAt makes the changes of a but the size on the file fd names.
func setAttrAt(fd int, a vfs.Attr) error {
	if a.Mask&vfs.AttrMode != 0 {
		if err := unix.Fchmodat(fd, "", a.Mode&0o7777, unix.AT_EMPTY_PATH); err != nil {
			return hostErr(err)
		}
	}
	if a.Mask&(vfs.AttrUID|vfs.AttrGID) != 0 {
		uid, gid := -1, -1
		if a.Mask&vfs.AttrUID != 0 {
			uid = int(a.UID)
		}
		if a.Mask&vfs.AttrGID != 0 {
			gid = int(a.GID)
		}
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
			return hostErr(err)
		}
	}
	if a.Mask&(vfs.AttrAtime|vfs.AttrMtime) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if a.Mask&vfs.AttrAtime != 0 {
			ts[0] = a.Atime
		}
		if a.Mask&vfs.AttrMtime != 0 {
			ts[1] = a.Mtime
		}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return hostErr(err)
		}
	}
	return nil
}

// Inode implements vfs.OpenInode: in a writable tree the open file's
// attributes are read and changed through its descriptor, since the path
// the inode keeps may name another file, or none, after a rename (the
// sandbox's move it, moved, but the host's do not, and the name the file
// was opened by may be gone).
func (f *file) Inode() vfs.Inode {
	if !f.in.fs.writable {
		return f.in
	}
	return &openInode{inode: f.in, fd: f.fd}
}

// openInode is a writable tree's file as its open descriptor names it.
type openInode struct {
	*inode
	fd int // the open file's, which it does not own
}

// Stat implements vfs.Inode: fstat of the descriptor.
func (o *openInode) Stat(ctx context.Context) (unix.Stat_t, error) {
	hst, born, err := fstat(o.fd)
	if err != nil {
		return unix.Stat_t{}, hostErr(err)
	}
	st := o.fs.sandboxStat(hst)
	o.fs.mu.Lock()
	o.inode.stat, o.inode.born = st, born
	o.fs.mu.Unlock()
	return st, nil
}

// SetAttr implements vfs.AttrSetter on the descriptor (ftruncate needs it
// open for writing, which File.SetAttr checked).
func (o *openInode) SetAttr(ctx context.Context, a vfs.Attr) error {
	if a.Mask&vfs.AttrSize != 0 {
		if err := unix.Ftruncate(o.fd, a.Size); err != nil {
			return hostErr(err)
		}
	}
	return setAttrAt(o.fd, a)
}
