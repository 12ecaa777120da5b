package vfs

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/clocks"
)

// openFlagsIgnored are open(2) flags that change nothing here. O_SYNC
// and O_DSYNC are kept, for F_GETFL and fdinfo to report.
const openFlagsIgnored = unix.O_LARGEFILE | unix.O_NOCTTY | unix.O_CLOEXEC | unix.O_DIRECT | unix.O_NOATIME | unix.O_ASYNC

func (v *VFS) walker(ctx context.Context, creds Creds, fsc *FSContext) *walker {
	return &walker{v: v, ctx: ctx, creds: creds, root: fsc.Root()}
}

// startAt returns where a relative path starts: dir's dentry, or the
// working directory when dir is nil.
func startAt(fsc *FSContext, dir *File) (*Dentry, error) {
	if dir == nil {
		return fsc.Cwd(), nil
	}
	if dir.d == nil {
		return nil, unix.ENOTDIR
	}
	return dir.d, nil
}

// Open implements openat(2) for creds: path relative to dir (nil: the
// working directory), open flags and the creation mode (before the umask).
// The returned file has one reference.
func (v *VFS) Open(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, flags int, mode uint32) (*File, error) {
	return v.open(ctx, creds, fsc, dir, path, flags, mode, 0)
}

// open is Open and OpenResolve.
func (v *VFS) open(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, flags int, mode uint32, resolve uint64) (*File, error) {
	if flags&unix.O_PATH != 0 {
		// O_PATH beats everything else (build_open_how; openat2 refuses
		// other flags before this).
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	if flags&linux.O_SYNC != 0 {
		// __O_SYNC (linux.O_SYNC) implies O_DSYNC (build_open_flags).
		flags |= unix.O_DSYNC
	}
	if flags&abi.O_TMPFILE_BIT != 0 {
		// O_TMPFILE is O_TMPFILE_BIT|O_DIRECTORY, without O_CREAT, for
		// writing (build_open_flags).
		if flags&(unix.O_TMPFILE|unix.O_CREAT) != unix.O_TMPFILE || flags&unix.O_ACCMODE == unix.O_RDONLY {
			return nil, unix.EINVAL
		}
	} else if flags&(unix.O_CREAT|unix.O_DIRECTORY) == unix.O_CREAT|unix.O_DIRECTORY {
		// Linux 6.4 and later (build_open_flags), rather than making a
		// file and failing with ENOTDIR.
		return nil, unix.EINVAL
	}
	start, err := startAt(fsc, dir)
	if err != nil {
		return nil, err
	}
	w := v.walker(ctx, creds, fsc)
	w.resolve, w.base = resolve, start
	if resolve&linux.RESOLVE_IN_ROOT != 0 {
		w.root = start
	}
	if flags&abi.O_TMPFILE_BIT != 0 {
		return v.openTmpfile(w, start, path, flags, mode&0o7777, fsc.Umask())
	}
	var d *Dentry
	created := false
	if flags&unix.O_CREAT != 0 {
		d, created, err = w.openCreate(start, path, flags, mode&0o7777, fsc.Umask())
	} else {
		d, err = w.lookup(start, path, flags&unix.O_NOFOLLOW == 0)
	}
	if err != nil {
		return nil, err
	}
	return v.openDentry(ctx, creds, d, flags, created)
}

// openTmpfile is open(2) with O_TMPFILE (do_tmpfile, vfs_tmpfile): a
// regular file with no name in the directory path names, on its
// filesystem, for the access flags ask, with mode and umask as a created
// file's. Its open file keeps O_TMPFILE in its flags (F_GETFL shows it),
// and its name is "#" and its inode number, in no directory. Filesystems
// that cannot make one (host files, /proc, /sys) refuse with EOPNOTSUPP,
// as Linux's without a tmpfile operation do.
func (v *VFS) openTmpfile(w *walker, start *Dentry, path string, flags int, mode, umask uint32) (*File, error) {
	dir, err := w.lookup(start, path, flags&unix.O_NOFOLLOW == 0)
	if err != nil {
		return nil, err
	}
	st, err := dir.inode.Stat(w.ctx)
	if err != nil {
		return nil, err
	}
	if !IsDir(st.Mode) {
		return nil, unix.ENOTDIR
	}
	if err := w.mayWriteDirStat(dir, &st); err != nil {
		return nil, err
	}
	tm, ok := dir.inode.(TmpfileMaker)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	i, err := tm.Tmpfile(w.ctx, w.creds, unix.S_IFREG|createMode(w.creds, &st, mode, umask), flags&unix.O_EXCL == 0)
	if err != nil {
		return nil, err
	}
	fst, err := i.Stat(w.ctx)
	if err != nil {
		return nil, err
	}
	d := &Dentry{parent: dir, name: "#" + strconv.FormatUint(fst.Ino, 10), inode: i, mnt: dir.mnt, unnamed: true}
	return v.openDentry(w.ctx, w.creds, d, flags, true)
}

// OpenExec opens path for execve(2) as open_exec does: it must be a
// regular file (EACCES otherwise) that creds may execute; they need not
// be able to read it.
func (v *VFS) OpenExec(ctx context.Context, creds Creds, fsc *FSContext, path string) (*File, error) {
	d, err := v.walker(ctx, creds, fsc).lookup(fsc.Cwd(), path, true)
	if err != nil {
		return nil, err
	}
	return v.openExec(ctx, creds, d)
}

// OpenExecFile opens the file f is open on for execve(2), as OpenExec
// does a path: execveat of a descriptor with AT_EMPTY_PATH (fexecve),
// which needs no name, so a memfd can be run.
func (v *VFS) OpenExecFile(ctx context.Context, creds Creds, f *File) (*File, error) {
	return v.openExec(ctx, creds, f.JumpTarget())
}

func (v *VFS) openExec(ctx context.Context, creds Creds, d *Dentry) (*File, error) {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || d.mnt.flags.Load()&unix.MS_NOEXEC != 0 {
		return nil, unix.EACCES
	}
	if err := permission(creds, &st, mayExec); err != nil {
		return nil, err
	}
	// The file denies writers while it lives (writeaccess.go), after
	// the checks above, as do_open_execat denies after opening.
	k := lockKey{st.Dev, st.Ino}
	if err := v.writes.deny(k); err != nil {
		return nil, err
	}
	impl, err := v.openImpl(ctx, d, &st, unix.O_RDONLY)
	if err != nil {
		v.writes.drop(k, -1)
		return nil, err
	}
	v.inodeEvent(ctx, d, d.inode, unix.IN_OPEN)
	f := NewFile(v, d.named(), d.inode, impl, unix.O_RDONLY|linux.O_LARGEFILE)
	f.holdWrite(k, -1)
	return f, nil
}

// openCreate resolves path for O_CREAT, creating a regular file with mode
// and umask if the final name (or the target of a dangling final symlink)
// does not exist.
func (w *walker) openCreate(start *Dentry, path string, flags int, mode, umask uint32) (*Dentry, bool, error) {
	for {
		dir, last, trailing, err := w.walkParent(start, path)
		if err != nil {
			return nil, false, err
		}
		switch {
		case last == "" || last == "." || last == "..":
			// A directory the walk ends in (Linux's do_open on a
			// LAST_DOT, LAST_DOTDOT or LAST_ROOT): it exists.
			if flags&unix.O_EXCL != 0 {
				return nil, false, unix.EEXIST
			}
			return nil, false, unix.EISDIR
		case trailing:
			return nil, false, unix.EISDIR
		}
		d, err := w.step(dir, last)
		if err == unix.ENOENT {
			d, err = w.create(dir, last, unix.S_IFREG|mode, umask)
			if err == unix.EEXIST && flags&unix.O_EXCL == 0 {
				continue
			}
			return d, err == nil, err
		}
		if err != nil {
			return nil, false, err
		}
		if flags&unix.O_EXCL != 0 {
			return nil, false, unix.EEXIST
		}
		st, err := d.inode.Stat(w.ctx)
		if err != nil {
			return nil, false, err
		}
		if !IsSymlink(st.Mode) {
			return d, false, nil
		}
		if flags&unix.O_NOFOLLOW != 0 {
			return nil, false, unix.ELOOP
		}
		if err := w.mayFollow(d); err != nil {
			return nil, false, err
		}
		if w.links++; w.links > maxSymlinks {
			return nil, false, unix.ELOOP
		}
		if to, err := w.jump(d); err != nil || to != nil {
			return to, false, err
		}
		if path, err = readlink(w.ctx, d.inode); err != nil {
			return nil, false, err
		}
		start = dir
	}
}

// create makes a non-directory called name in dir, with mode and umask.
func (w *walker) create(dir *Dentry, name string, mode, umask uint32) (*Dentry, error) {
	dw, st, err := w.writableDirStat(dir)
	if err != nil {
		return nil, err
	}
	i, err := dw.Create(w.ctx, w.creds, name, createMode(w.creds, &st, mode, umask), 0)
	if err := w.v.entryEvent(w.ctx, err, dir, name, unix.IN_CREATE); err != nil {
		return nil, err
	}
	return &Dentry{parent: dir, name: name, inode: i, mnt: dir.mnt}, nil
}

// createMode is vfs_prepare_mode for a non-directory made in a directory
// with stat dir: a setgid, group-executable mode loses S_ISGID in a setgid
// directory whose group the creator is not in, unless it holds CAP_FSETID
// over the directory (mode_strip_sgid: the file would get that group, and
// be setgid to it; CVE-2018-13405), and only then the umask applies, so
// that a umask without S_IXGRP cannot keep the bit (CVE-2021-4037).
func createMode(c Creds, dir *unix.Stat_t, mode, umask uint32) uint32 {
	if mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP && dir.Mode&unix.S_ISGID != 0 &&
		!c.InGroup(dir.Gid) && !c.capableWrt(linux.CAP_FSETID, dir) {
		mode &^= unix.S_ISGID
	}
	return mode &^ umask
}

// writableDir checks that the caller may add or remove names in dir
// (may_create).
func (w *walker) writableDir(dir *Dentry) (DirWriter, error) {
	dw, _, err := w.writableDirStat(dir)
	return dw, err
}

func (w *walker) writableDirStat(dir *Dentry) (DirWriter, unix.Stat_t, error) {
	st, err := w.mayWriteDir(dir)
	if err != nil {
		return nil, st, err
	}
	dw, ok := dir.inode.(DirWriter)
	if !ok {
		return nil, st, unix.EROFS
	}
	return dw, st, nil
}

// mayWriteDir checks that the mount of dir is writable, dir is not
// immutable and creds may write and search it, and returns its stat.
func (w *walker) mayWriteDir(dir *Dentry) (unix.Stat_t, error) {
	st, err := dir.inode.Stat(w.ctx)
	if err != nil {
		return st, err
	}
	return st, w.mayWriteDirStat(dir, &st)
}

// mayWriteDirStat is mayWriteDir for a directory whose stat is st.
func (w *walker) mayWriteDirStat(dir *Dentry, st *unix.Stat_t) error {
	if dir.readOnly() {
		return unix.EROFS
	}
	if err := immutableErr(dir.inode); err != nil {
		return err
	}
	return permission(w.creds, st, mayWrite|mayExec)
}

// mayDelete checks that the caller may remove (or rename away) victim
// from dir (may_delete): write and search permission on dir, a dir that
// is not append-only, a victim neither append-only nor immutable, and in
// a sticky directory the ownership check_sticky asks for (EPERM).
func (w *walker) mayDelete(dir, victim *Dentry) (DirWriter, error) {
	dw, dst, err := w.writableDirStat(dir)
	if err != nil {
		return nil, err
	}
	if isAppend(dir.inode) {
		return nil, unix.EPERM
	}
	vst, err := victim.inode.Stat(w.ctx)
	if err != nil {
		return nil, err
	}
	if stickyDenies(w.creds, &dst, &vst) || inodeFlags(victim.inode)&(abi.FS_APPEND_FL|abi.FS_IMMUTABLE_FL) != 0 {
		return nil, unix.EPERM
	}
	return dw, nil
}

// openDentry opens a resolved dentry for creds.
func (v *VFS) openDentry(ctx context.Context, creds Creds, d *Dentry, flags int, created bool) (*File, error) {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return nil, err
	}
	if flags&(unix.O_DIRECTORY|abi.O_TMPFILE_BIT) == unix.O_DIRECTORY && !IsDir(st.Mode) {
		return nil, unix.ENOTDIR
	}
	if flags&unix.O_PATH != 0 {
		return NewFile(v, d.named(), d.inode, nil, flags), nil
	}
	if IsSymlink(st.Mode) {
		return nil, unix.ELOOP
	}
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	if IsDir(st.Mode) {
		if acc != unix.O_RDONLY || flags&unix.O_CREAT != 0 {
			return nil, unix.EISDIR
		}
	}
	if acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		if err := d.writeErr(st.Mode); err != nil {
			return nil, err
		}
		if err := immutableErr(d.inode); err != nil {
			return nil, err
		}
	}
	if !created {
		want := uint32(0)
		if acc != unix.O_WRONLY {
			want |= mayRead
		}
		if acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
			want |= mayWrite
		}
		if err := permission(creds, &st, want); err != nil {
			return nil, err
		}
	}
	// An append-only file opens for writing only to append (may_open).
	if isAppend(d.inode) && (acc != unix.O_RDONLY && flags&unix.O_APPEND == 0 || flags&unix.O_TRUNC != 0) {
		return nil, unix.EPERM
	}
	// O_NOATIME is for the owner (or CAP_FOWNER), as may_open says.
	if flags&unix.O_NOATIME != 0 && !creds.ownerOrCapable(&st) {
		return nil, unix.EPERM
	}
	if IsDir(st.Mode) {
		v.inodeEvent(ctx, d, d.inode, unix.IN_OPEN)
		return NewFile(v, d, d.inode, nil, flags|linux.O_LARGEFILE), nil
	}
	return v.openNonDir(ctx, creds, d, &st, flags)
}

