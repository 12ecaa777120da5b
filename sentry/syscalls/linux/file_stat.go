package linux

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Handlers that look at or change a file's attributes by path or
// descriptor: stat, statx, statfs, readlink, access, chmod, chown,
// utimensat.

func registerStat(st *kernel.SyscallTable) {
	fd, path, hex, oct, i := kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgOct, kernel.ArgInt
	reg(st, unix.SYS_STAT, "stat", stat, path, hex)
	reg(st, unix.SYS_LSTAT, "lstat", lstat, path, hex)
	reg(st, unix.SYS_FSTAT, "fstat", fstat, fd, hex)
	reg(st, unix.SYS_NEWFSTATAT, "newfstatat", newfstatat, fd, path, hex, hex)
	reg(st, unix.SYS_STATX, "statx", statx, fd, path, hex, hex, hex)
	reg(st, unix.SYS_STATFS, "statfs", statfs, path, hex)
	reg(st, unix.SYS_FSTATFS, "fstatfs", fstatfs, fd, hex)
	reg(st, unix.SYS_READLINK, "readlink", readlink, path, hex, i)
	reg(st, unix.SYS_READLINKAT, "readlinkat", readlinkat, fd, path, hex, i)
	reg(st, unix.SYS_ACCESS, "access", access, path, oct)
	reg(st, unix.SYS_FACCESSAT, "faccessat", faccessat, fd, path, oct)
	reg(st, unix.SYS_FACCESSAT2, "faccessat2", faccessat2, fd, path, oct, hex)
	reg(st, unix.SYS_CHMOD, "chmod", chmod, path, oct)
	reg(st, unix.SYS_FCHMOD, "fchmod", fchmod, fd, oct)
	reg(st, unix.SYS_FCHMODAT, "fchmodat", fchmodat, fd, path, oct)
	reg(st, unix.SYS_FCHMODAT2, "fchmodat2", fchmodat2, fd, path, oct, hex)
	reg(st, unix.SYS_CHOWN, "chown", chown, path, i, i)
	reg(st, unix.SYS_LCHOWN, "lchown", lchown, path, i, i)
	reg(st, unix.SYS_FCHOWN, "fchown", fchown, fd, i, i)
	reg(st, unix.SYS_FCHOWNAT, "fchownat", fchownat, fd, path, i, i, hex)
	reg(st, unix.SYS_UTIMENSAT, "utimensat", utimensat, fd, path, hex, hex)
	reg(st, unix.SYS_UTIMES, "utimes", utimes, path, hex)
	reg(st, unix.SYS_FUTIMESAT, "futimesat", futimesat, fd, path, hex)
	reg(st, unix.SYS_UTIME, "utime", utime, path, hex)
}

// target is what a *at call with AT_EMPTY_PATH or a path names.
type target struct {
	ctx    context.Context
	dir    *vfs.File
	path   string
	follow bool
}

// dentry resolves the target for t; an empty path with AT_EMPTY_PATH
// names dir itself (or the working directory).
func (tg target) dentry(t *kernel.Task) (*vfs.Dentry, error) {
	return tg.dentryFor(t, t.FSCreds())
}

// dentryFor is dentry with the walk made for creds.
func (tg target) dentryFor(t *kernel.Task, creds vfs.Creds) (*vfs.Dentry, error) {
	if tg.path == "" {
		if tg.dir == nil {
			return t.FS().Cwd(), nil
		}
		if d := tg.dir.Dentry(); d != nil {
			return d, nil
		}
		return nil, errAnonymous
	}
	return t.K.VFS.Lookup(tg.ctx, creds, t.FS(), tg.dir, tg.path, tg.follow)
}

// errAnonymous marks a file without a name; callers fall back to the
// file itself.
var errAnonymous = errors.New("file has no name")

// withTarget resolves dirfd, the path at addr and the AT_ flags shared by
// the *at calls (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH), then runs fn.
func withTarget(t *kernel.Task, dirfd int32, addr uintptr, flags int32, allowed int32, fn func(tg target) error) error {
	if flags&^allowed != 0 {
		return unix.EINVAL
	}
	var path string
	if addr != 0 || flags&unix.AT_EMPTY_PATH == 0 {
		p, err := copyInPath(t, addr)
		if err != nil {
			return err
		}
		path = p
	}
	if path == "" && flags&unix.AT_EMPTY_PATH == 0 {
		return unix.ENOENT
	}
	dir, err := atDir(t, dirfd, path)
	if err != nil {
		return err
	}
	defer putFile(dir)
	return fn(target{ctx: t.Ctx(), dir: dir, path: path, follow: flags&unix.AT_SYMLINK_NOFOLLOW == 0})
}

