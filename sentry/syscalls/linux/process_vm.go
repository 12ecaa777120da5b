package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
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
// the error if none were. Remote ranges are moved in order and the first
// that faults ends the transfer, as process_vm_rw_core.
func processVM(t *kernel.Task, a kernel.SyscallArguments, write bool) (uintptr, error) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	local, err := t.IovecsIOSequence(a.Pointer(1), int(a.Int(2)))
	if err != nil || local.NumBytes() == 0 {
		return 0, err
	}
	remote, err := remoteIovecs(t, a.Pointer(3), int(a.Int(4)))
	if err != nil || len(remote) == 0 {
		return 0, err
	}
	target := t.LookupTask(int(a.Int(0)))
	if target == nil || a.Int(0) <= 0 {
		return 0, unix.ESRCH
	}
	if !t.MayAttach(target) { // mm_access(PTRACE_MODE_ATTACH_REALCREDS)
		return 0, unix.EPERM
	}
	tm := target.MM()
	done := 0
	for _, r := range remote {
		if local.NumBytes() == 0 {
			break
		}
		n := min(local.NumBytes(), int(r.End-r.Start))
		if n == 0 {
			continue
		}
		there := usermem.NewIOSequence(tm, []platform.Range{r})
		var moved int
		if write {
			moved, err = local.TakeFirst(n).CopyInTo(there.Writer())
		} else {
			moved, err = local.TakeFirst(n).CopyOutFrom(there.Reader())
		}
		done += moved
		local = local.DropFirst(moved)
		if err != nil || moved < n {
			if err == nil {
				err = unix.EFAULT
			}
			return movedOr(done, err)
		}
	}
	return uintptr(done), nil
}

// remoteIovecs are the ranges of another process's memory that
// process_vm_rw names: EINVAL for more than UIO_MAXIOV or a negative
// length; whether they are mapped is the copy's concern.
func remoteIovecs(t *kernel.Task, addr uintptr, cnt int) ([]platform.Range, error) {
	if cnt < 0 || cnt > linux.UIO_MAXIOV {
		return nil, unix.EINVAL
	}
	iovs := make([]abi.Iovec, cnt)
	if err := kernel.CopyInSlice(t, addr, iovs); err != nil {
		return nil, err
	}
	return usermem.ImportIovecs(iovs)
}

// movedOr returns done if any bytes moved, else err.
func movedOr(done int, err error) (uintptr, error) {
	if done > 0 {
		return uintptr(done), nil
	}
	return 0, err
}