// openNonDir opens a non-directory with stat st that passed may_open's
// checks, as do_dentry_open and do_open do: the file a writer first if
// it is a regular file opened for writing (ETXTBSY), then opened by its
// filesystem, counted for leases, whose holders must give way, and
// truncated for O_TRUNC.
func (v *VFS) openNonDir(ctx context.Context, creds Creds, d *Dentry, st *unix.Stat_t, flags int) (*File, error) {
	acc := flags & unix.O_ACCMODE
	regular := st.Mode&unix.S_IFMT == unix.S_IFREG
	k, hold := lockKey{st.Dev, st.Ino}, 0
	if acc != unix.O_RDONLY && regular {
		if err := v.writes.get(k); err != nil {
			return nil, err
		}
		hold = 1
	}
	impl, err := v.openImpl(ctx, d, st, flags)
	if err != nil {
		v.writes.drop(k, hold)
		return nil, err
	}
	// open(2) on 64-bit forces O_LARGEFILE (force_o_largefile), the
	// kernel's 0o100000, which x/sys/unix calls 0 on amd64.
	f := NewFile(v, d.named(), d.inode, impl, flags&^openFlagsIgnored|flags&(unix.O_DIRECT|unix.O_NOATIME|unix.O_ASYNC)|linux.O_LARGEFILE)
	f.holdWrite(k, hold)
	if regular {
		// Counted after its write access, as Linux takes that before it
		// breaks leases: a holder cannot downgrade against this open.
		v.leases.countOpen(f, k)
		if err := v.leases.breakLeases(ctx, k, f, acc != unix.O_RDONLY, flags&unix.O_NONBLOCK != 0); err != nil {
			f.DecRef()
			return nil, err
		}
	}
	if flags&unix.O_TRUNC != 0 && regular {
		if err := v.openTruncate(ctx, creds, d.inode, st, hold == 1); err != nil {
			f.DecRef()
			return nil, err
		}
	}
	v.inodeEvent(ctx, d, d.inode, unix.IN_OPEN)
	return f, nil
}

