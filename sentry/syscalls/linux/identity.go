package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

func registerIdentity(st *kernel.SyscallTable) {
	reg(st, unix.SYS_GETPID, "getpid", getpid)
	reg(st, unix.SYS_GETPPID, "getppid", getppid)
	reg(st, unix.SYS_GETTID, "gettid", gettid)
	reg(st, unix.SYS_GETUID, "getuid", getuid)
	reg(st, unix.SYS_GETEUID, "geteuid", geteuid)
	reg(st, unix.SYS_GETGID, "getgid", getgid)
	reg(st, unix.SYS_GETEGID, "getegid", getegid)
	reg(st, unix.SYS_GETRESUID, "getresuid", getresuid, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETRESGID, "getresgid", getresgid, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETGROUPS, "getgroups", getgroups, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SETUID, "setuid", setuid, kernel.ArgInt)
	reg(st, unix.SYS_SETGID, "setgid", setgid, kernel.ArgInt)
	reg(st, unix.SYS_SETREUID, "setreuid", setreuid, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_SETREGID, "setregid", setregid, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_SETRESUID, "setresuid", setresuid, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_SETRESGID, "setresgid", setresgid, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_SETGROUPS, "setgroups", setgroups, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SETFSUID, "setfsuid", setfsuid, kernel.ArgInt)
	reg(st, unix.SYS_SETFSGID, "setfsgid", setfsgid, kernel.ArgInt)
}

// setfsuid returns the previous filesystem uid, whether or not it changed
// (Linux reports a refusal only that way).
func setfsuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.SetFSUID(a.Uint(0))), nil
}

func setfsgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.SetFSGID(a.Uint(0))), nil
}

func getpid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) { return uintptr(t.PID()), nil }

func getppid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.PPID()), nil
}

func gettid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) { return uintptr(t.TID), nil }

func getuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Creds().UID.Real), nil
}

func geteuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Creds().UID.Effective), nil
}

func getgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Creds().GID.Real), nil
}

func getegid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Creds().GID.Effective), nil
}

// copyOutIDs writes three uint32s to three addresses.
func copyOutIDs(t *kernel.Task, a kernel.SyscallArguments, ids kernel.IDs) error {
	for i, v := range []uint32{ids.Real, ids.Effective, ids.Saved} {
		if err := kernel.CopyOut(t, a.Pointer(i), &v); err != nil {
			return err
		}
	}
	return nil
}

func getresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, copyOutIDs(t, a, t.Creds().UID)
}

func getresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, copyOutIDs(t, a, t.Creds().GID)
}

func getgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	groups := t.Creds().Groups
	size := int(a.Int(0))
	switch {
	case size < 0:
		return 0, unix.EINVAL
	case size == 0:
		return uintptr(len(groups)), nil
	case size < len(groups):
		return 0, unix.EINVAL
	}
	return uintptr(len(groups)), kernel.CopyOutSlice(t, a.Pointer(1), groups)
}

func setuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetUID(a.Uint(0))
}

func setgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetGID(a.Uint(0))
}

func setreuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetREUID(a.Uint(0), a.Uint(1))
}

func setregid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetREGID(a.Uint(0), a.Uint(1))
}

func setresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetRESUID(a.Uint(0), a.Uint(1), a.Uint(2))
}

func setresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetRESGID(a.Uint(0), a.Uint(1), a.Uint(2))
}

func setgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	n := int(a.Int(0))
	if n < 0 || n > 65536 {
		return 0, unix.EINVAL
	}
	groups := make([]uint32, n)
	if err := kernel.CopyInSlice(t, a.Pointer(1), groups); err != nil {
		return 0, err
	}
	return 0, t.SetGroups(groups)
}
