package linux

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Extended attributes (xattr(7)). The overlay and tmpfs store user.*,
// trusted.* and security.* in memory; host files show their own until
// copied up; the rules every filesystem shares live in package vfs
// (xattr.go). As in fs/xattr.c, the name, flags and value are checked
// before the path is looked up: a name of 0 or over 255 bytes is ERANGE
// (not ENAMETOOLONG), a value over 64 KiB E2BIG, unknown flags EINVAL; a
// get or list with a buffer of at least 64 KiB that is still too small is
// E2BIG rather than ERANGE.
func registerXattr(st *kernel.SyscallTable) {
	note := "system.* (POSIX ACLs) is EOPNOTSUPP: no filesystem supports ACLs"
	path := []kernel.ArgKind{kernel.ArgPath, kernel.ArgString, kernel.ArgHex, kernel.ArgInt}
	fd := []kernel.ArgKind{kernel.ArgFD, kernel.ArgString, kernel.ArgHex, kernel.ArgInt}
	flags := []kernel.ArgKind{kernel.ArgHex}
	partial(st, unix.SYS_GETXATTR, "getxattr", xattrAtPath(true, getXattr), note, path...)
	partial(st, unix.SYS_LGETXATTR, "lgetxattr", xattrAtPath(false, getXattr), note, path...)
	partial(st, unix.SYS_FGETXATTR, "fgetxattr", xattrAtFD(getXattr), note, fd...)
	reg(st, unix.SYS_LISTXATTR, "listxattr", xattrAtPath(true, listXattr), path[0], kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_LLISTXATTR, "llistxattr", xattrAtPath(false, listXattr), path[0], kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_FLISTXATTR, "flistxattr", xattrAtFD(listXattr), fd[0], kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_SETXATTR, "setxattr", xattrAtPath(true, setXattr), note, append(path, flags...)...)
	partial(st, unix.SYS_LSETXATTR, "lsetxattr", xattrAtPath(false, setXattr), note, append(path, flags...)...)
	partial(st, unix.SYS_FSETXATTR, "fsetxattr", xattrAtFD(setXattr), note, append(fd, flags...)...)
	partial(st, unix.SYS_REMOVEXATTR, "removexattr", xattrAtPath(true, removeXattr), note, path[:2]...)
	partial(st, unix.SYS_LREMOVEXATTR, "lremovexattr", xattrAtPath(false, removeXattr), note, path[:2]...)
	partial(st, unix.SYS_FREMOVEXATTR, "fremovexattr", xattrAtFD(removeXattr), note, fd[:2]...)
}

// xattrTarget is the file an xattr syscall works on: a path's dentry or
// an open file.
type xattrTarget interface {
	GetXattr(ctx context.Context, c vfs.Creds, name string) ([]byte, error)
	ListXattr(ctx context.Context, c vfs.Creds) ([]string, error)
}

// xattrOp is one of the four operations. args are the syscall's arguments
// after the path or descriptor; prepare copies them in (before the lookup,
// as Linux does) and returns do, which runs on the target.
type xattrOp func(t *kernel.Task, args kernel.SyscallArguments) (do func(ctx context.Context, x xattrTarget, set xattrSetter) (uintptr, error), err error)

// xattrSetter changes the target's attributes (the VFS for a path, the
// file for a descriptor).
type xattrSetter interface {
	SetXattr(ctx context.Context, c vfs.Creds, name string, value []byte, flags int) error
	RemoveXattr(ctx context.Context, c vfs.Creds, name string) error
}

// dentrySetter changes the attributes of a path.
type dentrySetter struct {
	v *vfs.VFS
	d *vfs.Dentry
}

func (s dentrySetter) SetXattr(ctx context.Context, c vfs.Creds, name string, value []byte, flags int) error {
	return s.v.SetXattr(ctx, c, s.d, name, value, flags)
}

func (s dentrySetter) RemoveXattr(ctx context.Context, c vfs.Creds, name string) error {
	return s.v.RemoveXattr(ctx, c, s.d, name)
}

// xattrAtPath runs op on a path, following a final symlink if follow.
func xattrAtPath(follow bool, op xattrOp) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		do, err := op(t, a)
		if err != nil {
			return 0, err
		}
		p, err := copyInPath(t, a.Pointer(0))
		if err != nil {
			return 0, err
		}
		ctx := t.Ctx()
		d, err := t.K.VFS.Lookup(ctx, t.FSCreds(), t.FS(), nil, p, follow)
		if err != nil {
			return 0, err
		}
		return do(ctx, d, dentrySetter{t.K.VFS, d})
	}
}