// statTarget returns the target's attributes; for the descriptor itself
// (AT_EMPTY_PATH) the open file's own.
func statTarget(t *kernel.Task, tg target) (unix.Stat_t, error) {
	st, _, _, err := statTargetInode(t, tg)
	return st, err
}

// statTargetInode is statTarget that also returns the inode described
// and its dentry (nil for an anonymous file). The descriptor itself is
// stat'ed as an open file: an anonymous one (a pipe) has no name, and a
// host file renamed since it was opened is found by its descriptor, not
// by its name (vfs.OpenInode).
func statTargetInode(t *kernel.Task, tg target) (unix.Stat_t, vfs.Inode, *vfs.Dentry, error) {
	if tg.path == "" && tg.dir != nil {
		st, err := tg.dir.StatCtx(tg.ctx)
		return st, tg.dir.Inode(), tg.dir.Dentry(), err
	}
	d, err := tg.dentry(t)
	if err != nil {
		return unix.Stat_t{}, nil, nil, err
	}
	st, err := d.Inode().Stat(tg.ctx)
	return st, d.Inode(), d, err
}

// showOwner maps st's owner and group into t's user namespace (the
// overflow IDs when unmapped), as stat shows them.
func showOwner(t *kernel.Task, st *unix.Stat_t) {
	if ns := t.UserNS(); ns != nil {
		st.Uid, st.Gid = ns.ShowUID(st.Uid), ns.ShowGID(st.Gid)
	}
}

func copyOutStat(t *kernel.Task, addr uintptr, st unix.Stat_t) error {
	showOwner(t, &st)
	return kernel.CopyOut(t, addr, &st)
}

func stat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fstatatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), 0)
}

func lstat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fstatatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), unix.AT_SYMLINK_NOFOLLOW)
}

func newfstatat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fstatatImpl(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Int(3))
}

func fstatatImpl(t *kernel.Task, dirfd int32, pathAddr, statAddr uintptr, flags int32) (uintptr, error) {
	return 0, withTarget(t, dirfd, pathAddr, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT, func(tg target) error {
		st, err := statTarget(t, tg)
		if err != nil {
			return err
		}
		return copyOutStat(t, statAddr, st)
	})
}

func fstat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileRaw(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := f.StatCtx(t.Ctx())
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, a.Pointer(1), st)
}

// statxFlags are the flags statx accepts.
const statxFlags = unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH | unix.AT_NO_AUTOMOUNT | linux.AT_STATX_SYNC_TYPE

func statx(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags, mask := a.Int(2), a.Uint(3)
	if mask&unix.STATX__RESERVED != 0 || flags&linux.AT_STATX_SYNC_TYPE == linux.AT_STATX_SYNC_TYPE {
		return 0, unix.EINVAL
	}
	return 0, withTarget(t, a.Int(0), a.Pointer(1), flags, statxFlags, func(tg target) error {
		st, inode, d, err := statTargetInode(t, tg)
		if err != nil {
			return err
		}
		showOwner(t, &st)
		sx := toStatx(st)
		sx.Attributes, sx.Attributes_mask = vfs.StatxAttributes(inode)
		if mask&unix.STATX_BTIME != 0 {
			setBirth(&sx, vfs.BirthOf(tg.ctx, inode))
		}
		// As vfs_getattr_nosec and vfs_statx: whether the file is an
		// automount point, DAX or a mount's root is always answered, and
		// so is its mount's ID (/proc/PID/mountinfo's; 0 for a file
		// with no name, whose mount Linux keeps internal).
		sx.Attributes_mask |= unix.STATX_ATTR_AUTOMOUNT | unix.STATX_ATTR_DAX | unix.STATX_ATTR_MOUNT_ROOT
		sx.Mask |= unix.STATX_MNT_ID
		if d != nil {
			sx.Mnt_id = uint64(vfs.MountID(d))
			if vfs.IsMountRoot(d) {
				sx.Attributes |= unix.STATX_ATTR_MOUNT_ROOT
			}
		}
		return kernel.CopyOut(t, a.Pointer(4), &sx)
	})
}

