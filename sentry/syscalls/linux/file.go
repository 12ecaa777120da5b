package linux

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// File-family handlers: descriptors, reads and writes, open and close.
// Paths, stat and directories are in file_stat.go and file_dir.go; fcntl,
// ioctl and locks in file_control.go; sendfile and friends in
// file_transfer.go.

func registerFile(st *kernel.SyscallTable) {
	fd, path, hex, oct, i := kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgOct, kernel.ArgInt
	reg(st, unix.SYS_OPEN, "open", open, path, hex, oct)
	reg(st, unix.SYS_OPENAT, "openat", openat, fd, path, hex, oct)
	reg(st, unix.SYS_OPENAT2, "openat2", openat2, fd, path, hex, i)
	reg(st, unix.SYS_CREAT, "creat", creat, path, oct)
	reg(st, unix.SYS_CLOSE, "close", closeFD, fd)
	reg(st, unix.SYS_CLOSE_RANGE, "close_range", closeRange, fd, fd, hex)
	reg(st, unix.SYS_READ, "read", read, fd, hex, i)
	reg(st, unix.SYS_WRITE, "write", write, fd, hex, i)
	reg(st, unix.SYS_PREAD64, "pread64", pread64, fd, hex, i, i)
	reg(st, unix.SYS_PWRITE64, "pwrite64", pwrite64, fd, hex, i, i)
	reg(st, unix.SYS_READV, "readv", readv, fd, hex, i)
	reg(st, unix.SYS_WRITEV, "writev", writev, fd, hex, i)
	reg(st, unix.SYS_PREADV, "preadv", preadv, fd, hex, i, i)
	reg(st, unix.SYS_PWRITEV, "pwritev", pwritev, fd, hex, i, i)
	partial(st, unix.SYS_PREADV2, "preadv2", preadv2, "flags must be 0", fd, hex, i, i, i, hex)
	partial(st, unix.SYS_PWRITEV2, "pwritev2", pwritev2, "flags must be 0", fd, hex, i, i, i, hex)
	reg(st, unix.SYS_LSEEK, "lseek", lseek, fd, i, i)
	reg(st, unix.SYS_DUP, "dup", dup, fd)
	reg(st, unix.SYS_DUP2, "dup2", dup2, fd, fd)
	reg(st, unix.SYS_DUP3, "dup3", dup3, fd, fd, hex)
	reg(st, unix.SYS_FSYNC, "fsync", fsync, fd)
	reg(st, unix.SYS_FDATASYNC, "fdatasync", fsync, fd)
	reg(st, unix.SYS_SYNC, "sync", sync)
	reg(st, unix.SYS_SYNCFS, "syncfs", syncfs, fd)
	reg(st, unix.SYS_FTRUNCATE, "ftruncate", ftruncate, fd, i)
	reg(st, unix.SYS_TRUNCATE, "truncate", truncate, path, i)
	reg(st, unix.SYS_FALLOCATE, "fallocate", fallocate, fd, hex, i, i)
	reg(st, unix.SYS_UMASK, "umask", umask, oct)
}

// copyInPath reads a path argument.
func copyInPath(t *kernel.Task, addr uintptr) (string, error) {
	return t.CopyInString(addr, unix.PathMax-1)
}

// getFile returns the file at fd with a reference the caller drops, as
// Linux's fdget: an O_PATH descriptor only names a file, and every syscall
// that would use it as an open file fails with EBADF.
func getFile(t *kernel.Task, fd int32) (*vfs.File, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return nil, err
	}
	if f.Flags()&unix.O_PATH != 0 {
		f.DecRef()
		return nil, unix.EBADF
	}
	return f, nil
}

// getFileRaw returns the file at fd, O_PATH descriptors included, as
// Linux's fdget_raw, for the syscalls that take them: fstat, fstatfs,
// fchdir, fcntl's descriptor commands, execveat and SCM_RIGHTS.
func getFileRaw(t *kernel.Task, fd int32) (*vfs.File, error) { return t.FDs().Get(fd) }

// atDir returns the directory a *at syscall starts from: nil for
// AT_FDCWD. The caller releases it with putFile.
func atDir(t *kernel.Task, dirfd int32, path string) (*vfs.File, error) {
	if dirfd == unix.AT_FDCWD || strings.HasPrefix(path, "/") {
		// An absolute path ignores dirfd, even a bad one.
		return nil, nil
	}
	return t.FDs().Get(dirfd)
}

// putFile drops a reference taken by getFile or atDir.
func putFile(f *vfs.File) {
	if f != nil {
		f.DecRef()
	}
}

