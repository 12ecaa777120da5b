package strace

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
)

// sigaltstack shows its stack_t's; rt_sigtimedwait its set, the siginfo
// it filled and the signal it returned by name; waitid its id type and the
// child's siginfo.
func init() {
	formats[unix.SYS_SIGALTSTACK] = format{args: []arg{
		in(func(c *call, v uintptr) string { return signalStack(c.mem, v) }),
		out(func(c *call, v uintptr) string {
			if c.failed() {
				return pointer(v)
			}
			return signalStack(c.mem, v)
		})}}
	formats[unix.SYS_RT_SIGTIMEDWAIT] = format{args: []arg{aSigsetIn, aSiginfoOut, aTS, aULong},
		ret: func(c *call) string { return strconv.Itoa(int(c.ret)) + " (" + signalName(int(c.ret)) + ")" }}
	formats[unix.SYS_WAITID] = format{args: []arg{aValueOf(idTypes, "P"), aInt, aSiginfoOut, aFlagsOf(waitOptions, "0"), aPtr}}
}

var idTypes = map[uint64]string{linux.P_ALL: "P_ALL", linux.P_PID: "P_PID", linux.P_PGID: "P_PGID", linux.P_PIDFD: "P_PIDFD"}

// aSiginfoOut is a siginfo_t the call fills: {} when it filled none
// (waitid with WNOHANG and no child ready).
var aSiginfoOut = out(func(c *call, v uintptr) string {
	if c.failed() || v == 0 {
		return pointer(v)
	}
	return structAt(c.mem, v, func(si linux.SignalInfo) string {
		if si.Signo == 0 {
			return "{}"
		}
		return siginfo(&si)
	})
})

var ssFlags = []flag{{linux.SS_ONSTACK, "SS_ONSTACK"}, {linux.SS_DISABLE, "SS_DISABLE"}, {1 << 31, "SS_AUTODISARM"}}

func signalStack(mem interpose.Memory, addr uintptr) string {
	return structAt(mem, addr, func(ss linux.SignalStack) string {
		return fmt.Sprintf("{ss_sp=%s, ss_flags=%s, ss_size=%d}", pointer(uintptr(ss.Addr)), flags(ssFlags, uint64(ss.Flags), "0"), ss.Size)
	})
}
