package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
)

// call is what the decoder knows of one syscall: at entry its arguments
// and the task's memory, at exit its result too.
type call struct {
	mem   interpose.Memory
	args  [6]uintptr
	sp    uintptr // the stack pointer at entry
	ret   uintptr
	errno unix.Errno
}

// failed reports whether the call failed (out-arguments show as addresses).
func (c *call) failed() bool { return c.errno != 0 }

// arg formats one argument; out arguments are filled by the call, so
// they are shown when it returns.
type arg struct {
	show func(c *call, v uintptr) string
	out  bool
}

// format is how strace shows one syscall.
type format struct {
	args []arg
	// nargs, when set, is how many arguments are shown (open shows its
	// mode only with O_CREAT).
	nargs func(c *call) int
	// ret shows a successful result; nil is decimal.
	ret func(c *call) string
}

func in(f func(c *call, v uintptr) string) arg  { return arg{show: f} }
func out(f func(c *call, v uintptr) string) arg { return arg{show: f, out: true} }

// Argument kinds.
var (
	aInt   = in(func(_ *call, v uintptr) string { return strconv.Itoa(int(int32(v))) })
	aLong  = in(func(_ *call, v uintptr) string { return strconv.FormatInt(int64(v), 10) })
	aULong = in(func(_ *call, v uintptr) string { return strconv.FormatUint(uint64(v), 10) })
	aHex   = in(func(_ *call, v uintptr) string { return hex(uint64(v)) })
	aPtr   = in(func(_ *call, v uintptr) string { return pointer(v) })
	aFD    = aInt
	aDirFD = in(func(_ *call, v uintptr) string {
		if int32(v) == linux.AT_FDCWD {
			return "AT_FDCWD"
		}
		return strconv.Itoa(int(int32(v)))
	})
	aPath  = in(func(c *call, v uintptr) string { return cString(c.mem, v, unix.PathMax) })
	aStr   = in(func(c *call, v uintptr) string { return cString(c.mem, v, maxString) })
	aMode  = in(func(_ *call, v uintptr) string { return "0" + strconv.FormatUint(uint64(v)&0o7777, 8) })
	aOpen  = in(func(_ *call, v uintptr) string { return openFlagsString(uint64(v)) })
	aProt  = in(func(_ *call, v uintptr) string { return flags(protFlags, uint64(v), "PROT_NONE") })
	aMap   = in(func(_ *call, v uintptr) string { return mapFlagsString(uint64(v)) })
	aSig   = in(func(_ *call, v uintptr) string { return signalName(int(int32(v))) })
	aAt    = in(func(_ *call, v uintptr) string { return flags(atFlags, uint64(v), "0") })
	aOff   = in(func(_ *call, v uintptr) string { return hex(uint64(v)) })
	aClock = in(func(_ *call, v uintptr) string { return value(clocks, uint64(v), "") })
	aTS    = in(func(c *call, v uintptr) string { return timespec(c.mem, v) })
	aStat  = out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return statStruct(c.mem, v)
	})
	aPipe = out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return intPair(c.mem, v)
	})
	aSigsetIn  = in(func(c *call, v uintptr) string { return sigsetAt(c.mem, v) })
	aSigsetOut = out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return sigsetAt(c.mem, v)
	})
	aFlagsOf = func(set []flag, zero string) arg {
		return in(func(_ *call, v uintptr) string { return flags(set, uint64(v), zero) })
	}
	aValueOf = func(set map[uint64]string, unknown string) arg {
		return in(func(_ *call, v uintptr) string { return value(set, uint64(v), unknown) })
	}
	// aBufIn is a buffer the call reads, of the length in argument n.
	aBufIn = func(n int) arg {
		return in(func(c *call, v uintptr) string { return buffer(c.mem, v, uint64(c.args[n])) })
	}
	// aBufOut is a buffer the call fills with as many bytes as it returns.
	aBufOut = out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return buffer(c.mem, v, uint64(c.ret))
	})
	aIovIn = in(func(c *call, v uintptr) string {
		return iovecs(c.mem, v, uint64(c.args[2]), ^uint64(0), true)
	})
	aIovOut = out(func(c *call, v uintptr) string {
		return iovecs(c.mem, v, uint64(c.args[2]), uint64(c.ret), !c.failed())
	})
	aSockaddrIn  = in(func(c *call, v uintptr) string { return sockaddr(c.mem, v, uint64(c.args[2])) })
	aSockaddrOut = out(func(c *call, v uintptr) string {
		if c.failed() || v == 0 {
			return pointer(v)
		}
		n, err := interpose.Read[uint32](c.mem, c.args[2])
		if err != nil {
			return pointer(v)
		}
		return sockaddr(c.mem, v, uint64(n))
	})
	aSocklenOut = out(func(c *call, v uintptr) string {
		if v == 0 {
			return "NULL"
		}
		n, err := interpose.Read[uint32](c.mem, v)
		if err != nil {
			return pointer(v)
		}
		return "[" + strconv.FormatUint(uint64(n), 10) + "]"
	})
	aArgv = in(func(c *call, v uintptr) string { return stringArray(c.mem, v) })
	aEnvp = in(func(c *call, v uintptr) string { return envCount(c.mem, v) })
)

