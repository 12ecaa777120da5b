package linux

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

func registerSched(st *kernel.SyscallTable) {
	partial(st, unix.SYS_GETPRIORITY, "getpriority", getpriority, "nice values are recorded, not applied: the host schedules every thread alike", kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_SETPRIORITY, "setpriority", setpriority, "nice values are recorded, not applied: the host schedules every thread alike", kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_CAPGET, "capget", capget, "sets follow capset and setuid; permission checks still ask for euid 0", kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_CAPSET, "capset", capset, "sets are recorded; permission checks still ask for euid 0", kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_PERSONALITY, "personality", personality, "the persona is recorded; flags such as ADDR_NO_RANDOMIZE change nothing", kernel.ArgHex)
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

// Capability header versions (linux/capability.h): version 1 carries one
// 32-bit word per set, versions 2 and 3 two.
const (
	capVersion1 = 0x19980330
	capVersion2 = 0x20071026
	capVersion3 = 0x20080522
)

// capHeader reads the header of capget/capset and returns its pid and how
// many 32-bit words per set the data holds. An unknown version is answered
// with the preferred one written back and EINVAL, the handshake libcap uses.
func capHeader(t *kernel.Task, addr uintptr) (pid int32, words int, err error) {
	var h [8]byte
	if err := t.CopyIn(addr, h[:4]); err != nil {
		return 0, 0, err
	}
	switch binary.LittleEndian.Uint32(h[:]) {
	case capVersion1:
		words = 1
	case capVersion2, capVersion3:
		words = 2
	default:
		binary.LittleEndian.PutUint32(h[:], capVersion3)
		if err := t.CopyOut(addr, h[:4]); err != nil {
			return 0, 0, err
		}
		return 0, 0, unix.EINVAL
	}
	if err := t.CopyIn(addr+4, h[4:]); err != nil {
		return 0, 0, err
	}
	return int32(binary.LittleEndian.Uint32(h[4:])), words, nil
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
	var out []byte
	for i := range words {
		for _, set := range []uint64{c.Effective(), c.Permitted(), c.Inheritable} {
			out = binary.LittleEndian.AppendUint32(out, uint32(set>>(32*i)))
		}
	}
	return 0, t.CopyOut(a.Pointer(1), out)
}

func capset(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pid, words, err := capHeader(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	if pid != 0 && int(pid) != t.TID {
		return 0, unix.EPERM
	}
	in := make([]byte, 12*words)
	if err := t.CopyIn(a.Pointer(1), in); err != nil {
		return 0, err
	}
	var sets [3]uint64
	for i := range words {
		for j := range sets {
			sets[j] |= uint64(binary.LittleEndian.Uint32(in[12*i+4*j:])) << (32 * i)
		}
	}
	// A version 1 caller cannot name the upper capabilities: they become
	// zero, as in sys_capset.
	return 0, t.SetCaps(sets[0], sets[1], sets[2])
}

// personality stores any persona, as Linux does, and returns the old one;
// 0xffffffff only queries.
func personality(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old := t.Personality
	if p := a.Uint(0); p != 0xffffffff {
		t.Personality = p
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
