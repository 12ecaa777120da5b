package ptrace

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

// The ptrace requests whose data argument points into Go memory. Invariant:
// the kernel reads or writes exactly the object passed (a struct
// user_regs_struct, which platform.Registers mirrors field for field and
// registers_test.go checks; a 128-byte siginfo_t; an iovec and the buffer it
// describes) and only during the call, while the pointers are kept alive.

func ptrace(req, tid int, addr, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getRegs(tid int, r *platform.Registers) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(r)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func setRegs(tid int, r *platform.Registers) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(r)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getSiginfo(tid int, si *linux.SignalInfo) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(si)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// regset runs PTRACE_GETREGSET or PTRACE_SETREGSET for the XSAVE area in b
// and returns how many bytes the kernel used.
func regset(req, tid int, b []byte) (int, error) {
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), unix.NT_X86_XSTATE, uintptr(unsafe.Pointer(&iov)), 0, 0)
	runtime.KeepAlive(b)
	if e != 0 {
		return 0, e
	}
	return int(iov.Len), nil
}

// sigaction is the kernel's struct sigaction on x86-64.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// addSigchldFlags ORs flags into the process's SIGCHLD action, keeping its
// handler (the Go runtime's).
func addSigchldFlags(flags uint64) error {
	var act sigaction
	const setSize = 8 // the kernel's sigset_t
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0, uintptr(unsafe.Pointer(&act)), setSize, 0, 0); e != 0 {
		return fmt.Errorf("reading the SIGCHLD action: %w", e)
	}
	if act.flags&flags == flags {
		return nil
	}
	act.flags |= flags
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&act)), 0, setSize, 0, 0); e != 0 {
		return fmt.Errorf("setting the SIGCHLD action: %w", e)
	}
	return nil
}

// syscallInfo is struct ptrace_syscall_info at a syscall-entry stop (the
// entry member of its union).
type syscallInfo = abi.PtraceSyscallInfo

// getSyscallInfo reads the kernel's description of the syscall tid stopped
// at (PTRACE_GET_SYSCALL_INFO, Linux 5.3). Invariant: the kernel writes at
// most the size passed into the object, during the call.
func getSyscallInfo(tid int, info *syscallInfo) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	runtime.KeepAlive(info)
	if e != 0 {
		return e
	}
	return nil
}