// openTruncate is O_TRUNC on a regular file with stat st just opened
// (handle_truncate), whatever the access mode. An open for writing is a
// writer of the file already; one for reading only is a writer while it
// truncates: ETXTBSY while the file runs.
func (v *VFS) openTruncate(ctx context.Context, creds Creds, i Inode, st *unix.Stat_t, writer bool) error {
	truncate := func() error {
		if st.Size == 0 {
			return nil
		}
		return setAttr(ctx, creds, i, Attr{Mask: AttrSize})
	}
	if writer {
		return truncate()
	}
	return v.whileWriting(st, truncate)
}

// openImpl opens a non-directory: FIFOs through the FIFO opener and
// device nodes through the device opener if there are, everything else
// through its filesystem.
func (v *VFS) openImpl(ctx context.Context, d *Dentry, st *unix.Stat_t, flags int) (FileImpl, error) {
	inode := d.inode
	switch typ := st.Mode & unix.S_IFMT; {
	case d.mnt == anonMount:
		// An anonymous pipe (or socket...) opened again through
		// /proc/PID/fd: its own inode knows what that opens.
	case typ == unix.S_IFIFO && v.fifos != nil:
		return v.fifos.OpenFIFO(ctx, st.Dev, st.Ino, flags)
	case (typ == unix.S_IFCHR || typ == unix.S_IFBLK) && v.devices != nil:
		if _, own := inode.(OwnDevice); !own {
			return v.devices.OpenDevice(ctx, typ, st.Rdev, flags)
		}
	}
	return inode.Open(ctx, flags)
}