// pathAt reads the path at addr and resolves dirfd, then runs fn.
func pathAt(t *kernel.Task, dirfd int32, addr uintptr, fn func(ctx context.Context, dir *vfs.File, path string) error) error {
	path, err := copyInPath(t, addr)
	if err != nil {
		return err
	}
	dir, err := atDir(t, dirfd, path)
	if err != nil {
		return err
	}
	defer putFile(dir)
	return fn(t.Ctx(), dir, path)
}

func openat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, a.Int(0), a.Pointer(1), int(a.Int(2)), a.Uint(3))
}

// openFlags are the flags open(2) knows (VALID_OPEN_FLAGS): openat2
// refuses any other.
const openFlags = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC | unix.O_APPEND |
	unix.O_NONBLOCK | unix.O_SYNC | unix.O_DSYNC | unix.O_ASYNC | unix.O_DIRECT | unix.O_LARGEFILE |
	unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_PATH | unix.O_TMPFILE

// openPathFlags are the flags O_PATH goes with (O_PATH_FLAGS).
const openPathFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_PATH | unix.O_CLOEXEC

// openCreateFlags are the flags that make a file (WILL_CREATE).
const openCreateFlags = unix.O_CREAT | abi.O_TMPFILE_BIT

// openat2 reads a struct open_how of size bytes (EINVAL below its first
// version's 24, E2BIG above a page or with non-zero bytes past the ones
// this kernel knows) and checks it strictly, as build_open_flags does:
// unknown flags, a mode without O_CREAT or O_TMPFILE, unknown or
// contradictory RESOLVE_* flags are EINVAL.
func openat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	howAddr, size := a.Pointer(2), uint64(a.Pointer(3))
	switch {
	case size < linux.OPEN_HOW_SIZE_VER0:
		return 0, unix.EINVAL
	case size > abi.PageSize:
		return 0, unix.E2BIG
	}
	var how linux.OpenHow
	if err := kernel.CopyInExtensible(t, howAddr, int(size), &how); err != nil {
		return 0, err
	}
	flags := how.Flags
	switch {
	case flags&^uint64(openFlags) != 0,
		flags&unix.O_PATH != 0 && flags&^openPathFlags != 0,
		flags&openCreateFlags != 0 && how.Mode&^0o7777 != 0,
		flags&openCreateFlags == 0 && how.Mode != 0,
		how.Resolve&^vfs.ResolveFlags != 0,
		how.Resolve&linux.RESOLVE_BENEATH != 0 && how.Resolve&linux.RESOLVE_IN_ROOT != 0:
		return 0, unix.EINVAL
	}
	open := func(ctx context.Context, dir *vfs.File, path string) (*vfs.File, error) {
		return t.K.VFS.OpenResolve(ctx, t.FSCreds(), t.FS(), dir, path, int(flags), uint32(how.Mode), how.Resolve)
	}
	if how.Resolve&linux.RESOLVE_IN_ROOT != 0 && a.Int(0) != unix.AT_FDCWD {
		// The descriptor is the root even of an absolute path.
		dir, err := t.FDs().Get(a.Int(0))
		if err != nil {
			return 0, err
		}
		defer dir.DecRef()
		open = func(ctx context.Context, _ *vfs.File, path string) (*vfs.File, error) {
			return t.K.VFS.OpenResolve(ctx, t.FSCreds(), t.FS(), dir, path, int(flags), uint32(how.Mode), how.Resolve)
		}
	}
	return openInstall(t, a.Int(0), a.Pointer(1), int(flags), open)
}

// openInstall resolves dirfd and the path at addr, opens with open and
// installs the file as the lowest free descriptor.
func openInstall(t *kernel.Task, dirfd int32, addr uintptr, flags int, open func(ctx context.Context, dir *vfs.File, path string) (*vfs.File, error)) (uintptr, error) {
	var fd int32
	err := pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		f, err := open(ctx, dir, path)
		if err != nil {
			return err
		}
		defer f.DecRef()
		fd, err = t.FDs().Install(f, 0, flags&unix.O_CLOEXEC != 0)
		if err == unix.EINVAL {
			err = unix.EMFILE
		}
		return err
	})
	return uintptr(fd), err
}

func open(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a.Pointer(0), int(a.Int(1)), a.Uint(2))
}

func creat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a.Pointer(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, a.Uint(1))
}

func doOpen(t *kernel.Task, dirfd int32, addr uintptr, flags int, mode uint32) (uintptr, error) {
	return openInstall(t, dirfd, addr, flags, func(ctx context.Context, dir *vfs.File, path string) (*vfs.File, error) {
		return t.K.VFS.Open(ctx, t.FSCreds(), t.FS(), dir, path, flags, mode)
	})
}

