package linux

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Handlers that read or change directories: getdents64, getcwd, chdir,
// mkdir, unlink, rmdir, rename, link, symlink, mknod.

func registerDir(st *kernel.SyscallTable) {
	fd, path, hex, oct, i := kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgOct, kernel.ArgInt
	reg(st, unix.SYS_GETDENTS64, "getdents64", getdents64, fd, hex, i)
	reg(st, unix.SYS_GETDENTS, "getdents", getdents, fd, hex, i)
	reg(st, unix.SYS_GETCWD, "getcwd", getcwd, hex, i)
	reg(st, unix.SYS_CHDIR, "chdir", chdir, path)
	reg(st, unix.SYS_FCHDIR, "fchdir", fchdir, fd)
	reg(st, unix.SYS_MKDIR, "mkdir", mkdir, path, oct)
	reg(st, unix.SYS_MKDIRAT, "mkdirat", mkdirat, fd, path, oct)
	reg(st, unix.SYS_RMDIR, "rmdir", rmdir, path)
	reg(st, unix.SYS_UNLINK, "unlink", unlink, path)
	reg(st, unix.SYS_UNLINKAT, "unlinkat", unlinkat, fd, path, hex)
	reg(st, unix.SYS_RENAME, "rename", rename, path, path)
	reg(st, unix.SYS_RENAMEAT, "renameat", renameat, fd, path, fd, path)
	reg(st, unix.SYS_RENAMEAT2, "renameat2", renameat2, fd, path, fd, path, hex)
	reg(st, unix.SYS_LINK, "link", link, path, path)
	reg(st, unix.SYS_LINKAT, "linkat", linkat, fd, path, fd, path, hex)
	reg(st, unix.SYS_SYMLINK, "symlink", symlink, path, path)
	reg(st, unix.SYS_SYMLINKAT, "symlinkat", symlinkat, path, fd, path)
	partial(st, unix.SYS_MKNOD, "mknod", mknod, "device nodes are made (CAP_MKNOD) but open no device (ENXIO)", path, oct, hex)
	partial(st, unix.SYS_MKNODAT, "mknodat", mknodat, "device nodes are made (CAP_MKNOD) but open no device (ENXIO)", fd, path, oct, hex)
}

// direntSize is the size of a linux_dirent64 record for name: its fixed
// part, the name and a NUL, 8-aligned.
func direntSize(name string) int { return (abi.Dirent64NameOffset + len(name) + 1 + 7) &^ 7 }

// appendDirent64 encodes one linux_dirent64 (abi.Dirent64NameOffset).
func appendDirent64(b []byte, e vfs.Dirent, off int64) []byte {
	size := direntSize(e.Name)
	d := unix.Dirent{Ino: e.Ino, Off: off, Reclen: uint16(size), Type: e.Type}
	return appendRecord(b, abi.AsBytes(&d)[:abi.Dirent64NameOffset], e.Name, size)
}

// appendDirent encodes one old linux_dirent, whose type is the record's
// last byte after the name, a NUL and padding (abi.DirentNameOffset).
func appendDirent(b []byte, e vfs.Dirent, off int64) []byte {
	size := (abi.DirentNameOffset + len(e.Name) + 2 + 7) &^ 7
	d := unix.Dirent{Ino: e.Ino, Off: off, Reclen: uint16(size)}
	b = appendRecord(b, abi.AsBytes(&d)[:abi.DirentNameOffset], e.Name, size)
	b[len(b)-1] = e.Type
	return b
}

// appendRecord appends a record of size bytes: its fixed part, the name,
// and zeros.
func appendRecord(b, fixed []byte, name string, size int) []byte {
	end := len(b) + size
	b = append(append(b, fixed...), name...)
	return append(b, make([]byte, end-len(b))...)
}

func getdents64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return getdentsImpl(t, a, appendDirent64)
}

func getdents(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return getdentsImpl(t, a, appendDirent)
}

// getdentsImpl fills the buffer with as many records as fit; EINVAL if
// not even one does.
func getdentsImpl(t *kernel.Task, a kernel.SyscallArguments, encode func([]byte, vfs.Dirent, int64) []byte) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	size := int(a.Uint(2))
	entries, off, err := f.ReadDir(t.Ctx())
	if err != nil {
		return 0, err
	}
	var buf []byte
	n := 0
	for _, e := range entries {
		next := encode(buf, e, off+int64(n)+1)
		if len(next) > size {
			break
		}
		buf = next
		n++
	}
	if n == 0 && len(entries) > 0 {
		return 0, unix.EINVAL
	}
	if err := t.CopyOut(a.Pointer(1), buf); err != nil {
		return 0, err
	}
	f.AdvanceDir(n)
	return uintptr(len(buf)), nil
}

func getcwd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	cwd, removed := t.FS().Getcwd()
	if removed {
		return 0, unix.ENOENT
	}
	// Linux builds the path in a PATH_MAX buffer: a longer one is
	// ENAMETOOLONG whatever the size, which glibc's getcwd(NULL, 0)
	// needs to fall back to walking "..".
	if len(cwd)+1 > unix.PathMax {
		return 0, unix.ENAMETOOLONG
	}
	if len(cwd)+1 > int(a.Uint(1)) {
		return 0, unix.ERANGE
	}
	if err := t.CopyOut(a.Pointer(0), append([]byte(cwd), 0)); err != nil {
		return 0, err
	}
	return uintptr(len(cwd) + 1), nil
}

func chdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, pathAt(t, unix.AT_FDCWD, a.Pointer(0), func(ctx context.Context, _ *vfs.File, path string) error {
		return t.K.VFS.Chdir(ctx, t.FSCreds(), t.FS(), path)
	})
}

func fchdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileRaw(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Dentry() == nil {
		return 0, unix.ENOTDIR
	}
	return 0, vfs.ChdirDentry(t.Ctx(), t.FSCreds(), t.FS(), f.Dentry())
}

func mkdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mkdiratImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1))
}

func mkdirat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mkdiratImpl(t, a.Int(0), a.Pointer(1), a.Uint(2))
}

func mkdiratImpl(t *kernel.Task, dirfd int32, addr uintptr, mode uint32) (uintptr, error) {
	return 0, pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		return t.K.VFS.Mkdir(ctx, t.FSCreds(), t.FS(), dir, path, mode)
	})
}

func mknod(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mknodatImpl(t, unix.AT_FDCWD, a.Pointer(0), a.Uint(1), uint64(a.Uint(2)))
}

func mknodat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return mknodatImpl(t, a.Int(0), a.Pointer(1), a.Uint(2), uint64(a.Uint(3)))
}

func mknodatImpl(t *kernel.Task, dirfd int32, addr uintptr, mode uint32, dev uint64) (uintptr, error) {
	return 0, pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		return t.K.VFS.Mknod(ctx, t.FSCreds(), t.FS(), dir, path, mode, dev)
	})
}

func rmdir(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkatImpl(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_REMOVEDIR)
}

func unlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkatImpl(t, unix.AT_FDCWD, a.Pointer(0), 0)
}

func unlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return unlinkatImpl(t, a.Int(0), a.Pointer(1), a.Int(2))
}

func unlinkatImpl(t *kernel.Task, dirfd int32, addr uintptr, flags int32) (uintptr, error) {
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	return 0, pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		if flags&unix.AT_REMOVEDIR != 0 {
			return t.K.VFS.Rmdir(ctx, t.FSCreds(), t.FS(), dir, path)
		}
		return t.K.VFS.Unlink(ctx, t.FSCreds(), t.FS(), dir, path)
	})
}

func rename(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameatImpl(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1), 0)
}

func renameat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameatImpl(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), 0)
}

func renameat2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return renameatImpl(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), a.Uint(4))
}

// twoPaths resolves the two (dirfd, path) pairs of rename and link.
func twoPaths(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, fn func(ctx context.Context, od *vfs.File, op string, nd *vfs.File, np string) error) error {
	return pathAt(t, olddirfd, oldAddr, func(ctx context.Context, od *vfs.File, op string) error {
		return pathAt(t, newdirfd, newAddr, func(_ context.Context, nd *vfs.File, np string) error {
			return fn(ctx, od, op, nd, np)
		})
	})
}

func renameatImpl(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags uint32) (uintptr, error) {
	return 0, twoPaths(t, olddirfd, oldAddr, newdirfd, newAddr, func(ctx context.Context, od *vfs.File, op string, nd *vfs.File, np string) error {
		return t.K.VFS.Rename(ctx, t.FSCreds(), t.FS(), od, op, nd, np, flags)
	})
}

func link(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return linkatImpl(t, unix.AT_FDCWD, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1), 0)
}

func linkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return linkatImpl(t, a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), a.Int(4))
}

func linkatImpl(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags int32) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		return linkEmptyPath(t, olddirfd, oldAddr, newdirfd, newAddr)
	}
	return 0, twoPaths(t, olddirfd, oldAddr, newdirfd, newAddr, func(ctx context.Context, od *vfs.File, op string, nd *vfs.File, np string) error {
		return t.K.VFS.Link(ctx, t.FSCreds(), t.FS(), od, op, nd, np, flags&unix.AT_SYMLINK_FOLLOW != 0)
	})
}

// linkEmptyPath links the file olddirfd refers to (AT_EMPTY_PATH).
func linkEmptyPath(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr) (uintptr, error) {
	// Linux 6.1 lets only CAP_DAC_READ_SEARCH name a file by its
	// descriptor (ENOENT otherwise), so that a process given a descriptor
	// cannot link it where it likes.
	if !t.FSCreds().HasCap(linux.CAP_DAC_READ_SEARCH) {
		return 0, unix.ENOENT
	}
	return 0, withTarget(t, olddirfd, oldAddr, unix.AT_EMPTY_PATH, unix.AT_EMPTY_PATH, func(tg target) error {
		d, err := tg.dentry(t)
		if err == errAnonymous {
			return unix.ENOENT
		}
		if err != nil {
			return err
		}
		return pathAt(t, newdirfd, newAddr, func(ctx context.Context, nd *vfs.File, np string) error {
			return t.K.VFS.LinkDentry(ctx, t.FSCreds(), t.FS(), d, nd, np)
		})
	})
}

func symlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return symlinkatImpl(t, a.Pointer(0), unix.AT_FDCWD, a.Pointer(1))
}

func symlinkat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return symlinkatImpl(t, a.Pointer(0), a.Int(1), a.Pointer(2))
}

func symlinkatImpl(t *kernel.Task, targetAddr uintptr, dirfd int32, addr uintptr) (uintptr, error) {
	target, err := copyInPath(t, targetAddr)
	if err != nil {
		return 0, err
	}
	return 0, pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		return t.K.VFS.Symlink(ctx, t.FSCreds(), t.FS(), target, dir, path)
	})
}