// OwnDevice is a device node its filesystem opens, not the device opener:
// the ptmx and slaves of a devpts instance, whose device numbers every
// instance shares.
type OwnDevice interface {
	Inode
	OwnDevice()
}

// Lookup resolves path relative to dir (nil: the working directory) for
// creds, following a final symlink if follow is set.
func (v *VFS) Lookup(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, follow bool) (*Dentry, error) {
	start, err := startAt(fsc, dir)
	if err != nil {
		return nil, err
	}
	return v.walker(ctx, creds, fsc).lookup(start, path, follow)
}

// StatAt implements fstatat(2) for a non-empty path.
func (v *VFS) StatAt(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, follow bool) (unix.Stat_t, error) {
	d, err := v.Lookup(ctx, creds, fsc, dir, path, follow)
	if err != nil {
		return unix.Stat_t{}, err
	}
	return d.inode.Stat(ctx)
}

// Statfs implements statfs(2) on the filesystem holding d, with the
// flags of its mount.
func (v *VFS) Statfs(ctx context.Context, d *Dentry) (unix.Statfs_t, error) {
	s, err := d.mnt.FS.Statfs(ctx)
	s.Flags |= d.mountStatfsFlags()
	return s, err
}

// Readlink implements readlinkat(2).
func (v *VFS) Readlink(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string) (string, error) {
	d, err := v.Lookup(ctx, creds, fsc, dir, path, false)
	if err != nil {
		return "", err
	}
	return ReadlinkDentry(ctx, d)
}

// ReadlinkDentry reads the symlink d (EINVAL if it is not one).
func ReadlinkDentry(ctx context.Context, d *Dentry) (string, error) {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return "", err
	}
	if !IsSymlink(st.Mode) {
		return "", unix.EINVAL
	}
	target, err := readlink(ctx, d.inode)
	if err == nil {
		touchAtime(d, d.inode)
	}
	return target, err
}

// Access implements faccessat2(2): mode is F_OK or a mix of R_OK, W_OK
// and X_OK, checked against creds (faccessat's real IDs, or the effective
// ones, as the caller chose), which also walk the path.
func (v *VFS) Access(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, mode uint32, follow bool) error {
	d, err := v.Lookup(ctx, creds, fsc, dir, path, follow)
	if err != nil {
		return err
	}
	return AccessDentry(ctx, creds, d, mode)
}

