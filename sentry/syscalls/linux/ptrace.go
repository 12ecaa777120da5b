package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// ptrace(2) is the sentry's own (kernel/ptrace.go): tracers and tracees
// are tasks of the sandbox, and no request reaches the host's ptrace.

func registerPtrace(st *kernel.SyscallTable) {
	reg(st, unix.SYS_PTRACE, "ptrace", ptrace, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
}

func ptrace(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return t.Ptrace(int64(a[0]), int(a.Int(1)), a.Pointer(2), a.Pointer(3))
}
