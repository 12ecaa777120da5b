package linux

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

func registerSched(st *kernel.SyscallTable) {
	partial(st, unix.SYS_GETPRIORITY, "getpriority", getpriority, "nice values are recorded, not applied: the host schedules every thread alike", kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_SETPRIORITY, "setpriority", setpriority, "nice values are recorded, not applied: the host schedules every thread alike", kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_CAPGET, "capget", capget, "the five sets and securebits follow capset, prctl, setuid and execve; no file capabilities", kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_CAPSET, "capset", capset, "as capset(2) checks; permission checks ask for effective capabilities", kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_PERSONALITY, "personality", personality, "the persona is recorded; ADDR_NO_RANDOMIZE and STICKY_TIMEOUTS are honoured, other flags (READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, other execution domains) change nothing", kernel.ArgHex)
	reg(st, unix.SYS_CHROOT, "chroot", chroot, kernel.ArgPath)
	partial(st, unix.SYS_IOPRIO_SET, "ioprio_set", ioprioSet, "I/O priorities are recorded, not applied", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_IOPRIO_GET, "ioprio_get", ioprioGet, "I/O priorities are recorded, not applied", kernel.ArgInt, kernel.ArgInt)
}

func ioprioSet(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetIOPrio(int(a.Int(0)), int(a.Int(1)), int(a.Int(2)))
}

func ioprioGet(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	v, err := t.GetIOPrio(int(a.Int(0)), int(a.Int(1)))
	return uintptr(v), err
}

// getpriority returns 20 - nice, as the raw syscall does (1..40), so that
// no valid answer looks like an error; the C library converts it back.
func getpriority(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	nice, err := t.GetPriority(int(a.Int(0)), int(a.Int(1)))
	if err != nil {
		return 0, err
	}
	return uintptr(20 - nice), nil
}

func setpriority(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetPriority(int(a.Int(0)), int(a.Int(1)), int(a.Int(2)))
}

// capHeader reads the header of capget/capset and returns its pid and how
// many 32-bit words per set the data holds: version 1 one, versions 2
// and 3 two. An unknown version is answered with the preferred one
// written back and EINVAL, the handshake libcap uses; the pid is read
// only after the version, as sys_capget reads it.
func capHeader(t *kernel.Task, addr uintptr) (pid int32, words int, err error) {
	var h linux.CapUserHeader
	if err := kernel.CopyIn(t, addr, &h.Version); err != nil {
		return 0, 0, err
	}
	switch h.Version {
	case linux.LINUX_CAPABILITY_VERSION_1:
		words = 1
	case linux.LINUX_CAPABILITY_VERSION_2, linux.LINUX_CAPABILITY_VERSION_3:
		words = 2
	default:
		preferred := uint32(linux.LINUX_CAPABILITY_VERSION_3)
		if err := kernel.CopyOut(t, addr, &preferred); err != nil {
			return 0, 0, err
		}
		return 0, 0, unix.EINVAL
	}
	if err := kernel.CopyIn(t, addr, &h); err != nil {
		return 0, 0, err
	}
	return h.Pid, words, nil
}

func capget(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, words, err := capHeader(t, a.Pointer(0))
	if a.Pointer(1) == 0 {
		// A NULL data pointer only asks for the version (sys_capget).
		if err == unix.EINVAL {
			return 0, nil
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	target, err := taskArg(t, pid)
	if err != nil {
		return 0, err
	}
	c := target.Creds().Caps
	data := make([]linux.CapUserData, words)
	for i := range data {
		word := func(set uint64) uint32 { return uint32(set >> (32 * i)) }
		data[i] = linux.CapUserData{Effective: word(c.Effective()), Permitted: word(c.Permitted()), Inheritable: word(c.Inheritable)}
	}
	return 0, kernel.CopyOutSlice(t, a.Pointer(1), data)
}

func capset(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, words, err := capHeader(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	if pid != 0 && int(pid) != t.ThreadID() {
		return 0, unix.EPERM
	}
	data := make([]linux.CapUserData, words)
	if err := kernel.CopyInSlice(t, a.Pointer(1), data); err != nil {
		return 0, err
	}
	var eff, perm, inh uint64
	for i, d := range data {
		eff |= uint64(d.Effective) << (32 * i)
		perm |= uint64(d.Permitted) << (32 * i)
		inh |= uint64(d.Inheritable) << (32 * i)
	}
	// A version 1 caller cannot name the upper capabilities: they become
	// zero, as in sys_capset.
	return 0, t.SetCaps(eff, perm, inh)
}

// personality stores any persona, as Linux does, and returns the old one;
// 0xffffffff only queries.
func personality(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old := t.Personality()
	if p := a.Uint(0); p != 0xffffffff {
		t.SetPersonality(p)
	}
	return uintptr(old), nil
}

// chroot makes a directory the process's root: it must exist (ENOENT), be
// a directory (ENOTDIR) the caller may search (EACCES), and the caller
// needs CAP_SYS_CHROOT (EPERM), checked last as Linux does.
func chroot(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, pathAt(t, unix.AT_FDCWD, a.Pointer(0), func(ctx context.Context, _ *vfs.File, path string) error {
		d, err := t.K.VFS.Lookup(ctx, t.FSCreds(), t.FS(), nil, path, true)
		if err != nil {
			return err
		}
		if err := vfs.CheckSearchable(ctx, t.FSCreds(), d); err != nil {
			return err
		}
		if t.Creds().Caps.Effective()&(1<<unix.CAP_SYS_CHROOT) == 0 {
			return unix.EPERM
		}
		t.FS().SetRoot(d)
		return nil
	})
}