// AccessDentry checks access mode (R_OK|W_OK|X_OK) to d for creds.
func AccessDentry(ctx context.Context, creds Creds, d *Dentry, mode uint32) error {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if mode&unix.W_OK != 0 && isImmutable(d.inode) {
		if err := d.writeErr(st.Mode); err != nil {
			return err
		}
		return unix.EPERM
	}
	if err := permission(creds, &st, mode&7); err != nil {
		return err
	}
	if mode&unix.W_OK != 0 {
		if err := d.writeErr(st.Mode); err != nil {
			return err
		}
		_, attrs := d.inode.(AttrSetter)
		w, contents := d.inode.(ContentWriter)
		if !attrs && !IsDir(st.Mode) && !(contents && w.Writable()) {
			return unix.EROFS
		}
	}
	return nil
}

// Mkdir implements mkdirat(2).
func (v *VFS) Mkdir(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, mode uint32) error {
	w, parent, name, err := v.parentForCreate(ctx, creds, fsc, dir, path)
	if err != nil {
		return err
	}
	dw, err := w.writableDir(parent)
	if err != nil {
		return err
	}
	return v.entryEvent(ctx, dw.Mkdir(ctx, creds, name, mode&0o7777&^fsc.Umask()), parent, name, unix.IN_CREATE|unix.IN_ISDIR)
}

// Mknod implements mknodat(2) for regular files and FIFOs.
func (v *VFS) Mknod(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, mode uint32, rdev uint64) error {
	switch mode & unix.S_IFMT {
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR, unix.S_IFBLK:
	case unix.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	w, parent, name, err := v.parentForCreate(ctx, creds, fsc, dir, path)
	if err != nil {
		return err
	}
	dw, st, err := w.writableDirStat(parent)
	if err != nil {
		return err
	}
	if t := mode & unix.S_IFMT; (t == unix.S_IFCHR || t == unix.S_IFBLK) && !creds.HasCap(linux.CAP_MKNOD) {
		// Device nodes need CAP_MKNOD, checked after the directory's
		// permissions (vfs_mknod). A node opens the device of /dev its
		// numbers name, if any (DeviceOpener).
		return unix.EPERM
	}
	_, err = dw.Create(ctx, creds, name, createMode(creds, &st, mode&(unix.S_IFMT|0o7777), fsc.Umask()), rdev)
	return v.entryEvent(ctx, err, parent, name, unix.IN_CREATE)
}

// Symlink implements symlinkat(2).
func (v *VFS) Symlink(ctx context.Context, creds Creds, fsc *FSContext, target string, dir *File, path string) error {
	if target == "" {
		return unix.ENOENT
	}
	w, parent, name, err := v.parentForCreate(ctx, creds, fsc, dir, path)
	if err != nil {
		return err
	}
	dw, err := w.writableDir(parent)
	if err != nil {
		return err
	}
	return v.entryEvent(ctx, dw.Symlink(ctx, creds, name, target), parent, name, unix.IN_CREATE)
}

// parentForCreate resolves the directory a new name goes in: EEXIST when
// the name exists (even as a dangling symlink), as mkdir and friends say.
func (v *VFS) parentForCreate(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string) (*walker, *Dentry, string, error) {
	start, err := startAt(fsc, dir)
	if err != nil {
		return nil, nil, "", err
	}
	w := v.walker(ctx, creds, fsc)
	parent, name, _, err := w.walkParent(start, path)
	if err != nil {
		return nil, nil, "", err
	}
	if name == "" || name == "." || name == ".." {
		return nil, nil, "", unix.EEXIST
	}
	if _, err := w.step(parent, name); err == nil {
		return nil, nil, "", unix.EEXIST
	} else if err != unix.ENOENT {
		return nil, nil, "", err
	}
	return w, parent, name, nil
}

// parentForRemove resolves the directory and name that unlink, rmdir and
// rename act on, and the dentry the name refers to (without following).
func (v *VFS) parentForRemove(w *walker, fsc *FSContext, dir *File, path string) (*Dentry, string, *Dentry, bool, error) {
	start, err := startAt(fsc, dir)
	if err != nil {
		return nil, "", nil, false, err
	}
	parent, name, trailing, err := w.walkParent(start, path)
	if err != nil {
		return nil, "", nil, false, err
	}
	switch name {
	case "", ".":
		return nil, "", nil, false, unix.EINVAL
	case "..":
		return nil, "", nil, false, unix.ENOTEMPTY
	}
	if parent.readOnly() {
		return nil, "", nil, false, unix.EROFS
	}
	d, err := w.step(parent, name)
	if err != nil {
		return nil, "", nil, false, err
	}
	return parent, name, d, trailing, nil
}

// Unlink implements unlinkat(2) without AT_REMOVEDIR.
func (v *VFS) Unlink(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string) error {
	w := v.walker(ctx, creds, fsc)
	parent, name, d, trailing, err := v.parentForRemove(w, fsc, dir, path)
	if err == unix.EINVAL || err == unix.ENOTEMPTY {
		return unix.EISDIR
	}
	if err != nil {
		return err
	}
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if IsDir(st.Mode) {
		return unix.EISDIR
	}
	if trailing {
		return unix.ENOTDIR
	}
	if v.mountedAt(d) != nil || d.mnt != parent.mnt {
		// A file something is mounted on: the walk crossed into the
		// mount (is_local_mountpoint).
		return unix.EBUSY
	}
	dw, err := w.mayDelete(parent, d)
	if err != nil {
		return err
	}
	key, _ := v.keyForRemoval(ctx, d)
	return v.removed(ctx, dw.Unlink(ctx, name), parent, name, d.inode, key, false)
}

// Rmdir implements unlinkat(2) with AT_REMOVEDIR.
func (v *VFS) Rmdir(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string) error {
	w := v.walker(ctx, creds, fsc)
	parent, name, d, _, err := v.parentForRemove(w, fsc, dir, path)
	if err != nil {
		return err
	}
	if err := w.checkDir(d); err != nil {
		return err
	}
	if d.parent == nil || v.mountedAt(d) != nil || d.mnt != parent.mnt {
		return unix.EBUSY
	}
	dw, err := w.mayDelete(parent, d)
	if err != nil {
		return err
	}
	key, _ := v.keyForRemoval(ctx, d)
	return v.removed(ctx, dw.Rmdir(ctx, name), parent, name, d.inode, key, true)
}

// Rename implements renameat2(2).
func (v *VFS) Rename(ctx context.Context, creds Creds, fsc *FSContext, oldDir *File, oldPath string, newDir *File, newPath string, flags uint32) error {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 || flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return unix.EINVAL
	}
	w := v.walker(ctx, creds, fsc)
	op, oname, od, otrail, err := v.parentForRemove(w, fsc, oldDir, oldPath)
	if err != nil {
		return renameNameErr(err)
	}
	start, err := startAt(fsc, newDir)
	if err != nil {
		return err
	}
	np, nname, ntrail, err := w.walkParent(start, newPath)
	if err != nil {
		return err
	}
	switch nname {
	case "", ".", "..":
		return unix.EBUSY
	}
	if op.mnt != np.mnt {
		return unix.EXDEV
	}
	ost, err := od.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if (otrail || ntrail) && !IsDir(ost.Mode) {
		return unix.ENOTDIR
	}
	if v.isMountPoint(od) || od.mnt != op.mnt {
		return unix.EBUSY
	}
	nd, err := w.step(np, nname)
	switch {
	case err == nil:
		if v.isMountPoint(nd) || nd.mnt != np.mnt {
			return unix.EBUSY
		}
	case err != unix.ENOENT:
		return err
	}
	if IsDir(ost.Mode) && isAncestor(od, np) {
		return unix.EINVAL
	}
	if nd != nil && flags&unix.RENAME_EXCHANGE != 0 {
		if nst, err := nd.inode.Stat(ctx); err == nil && IsDir(nst.Mode) && isAncestor(nd, op) {
			return unix.EINVAL
		}
	}
	odw, err := w.mayRename(op, od, &ost, np, nd, flags)
	if err != nil {
		return err
	}
	return v.moved(ctx, odw.Rename(ctx, oname, np.inode, nname, flags), op, oname, np, nname, od.inode)
}

