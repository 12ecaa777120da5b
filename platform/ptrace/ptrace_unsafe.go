package ptrace

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

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

func getSiginfo(tid int, si *[128]byte) error {
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
