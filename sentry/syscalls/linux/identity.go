package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

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

// The IDs a process gives and is shown are its user namespace's; the
// kernel keeps kernel IDs (kernel/userns.go). toKernel maps what a
// process gives (EINVAL when its namespace does not map it; -1, "no
// change", stays -1); Show* map what it is shown, an unmapped ID showing
// as the overflow ID.

// uidsToKernel maps the user IDs ids of t's namespace, -1 kept.
func uidsToKernel(t *kernel.Task, ids ...uint32) error {
	ns := t.UserNS()
	for i, id := range ids {
		if id == noChangeID {
			continue
		}
		k, ok := ns.UIDToKernel(id)
		if !ok {
			return unix.EINVAL
		}
		ids[i] = k
	}
	return nil
}

// gidsToKernel maps group IDs of t's namespace, -1 kept.
func gidsToKernel(t *kernel.Task, ids ...uint32) error {
	ns := t.UserNS()
	for i, id := range ids {
		if id == noChangeID {
			continue
		}
		k, ok := ns.GIDToKernel(id)
		if !ok {
			return unix.EINVAL
		}
		ids[i] = k
	}
	return nil
}

// noChangeID is -1 as an ID: "leave it".
const noChangeID = ^uint32(0)

// setfsuid returns the previous filesystem uid, whether or not it changed
// (Linux reports a refusal only that way); a uid the namespace does not
// map changes nothing.
func setfsuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ns, uid := t.UserNS(), a.Uint(0)
	k, ok := ns.UIDToKernel(uid)
	if !ok {
		k = noChangeID
	}
	return uintptr(ns.ShowUID(t.SetFSUID(k))), nil
}

func setfsgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ns, gid := t.UserNS(), a.Uint(0)
	k, ok := ns.GIDToKernel(gid)
	if !ok {
		k = noChangeID
	}
	return uintptr(ns.ShowGID(t.SetFSGID(k))), nil
}

func getpid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) { return uintptr(t.PID()), nil }

func getppid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.PPID()), nil
}

func gettid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.ThreadID()), nil
}

func getuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return uintptr(c.UserNS.ShowUID(c.UID.Real)), nil
}

func geteuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return uintptr(c.UserNS.ShowUID(c.UID.Effective)), nil
}

func getgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return uintptr(c.UserNS.ShowGID(c.GID.Real)), nil
}

func getegid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return uintptr(c.UserNS.ShowGID(c.GID.Effective)), nil
}

// copyOutIDs writes three uint32s to three addresses, each as show maps
// it.
func copyOutIDs(t *kernel.Task, a kernel.SyscallArguments, ids kernel.IDs, show func(uint32) uint32) error {
	for i, v := range []uint32{ids.Real, ids.Effective, ids.Saved} {
		v = show(v)
		if err := kernel.CopyOut(t, a.Pointer(i), &v); err != nil {
			return err
		}
	}
	return nil
}

func getresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return 0, copyOutIDs(t, a, c.UID, c.UserNS.ShowUID)
}

func getresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	return 0, copyOutIDs(t, a, c.GID, c.UserNS.ShowGID)
}

func getgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Creds()
	groups := c.Groups
	size := int(a.Int(0))
	switch {
	case size < 0:
		return 0, unix.EINVAL
	case size == 0:
		return uintptr(len(groups)), nil
	case size < len(groups):
		return 0, unix.EINVAL
	}
	for i, g := range groups {
		groups[i] = c.UserNS.ShowGID(g)
	}
	return uintptr(len(groups)), kernel.CopyOutSlice(t, a.Pointer(1), groups)
}

func setuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	uid := a.Uint(0)
	k, ok := t.UserNS().UIDToKernel(uid)
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, t.SetUID(k)
}

func setgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	gid := a.Uint(0)
	k, ok := t.UserNS().GIDToKernel(gid)
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, t.SetGID(k)
}

func setreuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ids := []uint32{a.Uint(0), a.Uint(1)}
	if err := uidsToKernel(t, ids...); err != nil {
		return 0, err
	}
	return 0, t.SetREUID(ids[0], ids[1])
}

func setregid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ids := []uint32{a.Uint(0), a.Uint(1)}
	if err := gidsToKernel(t, ids...); err != nil {
		return 0, err
	}
	return 0, t.SetREGID(ids[0], ids[1])
}

func setresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ids := []uint32{a.Uint(0), a.Uint(1), a.Uint(2)}
	if err := uidsToKernel(t, ids...); err != nil {
		return 0, err
	}
	return 0, t.SetRESUID(ids[0], ids[1], ids[2])
}

func setresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ids := []uint32{a.Uint(0), a.Uint(1), a.Uint(2)}
	if err := gidsToKernel(t, ids...); err != nil {
		return 0, err
	}
	return 0, t.SetRESGID(ids[0], ids[1], ids[2])
}

// setgroups asks for the privilege first (may_setgroups), then checks the
// list, as Linux does.
func setgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if c := t.Creds(); !c.HasOwnCap(linux.CAP_SETGID) || !c.UserNS.SetgroupsAllowed() {
		return 0, unix.EPERM
	}
	n := int(a.Int(0))
	if n < 0 || n > 65536 {
		return 0, unix.EINVAL
	}
	groups := make([]uint32, n)
	if err := kernel.CopyInSlice(t, a.Pointer(1), groups); err != nil {
		return 0, err
	}
	ns := t.UserNS()
	for i, g := range groups {
		k, ok := ns.GIDToKernel(g)
		if !ok {
			return 0, unix.EINVAL
		}
		groups[i] = k
	}
	return 0, t.SetGroups(groups)
}