// mayRename checks what vfs_rename asks of the caller: removing od from
// op and, at the new place, removing what nd is (or creating a name in
// np); a directory that changes parent needs write permission on itself,
// for its "..", and so does a directory it is exchanged with.
func (w *walker) mayRename(op, od *Dentry, ost *unix.Stat_t, np, nd *Dentry, flags uint32) (DirWriter, error) {
	odw, err := w.mayDelete(op, od)
	if err != nil {
		return nil, err
	}
	if nd != nil {
		_, err = w.mayDelete(np, nd)
	} else {
		_, err = w.writableDir(np)
	}
	if err != nil {
		return nil, err
	}
	if op.mnt == np.mnt && sameInode(op.inode, np.inode) {
		return odw, nil
	}
	if IsDir(ost.Mode) {
		if err := permission(w.creds, ost, mayWrite); err != nil {
			return nil, err
		}
	}
	if nd != nil && flags&unix.RENAME_EXCHANGE != 0 {
		nst, err := nd.inode.Stat(w.ctx)
		if err != nil {
			return nil, err
		}
		if IsDir(nst.Mode) {
			if err := permission(w.creds, &nst, mayWrite); err != nil {
				return nil, err
			}
		}
	}
	return odw, nil
}

func renameNameErr(err error) error {
	if err == unix.EINVAL || err == unix.ENOTEMPTY {
		return unix.EBUSY
	}
	return err
}

// isAncestor reports whether a is d or one of d's parents (now) in the
// same mount.
func isAncestor(a, d *Dentry) bool {
	for d = d.current(); d != nil; d = d.parent {
		if d.mnt == a.mnt && sameInode(d.inode, a.inode) {
			return true
		}
	}
	return false
}

