package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
)

// prctl shows its option by name and the arguments the option takes, as
// strace does; an unknown option, all five in hex.
func init() {
	formats[unix.SYS_PRCTL] = format{args: []arg{out(prctlCall)}, ret: prctlResult}
}

// prctlArgs are, per option, how its arguments after the first show
// (shown at exit, once an out-argument is filled).
var prctlArgs = map[uint64]func(c *call) []string{
	linux.PR_SET_PDEATHSIG: func(c *call) []string { return []string{signalName(int(int32(c.args[1])))} },
	linux.PR_GET_PDEATHSIG: func(c *call) []string { return []string{outInt(c, c.args[1], signalName)} },
	linux.PR_GET_DUMPABLE:  none, linux.PR_GET_KEEPCAPS: none, linux.PR_GET_SECCOMP: none, linux.PR_GET_TIMERSLACK: none,
	linux.PR_GET_SECUREBITS: none, linux.PR_GET_THP_DISABLE: none, linux.PR_GET_TSC: none,
	linux.PR_SET_DUMPABLE: func(c *call) []string { return []string{value(dumpables, uint64(c.args[1]), "SUID_DUMP")} },
	linux.PR_SET_KEEPCAPS: ulongs(1), linux.PR_SET_TIMERSLACK: ulongs(1), linux.PR_SET_CHILD_SUBREAPER: ulongs(1),
	linux.PR_SET_NAME: func(c *call) []string { return []string{cString(c.mem, c.args[1], 16)} },
	linux.PR_GET_NAME: func(c *call) []string {
		if c.failed() {
			return []string{pointer(c.args[1])}
		}
		return []string{cString(c.mem, c.args[1], 16)}
	},
	linux.PR_SET_NO_NEW_PRIVS: ulongs(4), linux.PR_GET_NO_NEW_PRIVS: ulongs(4), linux.PR_SET_THP_DISABLE: ulongs(4),
	linux.PR_GET_CHILD_SUBREAPER: func(c *call) []string {
		return []string{outInt(c, c.args[1], func(v int) string { return strconv.Itoa(v) })}
	},
	linux.PR_SET_SECCOMP: func(c *call) []string {
		mode := value(map[uint64]string{1: "SECCOMP_MODE_STRICT", 2: "SECCOMP_MODE_FILTER"}, uint64(c.args[1]), "SECCOMP_MODE")
		if c.args[1] == linux.SECCOMP_MODE_FILTER {
			return []string{mode, pointer(c.args[2])}
		}
		return []string{mode}
	},
	linux.PR_CAPBSET_READ: capArg, linux.PR_CAPBSET_DROP: capArg,
}

func none(*call) []string { return nil }

// ulongs shows n arguments in decimal.
func ulongs(n int) func(c *call) []string {
	return func(c *call) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = strconv.FormatUint(uint64(c.args[1+i]), 10)
		}
		return s
	}
}

// outInt shows an int the call stored at addr, [shown], or the address.
func outInt(c *call, addr uintptr, show func(int) string) string {
	if c.failed() || addr == 0 {
		return pointer(addr)
	}
	v, err := interpose.Read[int32](c.mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return "[" + show(int(v)) + "]"
}

var dumpables = map[uint64]string{linux.SUID_DUMP_DISABLE: "SUID_DUMP_DISABLE", linux.SUID_DUMP_USER: "SUID_DUMP_USER", linux.SUID_DUMP_ROOT: "SUID_DUMP_ROOT"}

var prctlOptions = map[uint64]string{
	linux.PR_SET_PDEATHSIG: "PR_SET_PDEATHSIG", linux.PR_GET_PDEATHSIG: "PR_GET_PDEATHSIG",
	linux.PR_GET_DUMPABLE: "PR_GET_DUMPABLE", linux.PR_SET_DUMPABLE: "PR_SET_DUMPABLE",
	linux.PR_GET_KEEPCAPS: "PR_GET_KEEPCAPS", linux.PR_SET_KEEPCAPS: "PR_SET_KEEPCAPS",
	linux.PR_GET_TIMING: "PR_GET_TIMING", linux.PR_SET_TIMING: "PR_SET_TIMING",
	linux.PR_SET_NAME: "PR_SET_NAME", linux.PR_GET_NAME: "PR_GET_NAME",
	linux.PR_GET_SECCOMP: "PR_GET_SECCOMP", linux.PR_SET_SECCOMP: "PR_SET_SECCOMP",
	linux.PR_CAPBSET_READ: "PR_CAPBSET_READ", linux.PR_CAPBSET_DROP: "PR_CAPBSET_DROP",
	linux.PR_GET_TSC: "PR_GET_TSC", linux.PR_SET_TSC: "PR_SET_TSC",
	linux.PR_GET_SECUREBITS: "PR_GET_SECUREBITS", linux.PR_SET_SECUREBITS: "PR_SET_SECUREBITS",
	linux.PR_SET_TIMERSLACK: "PR_SET_TIMERSLACK", linux.PR_GET_TIMERSLACK: "PR_GET_TIMERSLACK",
	linux.PR_SET_MM: "PR_SET_MM", linux.PR_SET_CHILD_SUBREAPER: "PR_SET_CHILD_SUBREAPER",
	linux.PR_GET_CHILD_SUBREAPER: "PR_GET_CHILD_SUBREAPER", linux.PR_SET_NO_NEW_PRIVS: "PR_SET_NO_NEW_PRIVS",
	linux.PR_GET_NO_NEW_PRIVS: "PR_GET_NO_NEW_PRIVS", linux.PR_GET_TID_ADDRESS: "PR_GET_TID_ADDRESS",
	linux.PR_SET_THP_DISABLE: "PR_SET_THP_DISABLE", linux.PR_GET_THP_DISABLE: "PR_GET_THP_DISABLE",
	linux.PR_CAP_AMBIENT: "PR_CAP_AMBIENT", linux.PR_SET_VMA: "PR_SET_VMA", linux.PR_SET_PTRACER: "PR_SET_PTRACER",
}

// prctlCall shows all of prctl's arguments.
func prctlCall(c *call, v uintptr) string {
	opt := uint64(uint32(v))
	name, known := prctlOptions[opt]
	show, decoded := prctlArgs[opt]
	if !known || !decoded {
		parts := []string{value(prctlOptions, opt, "PR")}
		for _, a := range c.args[1:5] {
			parts = append(parts, hex(uint64(a)))
		}
		return strings.Join(parts, ", ")
	}
	return strings.Join(append([]string{name}, show(c)...), ", ")
}

// prctlResult shows PR_GET_DUMPABLE's result by name.
func prctlResult(c *call) string {
	s := strconv.FormatInt(int64(c.ret), 10)
	if c.args[0] == linux.PR_GET_DUMPABLE {
		s += " (" + value(dumpables, uint64(c.ret), "") + ")"
	}
	return s
}

// capArg shows a capability by name.
func capArg(c *call) []string {
	if n := uint64(c.args[1]); n < uint64(len(capNames)) {
		return []string{capNames[n]}
	}
	return []string{hex(uint64(c.args[1])) + " /* CAP_??? */"}
}

var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
	"CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}