func fixed(n int) func(*call) int { return func(*call) int { return n } }

// retHex shows an address result.
func retHex(c *call) string { return hex(uint64(c.ret)) }

// retFlags shows fcntl's F_GETFL and F_GETFD results as strace does.
func retFcntl(c *call) string {
	switch c.args[1] {
	case linux.F_GETFL:
		return hex(uint64(c.ret)) + " (flags " + openFlagsString(uint64(c.ret)) + ")"
	case linux.F_GETFD:
		if c.ret != 0 {
			return hex(uint64(c.ret)) + " (flags " + flags(fdFlags, uint64(c.ret), "") + ")"
		}
	}
	return strconv.FormatInt(int64(c.ret), 10)
}

// formats are the syscalls strace decodes; others show the table's
// argument kinds, or six hex numbers.
var formats = map[uintptr]format{
	unix.SYS_READ:        {args: []arg{aFD, aBufOut, aULong}},
	unix.SYS_WRITE:       {args: []arg{aFD, aBufIn(2), aULong}},
	unix.SYS_PREAD64:     {args: []arg{aFD, aBufOut, aULong, aLong}},
	unix.SYS_PWRITE64:    {args: []arg{aFD, aBufIn(2), aULong, aLong}},
	unix.SYS_READV:       {args: []arg{aFD, aIovOut, aInt}},
	unix.SYS_WRITEV:      {args: []arg{aFD, aIovIn, aInt}},
	unix.SYS_OPEN:        {args: []arg{aPath, aOpen, aMode}, nargs: openArgs(1)},
	unix.SYS_OPENAT:      {args: []arg{aDirFD, aPath, aOpen, aMode}, nargs: openArgs(2)},
	unix.SYS_CREAT:       {args: []arg{aPath, aMode}},
	unix.SYS_CLOSE:       {args: []arg{aFD}},
	unix.SYS_STAT:        {args: []arg{aPath, aStat}},
	unix.SYS_LSTAT:       {args: []arg{aPath, aStat}},
	unix.SYS_FSTAT:       {args: []arg{aFD, aStat}},
	unix.SYS_NEWFSTATAT:  {args: []arg{aDirFD, aPath, aStat, aAt}},
	unix.SYS_LSEEK:       {args: []arg{aFD, aLong, aValueOf(whences, "SEEK")}},
	unix.SYS_MMAP:        {args: []arg{aPtr, aULong, aProt, aMap, aFD, aOff}, ret: retHex},
	unix.SYS_MPROTECT:    {args: []arg{aPtr, aULong, aProt}},
	unix.SYS_MUNMAP:      {args: []arg{aPtr, aULong}},
	unix.SYS_BRK:         {args: []arg{aPtr}, ret: retHex},
	unix.SYS_MREMAP:      {args: []arg{aPtr, aULong, aULong, aFlagsOf([]flag{{1, "MREMAP_MAYMOVE"}, {2, "MREMAP_FIXED"}, {4, "MREMAP_DONTUNMAP"}}, "0"), aPtr}, nargs: fixed(4), ret: retHex},
	unix.SYS_MADVISE:     {args: []arg{aPtr, aULong, aValueOf(madvices, "MADV")}},
	unix.SYS_ACCESS:      {args: []arg{aPath, aFlagsOf(accessModes, "F_OK")}},
	unix.SYS_FACCESSAT:   {args: []arg{aDirFD, aPath, aFlagsOf(accessModes, "F_OK")}},
	unix.SYS_FACCESSAT2:  {args: []arg{aDirFD, aPath, aFlagsOf(accessModes, "F_OK"), aAt}},
	unix.SYS_DUP:         {args: []arg{aFD}},
	unix.SYS_DUP2:        {args: []arg{aFD, aFD}},
	unix.SYS_DUP3:        {args: []arg{aFD, aFD, aOpen}},
	unix.SYS_PIPE:        {args: []arg{aPipe}},
	unix.SYS_PIPE2:       {args: []arg{aPipe, aFlagsOf(openFlags[2:], "0")}},
	unix.SYS_GETPID:      {},
	unix.SYS_GETPPID:     {},
	unix.SYS_GETTID:      {},
	unix.SYS_GETUID:      {},
	unix.SYS_GETEUID:     {},
	unix.SYS_GETGID:      {},
	unix.SYS_GETEGID:     {},
	unix.SYS_SETSID:      {},
	unix.SYS_SCHED_YIELD: {},
	unix.SYS_PAUSE:       {},
	unix.SYS_FORK:        {},
	unix.SYS_VFORK:       {},
	unix.SYS_KILL:        {args: []arg{aInt, aSig}},
	unix.SYS_TKILL:       {args: []arg{aInt, aSig}},
	unix.SYS_TGKILL:      {args: []arg{aInt, aInt, aSig}},
	unix.SYS_RT_SIGACTION: {args: []arg{aSig, in(func(c *call, v uintptr) string { return sigaction(c.mem, v) }),
		out(func(c *call, v uintptr) string {
			if c.failed() {
				return pointer(v)
			}
			return sigaction(c.mem, v)
		}), aULong}},
	unix.SYS_RT_SIGPROCMASK: {args: []arg{aValueOf(sigHows, "SIG"), aSigsetIn, aSigsetOut, aULong}},
	unix.SYS_RT_SIGRETURN: {args: []arg{in(func(c *call, _ uintptr) string {
		uc, err := interpose.Read[abi.UContext](c.mem, c.sp)
		if err != nil {
			return pointer(c.sp)
		}
		return "{mask=" + sigset(uint64(uc.Sigmask)) + "}"
	})}},
	unix.SYS_RT_SIGSUSPEND: {args: []arg{aSigsetIn, aULong}},
	unix.SYS_NANOSLEEP:     {args: []arg{aTS, out(func(c *call, v uintptr) string { return tsOrPtr(c, v) })}},
	unix.SYS_CLOCK_NANOSLEEP: {args: []arg{aClock, aFlagsOf([]flag{{linux.TIMER_ABSTIME, "TIMER_ABSTIME"}}, "0"), aTS,
		out(func(c *call, v uintptr) string { return tsOrPtr(c, v) })}},
	unix.SYS_CLOCK_GETTIME: {args: []arg{aClock, out(func(c *call, v uintptr) string { return tsOrPtr(c, v) })}},
	unix.SYS_SOCKET:        {args: []arg{aValueOf(families, "AF"), in(func(_ *call, v uintptr) string { return sockTypeString(uint64(v)) }), in(protocol)}},
	unix.SYS_SOCKETPAIR:    {args: []arg{aValueOf(families, "AF"), in(func(_ *call, v uintptr) string { return sockTypeString(uint64(v)) }), in(protocol), aPipe}},
	unix.SYS_CONNECT:       {args: []arg{aFD, aSockaddrIn, aULong}},
	unix.SYS_BIND:          {args: []arg{aFD, aSockaddrIn, aULong}},
	unix.SYS_LISTEN:        {args: []arg{aFD, aInt}},
	unix.SYS_ACCEPT:        {args: []arg{aFD, aSockaddrOut, aSocklenOut}},
	unix.SYS_ACCEPT4:       {args: []arg{aFD, aSockaddrOut, aSocklenOut, aFlagsOf(sockFlags, "0")}},
	unix.SYS_GETSOCKNAME:   {args: []arg{aFD, aSockaddrOut, aSocklenOut}},
	unix.SYS_GETPEERNAME:   {args: []arg{aFD, aSockaddrOut, aSocklenOut}},
	unix.SYS_SHUTDOWN:      {args: []arg{aFD, aValueOf(shutdownHows, "SHUT")}},
	unix.SYS_SENDTO:        {args: []arg{aFD, aBufIn(2), aULong, aFlagsOf(msgFlags, "0"), in(func(c *call, v uintptr) string { return sockaddr(c.mem, v, uint64(c.args[5])) }), aULong}},
	unix.SYS_RECVFROM:      {args: []arg{aFD, aBufOut, aULong, aFlagsOf(msgFlags, "0"), aSockaddrOutAt(5), aSocklenOut}},
	unix.SYS_FUTEX:         {args: []arg{in(futexCall)}},
	unix.SYS_CLONE:         {args: []arg{in(cloneCall)}},
	unix.SYS_CLONE3:        {args: []arg{out(clone3Args), aULong}},
	unix.SYS_IOCTL:         {args: []arg{aFD, aValueOf(ioctls, "_IOC"), aPtr}},
	unix.SYS_UNAME: {args: []arg{out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return utsname(c.mem, v)
	})}},
	unix.SYS_WAIT4: {args: []arg{aInt, out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return waitStatus(c.mem, v)
	}), aFlagsOf(waitOptions, "0"), aPtr}},
	unix.SYS_EXIT:       {args: []arg{aInt}},
	unix.SYS_EXIT_GROUP: {args: []arg{aInt}},
	unix.SYS_EXECVE:     {args: []arg{aPath, aArgv, aEnvp}},
	unix.SYS_EXECVEAT:   {args: []arg{aDirFD, aPath, aArgv, aEnvp, aAt}},
	unix.SYS_POLL: {args: []arg{in(func(c *call, v uintptr) string { return pollfds(c.mem, v, uint64(c.args[1]), false) }), aULong, aInt}, ret: func(c *call) string {
		if c.ret == 0 {
			return "0 (Timeout)"
		}
		return strconv.Itoa(int(c.ret)) + " (" + pollfds(c.mem, c.args[0], uint64(c.args[1]), true) + ")"
	}},
	unix.SYS_EPOLL_CREATE1: {args: []arg{aFlagsOf([]flag{{linux.EPOLL_CLOEXEC, "EPOLL_CLOEXEC"}}, "0")}},
	unix.SYS_EPOLL_CTL:     {args: []arg{aFD, aValueOf(epollOps, "EPOLL_CTL"), aFD, in(func(c *call, v uintptr) string { return epollEventsAt(c.mem, v, 1, false) })}},
	unix.SYS_EPOLL_WAIT: {args: []arg{aFD, out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return epollEventsAt(c.mem, v, uint64(c.ret), true)
	}), aInt, aInt}},
	unix.SYS_FCNTL: {args: []arg{aFD, aValueOf(fcntlCmds, "F"), in(fcntlArg)}, nargs: fcntlArgs, ret: retFcntl},
	unix.SYS_GETRANDOM: {args: []arg{out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return hexBuffer(c.mem, v, uint64(c.ret))
	}), aULong, aFlagsOf(grndFlags, "0")}},
	unix.SYS_FADVISE64:       {args: []arg{aFD, aLong, aLong, aValueOf(fadvices, "")}},
	unix.SYS_SET_TID_ADDRESS: {args: []arg{aPtr}},
	unix.SYS_SET_ROBUST_LIST: {args: []arg{aPtr, aULong}},
	unix.SYS_ARCH_PRCTL:      {args: []arg{aValueOf(archPrctlCodes, "ARCH"), aPtr}},
	unix.SYS_PRLIMIT64: {args: []arg{aInt, aValueOf(rlimits, "RLIMIT"), in(func(c *call, v uintptr) string { return rlimit(c.mem, v) }),
		out(func(c *call, v uintptr) string {
			if c.failed() {
				return pointer(v)
			}
			return rlimit(c.mem, v)
		})}},
	unix.SYS_READLINK:   {args: []arg{aPath, aBufOut, aULong}},
	unix.SYS_READLINKAT: {args: []arg{aDirFD, aPath, aBufOut, aULong}},
	unix.SYS_UNLINK:     {args: []arg{aPath}},
	unix.SYS_UNLINKAT:   {args: []arg{aDirFD, aPath, aAt}},
	unix.SYS_MKDIR:      {args: []arg{aPath, aMode}},
	unix.SYS_MKDIRAT:    {args: []arg{aDirFD, aPath, aMode}},
	unix.SYS_RMDIR:      {args: []arg{aPath}},
	unix.SYS_CHDIR:      {args: []arg{aPath}},
	unix.SYS_FCHDIR:     {args: []arg{aFD}},
	unix.SYS_RENAME:     {args: []arg{aPath, aPath}},
	unix.SYS_RENAMEAT:   {args: []arg{aDirFD, aPath, aDirFD, aPath}},
	unix.SYS_SYMLINK:    {args: []arg{aPath, aPath}},
	unix.SYS_LINK:       {args: []arg{aPath, aPath}},
	unix.SYS_CHMOD:      {args: []arg{aPath, aMode}},
	unix.SYS_FCHMOD:     {args: []arg{aFD, aMode}},
	unix.SYS_FTRUNCATE:  {args: []arg{aFD, aLong}},
	unix.SYS_TRUNCATE:   {args: []arg{aPath, aLong}},
	unix.SYS_FSYNC:      {args: []arg{aFD}},
	unix.SYS_UMASK:      {args: []arg{in(func(_ *call, v uintptr) string { return "0" + strconv.FormatUint(uint64(v)&0o777, 8) })}, ret: func(c *call) string { return "0" + strconv.FormatUint(uint64(c.ret), 8) }},
	unix.SYS_GETCWD: {args: []arg{out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return cString(c.mem, v, unix.PathMax)
	}), aULong}},
	unix.SYS_GETDENTS64: {args: []arg{aFD, out(func(c *call, v uintptr) string {
		if c.failed() {
			return pointer(v)
		}
		return pointer(v) + " /* " + strconv.Itoa(direntCount(c.mem, v, uint64(c.ret))) + " entries */"
	}), aULong}},
	unix.SYS_SETPGID:    {args: []arg{aInt, aInt}},
	unix.SYS_GETPGID:    {args: []arg{aInt}},
	unix.SYS_SETUID:     {args: []arg{aInt}},
	unix.SYS_SETGID:     {args: []arg{aInt}},
	unix.SYS_ALARM:      {args: []arg{aULong}},
	unix.SYS_RSEQ:       {args: []arg{aPtr, aHex, aInt, aHex}},
	unix.SYS_EVENTFD2:   {args: []arg{aULong, aFlagsOf([]flag{{linux.EFD_SEMAPHORE, "EFD_SEMAPHORE"}, {linux.EFD_NONBLOCK, "EFD_NONBLOCK"}, {linux.EFD_CLOEXEC, "EFD_CLOEXEC"}}, "0")}},
	unix.SYS_MEMBARRIER: {args: []arg{aHex, aHex, aInt}},
}