// xattrAtFD runs op on a descriptor.
func xattrAtFD(op xattrOp) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		do, err := op(t, a)
		if err != nil {
			return 0, err
		}
		f, err := getFile(t, a.Int(0))
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		return do(t.Ctx(), f, f)
	}
}

// copyInXattrName reads an attribute name: ERANGE if empty or longer than
// XATTR_NAME_MAX, as strncpy_from_user into a 256-byte buffer gives.
func copyInXattrName(t *kernel.Task, addr uintptr) (string, error) {
	name, err := t.CopyInString(addr, linux.XATTR_NAME_MAX)
	switch {
	case err == unix.ENAMETOOLONG:
		return "", unix.ERANGE
	case err != nil:
		return "", err
	case name == "":
		return "", unix.ERANGE
	}
	return name, nil
}

// getXattr is getxattr(path|fd, name, value, size).
func getXattr(t *kernel.Task, a kernel.SyscallArguments) (func(context.Context, xattrTarget, xattrSetter) (uintptr, error), error) {
	name, err := copyInXattrName(t, a.Pointer(1))
	if err != nil {
		return nil, err
	}
	addr, size := a.Pointer(2), uint64(a.Pointer(3))
	return func(ctx context.Context, x xattrTarget, _ xattrSetter) (uintptr, error) {
		value, err := x.GetXattr(ctx, t.FSCreds(), name)
		if err != nil {
			return 0, err
		}
		return copyOutXattr(t, addr, size, value, linux.XATTR_SIZE_MAX)
	}, nil
}

// copyOutXattr answers a get or list of b into a buffer of size bytes at
// addr: the length alone for size 0, ERANGE if it does not fit, E2BIG if
// it could not fit any buffer.
func copyOutXattr(t *kernel.Task, addr uintptr, size uint64, b []byte, max int) (uintptr, error) {
	if size == 0 {
		return uintptr(len(b)), nil
	}
	if uint64(len(b)) > size {
		if size >= uint64(max) {
			return 0, unix.E2BIG
		}
		return 0, unix.ERANGE
	}
	if err := t.CopyOut(addr, b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}

// listXattr is listxattr(path|fd, list, size).
func listXattr(t *kernel.Task, a kernel.SyscallArguments) (func(context.Context, xattrTarget, xattrSetter) (uintptr, error), error) {
	addr, size := a.Pointer(1), uint64(a.Pointer(2))
	return func(ctx context.Context, x xattrTarget, _ xattrSetter) (uintptr, error) {
		names, err := x.ListXattr(ctx, t.FSCreds())
		if err != nil {
			return 0, err
		}
		// Bounded: a node holds at most 1 MiB of attributes, and a host
		// listing 64 KiB.
		var b []byte
		for _, n := range names {
			b = append(append(b, n...), 0)
		}
		return copyOutXattr(t, addr, size, b, linux.XATTR_LIST_MAX)
	}, nil
}

// setXattr is setxattr(path|fd, name, value, size, flags).
func setXattr(t *kernel.Task, a kernel.SyscallArguments) (func(context.Context, xattrTarget, xattrSetter) (uintptr, error), error) {
	flags := a.Int(4)
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return nil, unix.EINVAL
	}
	name, err := copyInXattrName(t, a.Pointer(1))
	if err != nil {
		return nil, err
	}
	size := uint64(a.Pointer(3))
	if size > linux.XATTR_SIZE_MAX {
		return nil, unix.E2BIG
	}
	value := make([]byte, size)
	if size > 0 {
		if err := t.CopyIn(a.Pointer(2), value); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, _ xattrTarget, s xattrSetter) (uintptr, error) {
		return 0, s.SetXattr(ctx, t.FSCreds(), name, value, int(flags))
	}, nil
}

// removeXattr is removexattr(path|fd, name).
func removeXattr(t *kernel.Task, a kernel.SyscallArguments) (func(context.Context, xattrTarget, xattrSetter) (uintptr, error), error) {
	name, err := copyInXattrName(t, a.Pointer(1))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ xattrTarget, s xattrSetter) (uintptr, error) {
		return 0, s.RemoveXattr(ctx, t.FSCreds(), name)
	}, nil
}
