package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

// process_vm_readv and process_vm_writev move bytes between the caller's
// memory and another process's of the sandbox, with the permission ptrace
// would need (same real user and group as the target's IDs, or
// CAP_SYS_PTRACE); processes outside the sandbox do not exist for it.

func registerProcessVM(st *kernel.SyscallTable) {
	args := []kernel.ArgKind{kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex}
	reg(st, unix.SYS_PROCESS_VM_READV, "process_vm_readv", processVMReadv, args...)
	reg(st, unix.SYS_PROCESS_VM_WRITEV, "process_vm_writev", processVMWritev, args...)
}

func processVMReadv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return processVM(t, a, false)
}

func processVMWritev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return processVM(t, a, true)
}

// processVM is process_vm_rw: the flags, then the local iovecs, then the
// remote ones, then the target and the permission; the bytes moved, or
// the error if none were.
func processVM(t *kernel.Task, a kernel.SyscallArguments, write bool) (uintptr, error) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	local, total, err := copyInIovecs(t, a.Pointer(1), a.Int(2))
	if err != nil || total == 0 {
		return 0, err
	}
	remote, rtotal, err := copyInIovecs(t, a.Pointer(3), a.Int(4))
	if err != nil || rtotal == 0 {
		return 0, err
	}
	target := t.K.Task(int(a.Int(0)))
	if target == nil || a.Int(0) <= 0 {
		return 0, unix.ESRCH
	}
	if !mayAccessMemory(t, target) {
		return 0, unix.EPERM
	}
	tm := target.MM()
	done := 0
	li, loff := 0, 0
	for _, r := range remote {
		for roff := 0; roff < r.len && li < len(local); {
			n := min(r.len-roff, local[li].len-loff, chunk)
			buf := make([]byte, n)
			var moved int
			if write {
				if err := t.CopyIn(local[li].base+uintptr(loff), buf); err != nil {
					return movedOr(done, err)
				}
				moved, err = tm.CopyOut(r.base+uintptr(roff), buf)
			} else {
				moved, err = tm.CopyIn(r.base+uintptr(roff), buf)
				if moved > 0 {
					if cerr := t.CopyOut(local[li].base+uintptr(loff), buf[:moved]); cerr != nil {
						return movedOr(done, cerr)
					}
				}
			}
			done += moved
			if err != nil || moved < n {
				// A fault in the remote range ends it; the next one
				// starts afresh, as process_vm_rw_single_vec.
				if err == nil {
					err = unix.EFAULT
				}
				if done == 0 {
					return 0, err
				}
				break
			}
			roff += n
			if loff += n; loff == local[li].len {
				li, loff = li+1, 0
			}
		}
		if li == len(local) {
			break
		}
	}
	return uintptr(done), nil
}

// movedOr returns done if any bytes moved, else err.
func movedOr(done int, err error) (uintptr, error) {
	if done > 0 {
		return uintptr(done), nil
	}
	return 0, err
}

// mayAccessMemory is ptrace_may_access with PTRACE_MODE_ATTACH_REALCREDS:
// a thread of the caller's own process, or one whose user and group IDs
// all equal the caller's real ones, or CAP_SYS_PTRACE.
func mayAccessMemory(t, target *kernel.Task) bool {
	if t.TG == target.TG {
		return true
	}
	c, tc := t.Creds(), target.Creds()
	if c.HasCap(linux.CAP_SYS_PTRACE) {
		return true
	}
	same := func(id uint32, ids kernel.IDs) bool { return ids.Real == id && ids.Effective == id && ids.Saved == id }
	return same(c.UID.Real, tc.UID) && same(c.GID.Real, tc.GID)
}