// Link implements linkat(2); follow is AT_SYMLINK_FOLLOW.
func (v *VFS) Link(ctx context.Context, creds Creds, fsc *FSContext, oldDir *File, oldPath string, newDir *File, newPath string, follow bool) error {
	old, err := v.Lookup(ctx, creds, fsc, oldDir, oldPath, follow)
	if err != nil {
		return err
	}
	return v.LinkDentry(ctx, creds, fsc, old, newDir, newPath)
}

// LinkDentry gives old the new name newPath (linkat with AT_EMPTY_PATH).
func (v *VFS) LinkDentry(ctx context.Context, creds Creds, fsc *FSContext, old *Dentry, newDir *File, newPath string) error {
	st, err := old.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if IsDir(st.Mode) {
		return unix.EPERM
	}
	w, parent, name, err := v.parentForCreate(ctx, creds, fsc, newDir, newPath)
	if err != nil {
		return err
	}
	if parent.mnt != old.mnt {
		return unix.EXDEV
	}
	if !mayLink(creds, &st) {
		return unix.EPERM
	}
	dw, err := w.writableDir(parent)
	if err != nil {
		return err
	}
	// No link to an append-only or immutable file (vfs_link).
	if inodeFlags(old.inode)&(abi.FS_APPEND_FL|abi.FS_IMMUTABLE_FL) != 0 {
		return unix.EPERM
	}
	if err := v.entryEvent(ctx, dw.Link(ctx, name, old.inode), parent, name, unix.IN_CREATE); err != nil {
		return err
	}
	v.inodeEvent(ctx, nil, old.inode, unix.IN_ATTRIB) // the link count
	return nil
}

// SetAttrAt changes the attributes of path for creds (chmod, chown,
// truncate, utimensat). Truncating a path needs write permission on it
// (vfs_truncate), after the checks of its type.
func (v *VFS) SetAttrAt(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, follow bool, a Attr) error {
	d, err := v.Lookup(ctx, creds, fsc, dir, path, follow)
	if err != nil {
		return err
	}
	return v.SetAttrDentry(ctx, creds, d, a)
}

// SetAttrDentry is SetAttrAt on a resolved dentry (fchmodat2's
// AT_EMPTY_PATH on an O_PATH descriptor).
func (v *VFS) SetAttrDentry(ctx context.Context, creds Creds, d *Dentry, a Attr) error {
	// A read-only mount refuses any change (mnt_want_write); a
	// truncation checks its target first.
	if a.Mask&AttrSize != 0 {
		return v.truncateDentry(ctx, creds, d, a)
	}
	if d.readOnly() {
		return unix.EROFS
	}
	return v.attrEvent(ctx, setAttr(ctx, creds, d.inode, a), d, d.inode, a)
}

// truncateDentry is SetAttrDentry of a size, truncate(2) (vfs_truncate):
// the checks of the file's type and length, a writable mount, a file
// neither immutable nor append-only that creds may write; then it is a
// writer of the file (ETXTBSY while the file runs) that breaks its
// leases as a write open does.
func (v *VFS) truncateDentry(ctx context.Context, creds Creds, d *Dentry, a Attr) error {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if err := checkTruncate(&st, a.Size); err != nil {
		return err
	}
	if d.readOnly() {
		return unix.EROFS
	}
	if err := immutableErr(d.inode); err != nil {
		return err
	}
	if err := permission(creds, &st, mayWrite); err != nil {
		return err
	}
	if isAppend(d.inode) {
		return unix.EPERM
	}
	return v.whileWriting(&st, func() error {
		// truncate(2) breaks leases as a write open does.
		if err := v.leases.breakForTruncate(ctx, lockKey{st.Dev, st.Ino}); err != nil {
			return err
		}
		return v.attrEvent(ctx, setAttr(ctx, creds, d.inode, a), d, d.inode, a)
	})
}

// checkTruncate is what truncate and ftruncate ask of the file: a regular
// file and a length that is not negative.
func checkTruncate(st *unix.Stat_t, size int64) error {
	switch {
	case IsDir(st.Mode):
		return unix.EISDIR
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return unix.EINVAL
	case size < 0:
		return unix.EINVAL
	}
	return nil
}