// setBirth puts b in sx if the file has one: asked for (STATX_BTIME), as
// ext4_getattr and shmem_getattr answer it.
func setBirth(sx *unix.Statx_t, b vfs.Birth) {
	if b.Known {
		sx.Mask |= unix.STATX_BTIME
		sx.Btime = unix.StatxTimestamp{Sec: b.Time.Sec, Nsec: uint32(b.Time.Nsec)}
	}
}

func toStatx(st unix.Stat_t) unix.Statx_t {
	ts := func(t unix.Timespec) unix.StatxTimestamp {
		return unix.StatxTimestamp{Sec: t.Sec, Nsec: uint32(t.Nsec)}
	}
	return unix.Statx_t{
		Mask:       unix.STATX_BASIC_STATS,
		Blksize:    uint32(st.Blksize),
		Nlink:      uint32(st.Nlink),
		Uid:        st.Uid,
		Gid:        st.Gid,
		Mode:       uint16(st.Mode),
		Ino:        st.Ino,
		Size:       uint64(st.Size),
		Blocks:     uint64(st.Blocks),
		Atime:      ts(st.Atim),
		Ctime:      ts(st.Ctim),
		Mtime:      ts(st.Mtim),
		Rdev_major: unix.Major(st.Rdev),
		Rdev_minor: unix.Minor(st.Rdev),
		Dev_major:  unix.Major(st.Dev),
		Dev_minor:  unix.Minor(st.Dev),
	}
}

func statfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, pathAt(t, unix.AT_FDCWD, a.Pointer(0), func(ctx context.Context, dir *vfs.File, path string) error {
		d, err := t.K.VFS.Lookup(ctx, t.FSCreds(), t.FS(), dir, path, true)
		if err != nil {
			return err
		}
		s, err := t.K.VFS.Statfs(ctx, d)
		if err != nil {
			return err
		}
		return kernel.CopyOut(t, a.Pointer(1), &s)
	})
}

func fstatfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileRaw(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	var s unix.Statfs_t
	if d := f.Dentry(); d != nil {
		if s, err = t.K.VFS.Statfs(t.Ctx(), d); err != nil {
			return 0, err
		}
	} else {
		s = unix.Statfs_t{Type: unix.PIPEFS_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255}
	}
	return 0, kernel.CopyOut(t, a.Pointer(1), &s)
}

func readlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return readlinkImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Int(2))
}

func readlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return readlinkImpl(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Int(3))
}

// readlinkImpl reads a symlink; an empty path reads the symlink dirfd
// was opened on (O_PATH|O_NOFOLLOW), as Linux allows.
func readlinkImpl(t *kernel.Task, dirfd int32, pathAddr, buf uintptr, size int32) (uintptr, error) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	var n int
	err := withTarget(t, dirfd, pathAddr, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, func(tg target) error {
		if tg.path == "" && tg.dir == nil {
			return unix.ENOENT
		}
		d, err := tg.dentry(t)
		if err == errAnonymous {
			return unix.EINVAL
		}
		if err != nil {
			return err
		}
		s, err := vfs.ReadlinkDentry(tg.ctx, d)
		if err != nil {
			return err
		}
		n = min(len(s), int(size))
		return t.CopyOut(buf, []byte(s[:n]))
	})
	return uintptr(n), err
}

func access(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return accessImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), 0)
}

func faccessat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return accessImpl(t, a.Int(0), a.Pointer(1), a.Uint(2), 0)
}

func faccessat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return accessImpl(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Int(3))
}

// accessImpl checks with the real IDs unless AT_EACCESS asks for the
// effective ones; the path is walked with the same credentials.
func accessImpl(t *kernel.Task, dirfd int32, addr uintptr, mode uint32, flags int32) (uintptr, error) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	creds := t.AccessCreds()
	if flags&unix.AT_EACCESS != 0 {
		creds = t.FSCreds()
	}
	return 0, withTarget(t, dirfd, addr, flags, unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH, func(tg target) error {
		d, err := tg.dentryFor(t, creds)
		if err == errAnonymous {
			return nil
		}
		if err != nil {
			return err
		}
		return vfs.AccessDentry(tg.ctx, creds, d, mode)
	})
}