func closeFD(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.FDs().Close(a.Int(0))
}

func closeRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	first, last, flags := a.Uint(0), a.Uint(1), a.Uint(2)
	if flags&^(unix.CLOSE_RANGE_CLOEXEC|unix.CLOSE_RANGE_UNSHARE) != 0 || first > last {
		return 0, unix.EINVAL
	}
	if flags&unix.CLOSE_RANGE_UNSHARE != 0 {
		t.UnshareFDs()
	}
	t.FDs().CloseRange(first, last, flags&unix.CLOSE_RANGE_CLOEXEC != 0)
	return 0, nil
}

// rwLen validates the count of a transfer between files (sendfile,
// splice, copy_file_range): EINVAL if negative as a ssize_t, then cut to
// MAX_RW_COUNT.
func rwLen(n int64) (int, error) {
	if n < 0 {
		return 0, unix.EINVAL
	}
	return int(min(n, usermem.MaxRW)), nil
}

// ioResult is a read's or write's return: the count, or the error if
// nothing moved.
func ioResult(n int, err error) (uintptr, error) {
	if n > 0 {
		return uintptr(n), nil
	}
	return 0, err
}

// getFileFor returns fd's file if it was opened for reading (or, with
// write, for writing): read(2), write(2) and their families fail with EBADF
// before they look at the buffer, as vfs_read checks FMODE_READ before
// access_ok. For a transfer at an offset (off >= 0: pread, pwritev...), a
// file without positions (a pipe, a socket, a terminal) is ESPIPE first,
// as Linux checks FMODE_PREAD before vfs_read's checks.
func getFileFor(t *kernel.Task, fd int32, write bool, off int64) (*vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, err
	}
	if off >= 0 && !positional(f) {
		f.DecRef()
		return nil, unix.ESPIPE
	}
	if (write && !f.Writable()) || (!write && !f.Readable()) {
		f.DecRef()
		return nil, unix.EBADF
	}
	return f, nil
}

// positional reports whether f can be read and written at an offset: not
// a stream, unless it can seek (vfs.Stream).
func positional(f *vfs.File) bool {
	impl := f.Impl()
	_, stream := impl.(vfs.Stream)
	_, seeker := impl.(vfs.Seeker)
	return !stream || seeker
}

func read(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doRead(t, a.Int(0), a.Pointer(1), uint64(a.Int64(2)), -1)
}

func write(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doWrite(t, a.Int(0), a.Pointer(1), uint64(a.Int64(2)), -1)
}

// pread64 with a negative offset is EINVAL before the descriptor is
// looked at, as ksys_pread64 checks it.
func pread64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doRead(t, a.Int(0), a.Pointer(1), uint64(a.Int64(2)), a.Int64(3))
}

func pwrite64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doWrite(t, a.Int(0), a.Pointer(1), uint64(a.Int64(2)), a.Int64(3))
}

// doRead reads into the n bytes at addr, at the file position (off < 0)
// or at off.
func doRead(t *kernel.Task, fd int32, addr uintptr, n uint64, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, false, off)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	dst, err := t.SingleIOSequence(addr, n)
	if err != nil {
		return 0, err
	}
	return readAt(t, f, dst, off)
}

// doWrite writes the n bytes at addr, at the file position (off < 0) or
// at off.
func doWrite(t *kernel.Task, fd int32, addr uintptr, n uint64, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, true, off)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	src, err := t.SingleIOSequence(addr, n)
	if err != nil {
		return 0, err
	}
	return writeAt(t, f, src, off)
}

// readAt reads into dst at the file position (off < 0) or at off. The
// call and its bytes count in /proc/PID/io, as vfs_read counts them once
// the descriptor and buffer passed their checks.
func readAt(t *kernel.Task, f *vfs.File, dst usermem.IOSequence, off int64) (uintptr, error) {
	return readAtCtx(t, t.Ctx(), f, dst, off)
}

// readAtCtx is readAt in ctx (AIO's may be vfs.NoWait's).
func readAtCtx(t *kernel.Task, ctx context.Context, f *vfs.File, dst usermem.IOSequence, off int64) (uintptr, error) {
	var n int
	var err error
	if off < 0 {
		n, err = f.Read(ctx, dst)
	} else {
		n, err = f.PRead(ctx, dst, off)
	}
	t.TG.AccountRead(int64(n))
	return ioResult(n, err)
}

// writeAt writes src at the file position (off < 0) or at off, counted
// in /proc/PID/io as readAt counts reads.
func writeAt(t *kernel.Task, f *vfs.File, src usermem.IOSequence, off int64) (uintptr, error) {
	return writeAtCtx(t, t.Ctx(), f, src, off)
}

