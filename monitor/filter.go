package monitor

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// maxFilterSyscalls is the most syscalls a filter names one by one (its
// jumps are 8-bit).
const maxFilterSyscalls = 200

// monitorFilter is the seccomp program of a monitor: a call of another
// architecture (int 0x80) or of x32 kills the process, since the policy
// is written for x86-64 numbers; the policy's syscalls (or all, if all)
// get action (SECCOMP_RET_USER_NOTIF or SECCOMP_RET_TRACE), the rest are
// allowed.
func monitorFilter(nrs []uintptr, all bool, action uint32) ([]unix.SockFilter, error) {
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		x32   = 0x40000000 // __X32_SYSCALL_BIT
	)
	if len(nrs) > maxFilterSyscalls {
		return nil, fmt.Errorf("a policy of %d syscalls: at most %d, or all", len(nrs), maxFilterSyscalls)
	}
	n := uint8(len(nrs))
	p := []unix.SockFilter{
		{Code: ldAbs, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 1, K: linux.AUDIT_ARCH_X86_64},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ldAbs, K: 0},            // seccomp_data.nr
		{Code: jge, Jt: n + 2, K: x32}, // to the KILL at the end
	}
	if all {
		return append(p[:4], unix.SockFilter{Code: jge, Jt: 1, K: x32},
			unix.SockFilter{Code: ret, K: action},
			unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS}), nil
	}
	for i, nr := range nrs {
		// Past the remaining tests and the ALLOW, to the NOTIF.
		p = append(p, unix.SockFilter{Code: jeq, Jt: n - uint8(i), K: uint32(nr)})
	}
	return append(p,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: action},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS}), nil
}