// setAttrTarget applies attr to the target (or the anonymous file).
func setAttrTarget(t *kernel.Task, tg target, attr vfs.Attr) error {
	if tg.path == "" && tg.dir != nil {
		return tg.dir.SetAttr(tg.ctx, t.FSCreds(), attr)
	}
	if tg.path == "" {
		return t.K.VFS.SetAttrAt(tg.ctx, t.FSCreds(), t.FS(), nil, ".", true, attr)
	}
	return t.K.VFS.SetAttrAt(tg.ctx, t.FSCreds(), t.FS(), tg.dir, tg.path, tg.follow, attr)
}

// fileAttr applies attr to the file at fd.
func fileAttr(t *kernel.Task, fd int32, attr vfs.Attr) (uintptr, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.SetAttr(t.Ctx(), t.FSCreds(), attr)
}

func chmod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fchmodatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1))
}

func fchmodat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fchmodatImpl(t, a.Int(0), a.Pointer(1), a.Uint(2))
}

func fchmodatImpl(t *kernel.Task, dirfd int32, addr uintptr, mode uint32) (uintptr, error) {
	return 0, withTarget(t, dirfd, addr, 0, 0, func(tg target) error {
		return setAttrTarget(t, tg, vfs.Attr{Mask: vfs.AttrMode, Mode: mode & 0o7777})
	})
}

// fchmodat2 is fchmodat with flags: AT_SYMLINK_NOFOLLOW (a symlink's own
// mode cannot change: EOPNOTSUPP, as notify_change refuses it) and
// AT_EMPTY_PATH.
func fchmodat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	mode := a.Uint(2)
	return 0, withTarget(t, a.Int(0), a.Pointer(1), a.Int(3), unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH, func(tg target) error {
		if !tg.follow {
			if st, err := statTarget(t, tg); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return unix.EOPNOTSUPP
			}
		}
		attr := vfs.Attr{Mask: vfs.AttrMode, Mode: mode & 0o7777}
		if tg.path == "" && tg.dir != nil && tg.dir.Dentry() != nil {
			// AT_EMPTY_PATH names the file, O_PATH descriptors too: a
			// change by name, as chmod_common makes it.
			d := tg.dir.Dentry()
			return t.K.VFS.SetAttrDentry(tg.ctx, t.FSCreds(), d, attr)
		}
		return setAttrTarget(t, tg, attr)
	})
}

func fchmod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fileAttr(t, a.Int(0), vfs.Attr{Mask: vfs.AttrMode, Mode: a.Uint(1) & 0o7777})
}

// ownerAttr builds the change for chown's uid and gid (-1: unchanged).
func ownerAttr(uid, gid uint32) vfs.Attr {
	var attr vfs.Attr
	if uid != ^uint32(0) {
		attr.Mask |= vfs.AttrUID
		attr.UID = uid
	}
	if gid != ^uint32(0) {
		attr.Mask |= vfs.AttrGID
		attr.GID = gid
	}
	return attr
}

func chown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fchownatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2), 0)
}

func lchown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fchownatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2), unix.AT_SYMLINK_NOFOLLOW)
}

func fchownat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return fchownatImpl(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3), a.Int(4))
}

// ownerToKernel maps chown's uid and gid from t's user namespace
// (EINVAL for one it does not map; -1 stays).
func ownerToKernel(t *kernel.Task, uid, gid uint32) (uint32, uint32, error) {
	ids := []uint32{uid, gid}
	if err := uidsToKernel(t, ids[:1]...); err != nil {
		return 0, 0, err
	}
	if err := gidsToKernel(t, ids[1:]...); err != nil {
		return 0, 0, err
	}
	return ids[0], ids[1], nil
}

func fchownatImpl(t *kernel.Task, dirfd int32, addr uintptr, uid, gid uint32, flags int32) (uintptr, error) {
	uid, gid, err := ownerToKernel(t, uid, gid)
	if err != nil {
		return 0, err
	}
	return 0, withTarget(t, dirfd, addr, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH, func(tg target) error {
		return setAttrTarget(t, tg, ownerAttr(uid, gid))
	})
}