func aSockaddrOutAt(lenArg int) arg {
	return out(func(c *call, v uintptr) string {
		if c.failed() || v == 0 {
			return pointer(v)
		}
		n, err := interpose.Read[uint32](c.mem, c.args[lenArg])
		if err != nil {
			return pointer(v)
		}
		return sockaddr(c.mem, v, uint64(n))
	})
}

// tsOrPtr shows a timespec the call fills, or its address.
func tsOrPtr(c *call, v uintptr) string {
	if c.failed() && c.errno != unix.EINTR {
		return pointer(v)
	}
	return timespec(c.mem, v)
}

// protocol shows socket's protocol: by name for the Internet families.
func protocol(c *call, v uintptr) string {
	if f := c.args[0]; f == linux.AF_INET || f == linux.AF_INET6 {
		return value(ipProtocols, uint64(v), "IPPROTO")
	}
	return strconv.Itoa(int(int32(v)))
}

// openArgs shows the mode (argument i+1) only when flags (argument i)
// create a file.
func openArgs(i int) func(c *call) int {
	return func(c *call) int {
		if c.args[i]&linux.O_CREAT != 0 || c.args[i]&unix.O_TMPFILE == unix.O_TMPFILE {
			return i + 2
		}
		return i + 1
	}
}

// futexCall shows futex's arguments as strace does: those the operation
// uses, the timeout as a timespec, a bitset of all ones by name.
func futexCall(c *call, _ uintptr) string {
	op := uint64(c.args[1])
	addr, val, timeout := pointer(c.args[0]), strconv.Itoa(int(int32(c.args[2]))), timespec(c.mem, c.args[3])
	val2, addr2, val3 := strconv.Itoa(int(int32(c.args[3]))), pointer(c.args[4]), hex(uint64(uint32(c.args[5])))
	if uint32(c.args[5]) == linux.FUTEX_BITSET_MATCH_ANY {
		val3 = "FUTEX_BITSET_MATCH_ANY"
	}
	parts := []string{addr, futexOpString(op)}
	switch op & 0x7f {
	case linux.FUTEX_WAIT:
		parts = append(parts, val, timeout)
	case linux.FUTEX_WAKE:
		parts = append(parts, val)
	case linux.FUTEX_WAIT_BITSET:
		parts = append(parts, val, timeout, val3)
	case linux.FUTEX_WAKE_BITSET:
		parts = append(parts, val, val3)
	case linux.FUTEX_REQUEUE:
		parts = append(parts, val, val2, addr2)
	case linux.FUTEX_CMP_REQUEUE, linux.FUTEX_WAKE_OP:
		parts = append(parts, val, val2, addr2, val3)
	case linux.FUTEX_LOCK_PI, 13: // FUTEX_LOCK_PI2
		parts = append(parts, timeout)
	case linux.FUTEX_UNLOCK_PI, linux.FUTEX_TRYLOCK_PI:
	case linux.FUTEX_WAIT_REQUEUE_PI:
		parts = append(parts, val, timeout, addr2)
	case linux.FUTEX_CMP_REQUEUE_PI:
		parts = append(parts, val, val2, addr2, val3)
	default:
		parts = append(parts, val, hex(uint64(c.args[3])), addr2, val3)
	}
	return strings.Join(parts, ", ")
}

