package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// Extended attributes. No filesystem of the sandbox stores any yet: a file
// that exists has none (ENODATA, an empty list), and setting one is
// ENOTSUP, as on a filesystem mounted without xattr support. The path or
// descriptor is still checked, so a missing file is ENOENT or EBADF.
func registerXattr(st *kernel.SyscallTable) {
	note := "no filesystem stores extended attributes: get is ENODATA, set is ENOTSUP"
	path := []kernel.ArgKind{kernel.ArgPath, kernel.ArgString, kernel.ArgHex, kernel.ArgInt}
	fd := []kernel.ArgKind{kernel.ArgFD, kernel.ArgString, kernel.ArgHex, kernel.ArgInt}
	partial(st, unix.SYS_GETXATTR, "getxattr", xattrPath(true, unix.ENODATA), note, path...)
	partial(st, unix.SYS_LGETXATTR, "lgetxattr", xattrPath(false, unix.ENODATA), note, path...)
	partial(st, unix.SYS_FGETXATTR, "fgetxattr", xattrFD(unix.ENODATA), note, fd...)
	partial(st, unix.SYS_LISTXATTR, "listxattr", xattrPath(true, nil), note, path...)
	partial(st, unix.SYS_LLISTXATTR, "llistxattr", xattrPath(false, nil), note, path...)
	partial(st, unix.SYS_FLISTXATTR, "flistxattr", xattrFD(nil), note, fd...)
	partial(st, unix.SYS_SETXATTR, "setxattr", xattrPath(true, unix.ENOTSUP), note, path...)
	partial(st, unix.SYS_LSETXATTR, "lsetxattr", xattrPath(false, unix.ENOTSUP), note, path...)
	partial(st, unix.SYS_FSETXATTR, "fsetxattr", xattrFD(unix.ENOTSUP), note, fd...)
	partial(st, unix.SYS_REMOVEXATTR, "removexattr", xattrPath(true, unix.ENODATA), note, path...)
	partial(st, unix.SYS_LREMOVEXATTR, "lremovexattr", xattrPath(false, unix.ENODATA), note, path...)
	partial(st, unix.SYS_FREMOVEXATTR, "fremovexattr", xattrFD(unix.ENODATA), note, fd...)
}

// xattrPath checks the path and then answers with result (nil: 0).
func xattrPath(follow bool, result error) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		p, err := copyInPath(t, a.Pointer(0))
		if err != nil {
			return 0, err
		}
		if _, err := t.K.VFS.StatAt(callerCtx(t), t.FS, nil, p, follow); err != nil {
			return 0, err
		}
		return 0, result
	}
}

// xattrFD checks the descriptor and then answers with result.
func xattrFD(result error) kernel.SyscallFn {
	return func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		f, err := getFile(t, a.Int(0))
		if err != nil {
			return 0, err
		}
		f.DecRef()
		return 0, result
	}
}