func fchown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	uid, gid, err := ownerToKernel(t, a.Uint(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	return fileAttr(t, a.Int(0), ownerAttr(uid, gid))
}

// timesAttr turns two timespecs (nil: now) into an Attr, honouring
// UTIME_NOW and UTIME_OMIT. Times given, unless both are UTIME_NOW, are
// explicit (do_utimes): they need the owner, not only write permission.
func timesAttr(ts []unix.Timespec) (vfs.Attr, error) {
	now := vfs.Now()
	if ts == nil || ts[0].Nsec == unix.UTIME_NOW && ts[1].Nsec == unix.UTIME_NOW {
		return vfs.Attr{Mask: vfs.AttrAtime | vfs.AttrMtime, Atime: now, Mtime: now, Now: now}, nil
	}
	attr := vfs.Attr{TimesGiven: true, Now: now}
	for i, bit := range []uint32{vfs.AttrAtime, vfs.AttrMtime} {
		t := ts[i]
		switch {
		case t.Nsec == unix.UTIME_OMIT:
			continue
		case t.Nsec == unix.UTIME_NOW:
			t = now
		case t.Nsec < 0 || t.Nsec >= 1e9:
			return attr, unix.EINVAL
		}
		attr.Mask |= bit
		if i == 0 {
			attr.Atime = t
		} else {
			attr.Mtime = t
		}
	}
	return attr, nil
}

// copyInTimespecs reads two timespecs (nil for a NULL pointer).
func copyInTimespecs(t *kernel.Task, addr uintptr) ([]unix.Timespec, error) {
	if addr == 0 {
		return nil, nil
	}
	ts := make([]unix.Timespec, 2)
	if err := kernel.CopyInSlice(t, addr, ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// copyInTimevals reads two timevals as timespecs (nil for NULL).
func copyInTimevals(t *kernel.Task, addr uintptr) ([]unix.Timespec, error) {
	if addr == 0 {
		return nil, nil
	}
	var tv [2]unix.Timeval
	if err := kernel.CopyIn(t, addr, &tv); err != nil {
		return nil, err
	}
	ts := make([]unix.Timespec, len(tv))
	for i, v := range tv {
		if v.Usec < 0 || v.Usec >= 1e6 {
			return nil, unix.EINVAL
		}
		ts[i] = unix.Timespec{Sec: v.Sec, Nsec: v.Usec * 1000}
	}
	return ts, nil
}

// utimensat with a NULL path changes dirfd itself (Linux's extension).
func utimensat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ts, err := copyInTimespecs(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	attr, err := timesAttr(ts)
	if err != nil {
		return 0, err
	}
	flags := a.Int(3)
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	if a.Pointer(1) == 0 {
		if a.Int(0) == unix.AT_FDCWD {
			return 0, unix.EFAULT
		}
		return fileAttr(t, a.Int(0), attr)
	}
	return utimesImpl(t, a.Int(0), a.Pointer(1), attr, flags)
}

func utimesImpl(t *kernel.Task, dirfd int32, addr uintptr, attr vfs.Attr, flags int32) (uintptr, error) {
	return 0, withTarget(t, dirfd, addr, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH, func(tg target) error {
		return setAttrTarget(t, tg, attr)
	})
}

func utimes(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return futimesatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Pointer(1))
}

func futimesat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return futimesatImpl(t, a.Int(0), a.Pointer(1), a.Pointer(2))
}

func futimesatImpl(t *kernel.Task, dirfd int32, pathAddr, tvAddr uintptr) (uintptr, error) {
	ts, err := copyInTimevals(t, tvAddr)
	if err != nil {
		return 0, err
	}
	attr, err := timesAttr(ts)
	if err != nil {
		return 0, err
	}
	return utimesImpl(t, dirfd, pathAddr, attr, 0)
}

// utime takes a struct utimbuf of two time_t (NULL: now).
func utime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var ts []unix.Timespec
	if a.Pointer(1) != 0 {
		var buf unix.Utimbuf
		if err := kernel.CopyIn(t, a.Pointer(1), &buf); err != nil {
			return 0, err
		}
		ts = []unix.Timespec{{Sec: buf.Actime}, {Sec: buf.Modtime}}
	}
	attr, err := timesAttr(ts)
	if err != nil {
		return 0, err
	}
	return utimesImpl(t, unix.AT_FDCWD, a.Pointer(0), attr, 0)
}