// cloneCall shows clone's arguments as strace does, named, the stack
// first, and the tid and tls arguments only when the flags use them.
// x86-64's order is flags, stack, parent_tid, child_tid, tls.
func cloneCall(c *call, _ uintptr) string {
	f := uint64(c.args[0])
	s := "child_stack=" + pointer(c.args[1]) + ", flags=" + cloneFlagsString(f)
	if f&(linux.CLONE_PARENT_SETTID|unix.CLONE_PIDFD) != 0 {
		s += ", parent_tid=" + pointer(c.args[2])
	}
	if f&(linux.CLONE_CHILD_SETTID|linux.CLONE_CHILD_CLEARTID) != 0 {
		s += ", child_tidptr=" + pointer(c.args[3])
	}
	if f&linux.CLONE_SETTLS != 0 {
		s += ", tls=" + pointer(c.args[4])
	}
	return s
}

// clone3Args shows clone3's struct clone_args as strace does, and what
// the call wrote back: {flags=..., ...} => {parent_tid=[N]}. It is shown
// at exit, whole.
func clone3Args(c *call, v uintptr) string {
	ca, err := interpose.Read[linux.CloneArgs](c.mem, v)
	if err != nil || c.args[1] < 64 {
		return pointer(v)
	}
	var b strings.Builder
	b.WriteString("{flags=" + flags(cloneFlags, ca.Flags, "0"))
	if ca.Flags&unix.CLONE_PIDFD != 0 {
		b.WriteString(", pidfd=" + pointer(uintptr(ca.Pidfd)))
	}
	if ca.Flags&(linux.CLONE_CHILD_SETTID|linux.CLONE_CHILD_CLEARTID) != 0 {
		b.WriteString(", child_tid=" + pointer(uintptr(ca.ChildTID)))
	}
	if ca.Flags&linux.CLONE_PARENT_SETTID != 0 {
		b.WriteString(", parent_tid=" + pointer(uintptr(ca.ParentTID)))
	}
	b.WriteString(", exit_signal=" + signalName(int(ca.ExitSignal)))
	b.WriteString(", stack=" + pointer(uintptr(ca.Stack)) + ", stack_size=" + hex(ca.StackSize))
	if ca.Flags&linux.CLONE_SETTLS != 0 {
		b.WriteString(", tls=" + pointer(uintptr(ca.TLS)))
	}
	b.WriteString("}")
	if !c.failed() && ca.Flags&linux.CLONE_PARENT_SETTID != 0 {
		if tid, err := interpose.Read[int32](c.mem, uintptr(ca.ParentTID)); err == nil {
			b.WriteString(" => {parent_tid=[" + strconv.Itoa(int(tid)) + "]}")
		}
	}
	return b.String()
}