// writeAtCtx is writeAt in ctx (AIO's may be vfs.NoWait's).
func writeAtCtx(t *kernel.Task, ctx context.Context, f *vfs.File, src usermem.IOSequence, off int64) (uintptr, error) {
	src, err := sizeLimited(t, f, src, off)
	if err != nil {
		t.TG.AccountWrite(0)
		return 0, err
	}
	var n int
	if off < 0 {
		n, err = f.Write(ctx, src)
	} else {
		n, err = f.PWrite(ctx, src, off)
	}
	t.TG.AccountWrite(int64(n))
	return ioResult(n, err)
}

// sizeLimited cuts a write to a regular file at the caller's
// RLIMIT_FSIZE, as generic_write_check_limits does: a write from a
// position at or past the limit is vfs.ErrSizeLimit (EFBIG, SIGXFSZ).
func sizeLimited(t *kernel.Task, f *vfs.File, src usermem.IOSequence, off int64) (usermem.IOSequence, error) {
	limit := t.TG.FileSizeLimit()
	if limit == unix.RLIM_INFINITY || src.NumBytes() == 0 {
		return src, nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return src, nil
	}
	pos := off
	switch {
	case pos >= 0:
	case f.Flags()&unix.O_APPEND != 0:
		pos = st.Size
	default:
		if pos, err = f.Seek(t.Ctx(), 0, unix.SEEK_CUR); err != nil {
			return src, nil
		}
	}
	if uint64(pos) >= limit {
		return src, vfs.ErrSizeLimit
	}
	if room := limit - uint64(pos); room < uint64(src.NumBytes()) {
		src = src.TakeFirst(int(room))
	}
	return src, nil
}

// fileSizeLimit is the caller's RLIMIT_FSIZE for vfs.Attr.SizeLimit.
func fileSizeLimit(t *kernel.Task) *uint64 {
	limit := t.TG.FileSizeLimit()
	if limit == unix.RLIM_INFINITY {
		return nil
	}
	return &limit
}

func readv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), -1)
}

func writev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), -1)
}

func preadv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

func pwritev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

// preadv2 with offset -1 uses the file position, as readv does.
func preadv2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(5) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

func pwritev2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(5) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

// doReadv reads into iovecs at the file position (off < 0) or at off.
func doReadv(t *kernel.Task, fd int32, addr uintptr, cnt int32, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, false, off)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	dst, err := t.IovecsIOSequence(addr, int(cnt))
	if err != nil {
		return 0, err
	}
	return readAt(t, f, dst, off)
}

// doWritev writes from iovecs at the file position (off < 0) or at off.
func doWritev(t *kernel.Task, fd int32, addr uintptr, cnt int32, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, true, off)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	src, err := t.IovecsIOSequence(addr, int(cnt))
	if err != nil {
		return 0, err
	}
	return writeAt(t, f, src, off)
}

func lseek(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, err := f.Seek(t.Ctx(), a.Int64(1), int(a.Int(2)))
	return uintptr(off), err
}

func dup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, err := t.FDs().Dup(a.Int(0))
	return uintptr(fd), err
}

func dup2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, err := t.FDs().Dup3(a.Int(0), a.Int(1), false, true)
	return uintptr(fd), err
}

func dup3(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Int(2)
	if flags&^unix.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	fd, err := t.FDs().Dup3(a.Int(0), a.Int(1), flags&unix.O_CLOEXEC != 0, false)
	return uintptr(fd), err
}

func fsync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Sync(t.Ctx())
}

// sync has nothing to flush: writes stay in memory or are the host's.
func sync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) { return 0, nil }

func syncfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}

func ftruncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Dentry() == nil && f.Impl() != nil {
		if _, ok := f.Impl().(vfs.Stream); ok {
			return 0, unix.EINVAL
		}
	}
	return 0, f.SetAttr(t.Ctx(), t.FSCreds(), vfs.Attr{Mask: vfs.AttrSize, Size: a.Int64(1), SizeLimit: fileSizeLimit(t)})
}

func truncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL
	}
	return 0, pathAt(t, unix.AT_FDCWD, a.Pointer(0), func(ctx context.Context, dir *vfs.File, path string) error {
		return t.K.VFS.SetAttrAt(ctx, t.FSCreds(), t.FS(), dir, path, true, vfs.Attr{Mask: vfs.AttrSize, Size: a.Int64(1), SizeLimit: fileSizeLimit(t)})
	})
}

func fallocate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Allocate(t.Ctx(), a.Uint(1), a.Int64(2), a.Int64(3), fileSizeLimit(t))
}

func umask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.FS().SwapUmask(a.Uint(0))), nil
}