// setAttr checks creds against the rules every filesystem shares
// (notify_change and setattr_prepare) and applies a: chown needs
// CAP_CHOWN, except that the owner may give the file to a group of theirs;
// chmod needs the owner or CAP_FOWNER, and drops the set-group-ID bit when
// the caller is not in the file's group and lacks CAP_FSETID; explicit
// times need the owner or CAP_FOWNER, the current time also write
// permission. A chown of anything but a directory clears the set-user-ID
// bit, and the set-group-ID bit of a group-executable file, whoever asks.
func setAttr(ctx context.Context, creds Creds, i Inode, a Attr) error {
	st, err := i.Stat(ctx)
	if err != nil {
		return err
	}
	if a.Mask&AttrSize != 0 {
		if err := checkTruncate(&st, a.Size); err != nil {
			return err
		}
		if a.SizeLimit != nil && a.Size > st.Size && uint64(a.Size) > *a.SizeLimit {
			return ErrSizeLimit
		}
	}
	if err := maySetAttr(i, a); err != nil {
		return err
	}
	if a.Mask&(AttrUID|AttrGID) != 0 && !IsDir(st.Mode) {
		a = dropSetIDOnChown(&st, a)
	}
	if a.Mask&AttrUID != 0 && !chownOK(creds, &st, a.UID) {
		return unix.EPERM
	}
	if a.Mask&AttrGID != 0 && !chgrpOK(creds, &st, a.GID) {
		return unix.EPERM
	}
	if a.Mask&AttrMode != 0 {
		if !creds.ownerOrCapable(&st) {
			return unix.EPERM
		}
		gid := st.Gid
		if a.Mask&AttrGID != 0 {
			gid = a.GID
		}
		if !creds.InGroup(gid) && !creds.capableWrt(linux.CAP_FSETID, &st) {
			a.Mode &^= unix.S_ISGID
		}
	}
	if a.Mask&(AttrAtime|AttrMtime) != 0 && !creds.ownerOrCapable(&st) {
		if a.TimesGiven {
			return unix.EPERM
		}
		if err := permission(creds, &st, mayWrite); err != nil {
			return err
		}
	}
	s, ok := i.(AttrSetter)
	if !ok {
		return unix.EROFS
	}
	return s.SetAttr(ctx, a)
}

// maySetAttr is may_setattr: the mode, owner and explicit times of an
// immutable or append-only file do not change, nor the times of an
// immutable one (EPERM).
func maySetAttr(i Inode, a Attr) error {
	flags := inodeFlags(i)
	times := a.Mask&(AttrAtime|AttrMtime) != 0
	if (a.Mask&(AttrMode|AttrUID|AttrGID) != 0 || times && a.TimesGiven) && flags&(abi.FS_APPEND_FL|abi.FS_IMMUTABLE_FL) != 0 {
		return unix.EPERM
	}
	if times && flags&abi.FS_IMMUTABLE_FL != 0 {
		return unix.EPERM
	}
	return nil
}

// chownOK is chown_ok: the owner may "change" the owner to itself;
// anything else needs CAP_CHOWN.
func chownOK(c Creds, st *unix.Stat_t, uid uint32) bool {
	return c.uid == st.Uid && uid == st.Uid || c.capableWrt(linux.CAP_CHOWN, st)
}

// chgrpOK is chgrp_ok: the owner may give the file to a group it is in
// (or leave it in its group); anything else needs CAP_CHOWN.
func chgrpOK(c Creds, st *unix.Stat_t, gid uint32) bool {
	return c.uid == st.Uid && (gid == st.Gid || c.InGroup(gid)) || c.capableWrt(linux.CAP_CHOWN, st)
}

// dropSetIDOnChown adds to a chown of a non-directory the mode change
// notify_change makes (ATTR_KILL_SUID, ATTR_KILL_SGID): no set-user-ID
// bit, and no set-group-ID bit if the group may execute the file.
func dropSetIDOnChown(st *unix.Stat_t, a Attr) Attr {
	mode := st.Mode & 0o7777
	if a.Mask&AttrMode != 0 {
		mode = a.Mode
	}
	kill := uint32(unix.S_ISUID)
	if mode&unix.S_IXGRP != 0 {
		kill |= unix.S_ISGID
	}
	if mode&kill == 0 {
		return a
	}
	a.Mask |= AttrMode
	a.Mode = mode &^ kill
	return a
}

// mayLink is may_linkat with fs.protected_hardlinks set, as distributions
// set it: a hard link to a file the caller does not own needs a regular
// file without set-ID execution that the caller may read and write, or
// CAP_FOWNER.
func mayLink(c Creds, st *unix.Stat_t) bool {
	if c.ownerOrCapable(st) {
		return true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&unix.S_ISUID != 0 {
		return false
	}
	if st.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		return false
	}
	return permission(c, st, mayRead|mayWrite) == nil
}

// Now returns the current time as a Timespec (for filesystems).
func Now() unix.Timespec { return unix.NsecToTimespec(clocks.Realtime().UnixNano()) }

// Chdir implements chdir(2) on path.
func (v *VFS) Chdir(ctx context.Context, creds Creds, fsc *FSContext, path string) error {
	d, err := v.Lookup(ctx, creds, fsc, nil, path, true)
	if err != nil {
		return err
	}
	return ChdirDentry(ctx, creds, fsc, d)
}

// ChdirDentry makes d the working directory (fchdir).
func ChdirDentry(ctx context.Context, creds Creds, fsc *FSContext, d *Dentry) error {
	if err := CheckSearchable(ctx, creds, d); err != nil {
		return err
	}
	fsc.SetCwd(d)
	return nil
}

// CheckSearchable fails unless d is a directory (ENOTDIR) that creds may
// search (EACCES): what chdir and chroot ask of their target.
func CheckSearchable(ctx context.Context, creds Creds, d *Dentry) error {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return err
	}
	if !IsDir(st.Mode) {
		return unix.ENOTDIR
	}
	return permission(creds, &st, mayExec)
}