// fcntlArgs: the get commands take no third argument.
func fcntlArgs(c *call) int {
	switch c.args[1] {
	case linux.F_GETFD, linux.F_GETFL, linux.F_GETOWN, linux.F_GETPIPE_SZ, linux.F_GET_SEALS:
		return 2
	}
	return 3
}

func fcntlArg(c *call, v uintptr) string {
	switch c.args[1] {
	case linux.F_SETFD:
		return flags(fdFlags, uint64(v), "0")
	case linux.F_SETFL:
		return openFlagsString(uint64(v))
	case linux.F_GETLK, linux.F_SETLK, linux.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return pointer(v)
	}
	return strconv.Itoa(int(int32(v)))
}

// direntCount counts the linux_dirent64 records in n bytes at addr.
func direntCount(mem interpose.Memory, addr uintptr, n uint64) int {
	count := 0
	for off := uint64(0); off+19 <= n; count++ {
		var reclen [2]byte
		if mem.CopyIn(addr+uintptr(off)+16, reclen[:]) != nil {
			break
		}
		rl := uint64(reclen[0]) | uint64(reclen[1])<<8
		if rl == 0 {
			break
		}
		off += rl
	}
	return count
}

// kindArg is an argument of a syscall strace has no format for, shown as
// the table's ArgKind says.
func kindArg(k kernel.ArgKind) arg {
	switch k {
	case kernel.ArgInt:
		return aInt
	case kernel.ArgFD:
		return aDirFD
	case kernel.ArgPath:
		return aPath
	case kernel.ArgString:
		return aStr
	case kernel.ArgOct:
		return aMode
	}
	return aHex
}

// errnoText is how strace shows a failure: -1 ENOENT (No such file or
// directory); the restart errnos, which an application never sees, as ?.
func errnoText(e unix.Errno) string {
	switch e {
	case kernel.ErrRestartSys:
		return "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
	case kernel.ErrRestartNoIntr:
		return "? ERESTARTNOINTR (To be restarted)"
	case kernel.ErrRestartNoHand:
		return "? ERESTARTNOHAND (To be restarted if no handler)"
	case kernel.ErrRestartBlock:
		return "? ERESTART_RESTARTBLOCK (Interrupted by signal)"
	}
	name := unix.ErrnoName(e)
	if name == "" {
		return "-1 " + strconv.Itoa(int(e)) + " (Unknown error " + strconv.Itoa(int(e)) + ")"
	}
	return "-1 " + name + " (" + errnoMessage(e) + ")"
}

// errnoMessage is strerror's message: Go's, which is glibc's with its
// first letter lowered, raised again.
func errnoMessage(e unix.Errno) string {
	m := e.Error()
	if m == "" {
		return m
	}
	return strings.ToUpper(m[:1]) + m[1:]
}
