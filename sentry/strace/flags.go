package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// flag is one named bit (or bits) of a flag set.
type flag struct {
	v    uint64
	name string
}

// flags shows v as strace shows a flag set: names joined by |, then the
// bits no name covers in hex; zero is zero, or zeroName if it has one.
func flags(set []flag, v uint64, zeroName string) string {
	if v == 0 {
		if zeroName != "" {
			return zeroName
		}
		return "0"
	}
	var parts []string
	for _, f := range set {
		if f.v != 0 && v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		parts = append(parts, hex(v))
	}
	return strings.Join(parts, "|")
}

// value shows v by its name in set, or as a decimal number with an
// unknown-name comment as strace does.
func value(set map[uint64]string, v uint64, unknown string) string {
	if n, ok := set[v]; ok {
		return n
	}
	if unknown != "" {
		return hex(v) + " /* " + unknown + "_??? */"
	}
	return strconv.FormatInt(int64(v), 10)
}

var openFlags = []flag{
	{linux.O_WRONLY, "O_WRONLY"}, {linux.O_RDWR, "O_RDWR"},
	{linux.O_CREAT, "O_CREAT"}, {linux.O_EXCL, "O_EXCL"}, {linux.O_NOCTTY, "O_NOCTTY"},
	{linux.O_TRUNC, "O_TRUNC"}, {linux.O_APPEND, "O_APPEND"}, {linux.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_TMPFILE, "O_TMPFILE"}, {linux.O_DSYNC, "O_DSYNC"}, {linux.O_ASYNC, "O_ASYNC"}, {linux.O_DIRECT, "O_DIRECT"},
	{linux.O_LARGEFILE, "O_LARGEFILE"}, {linux.O_DIRECTORY, "O_DIRECTORY"}, {linux.O_NOFOLLOW, "O_NOFOLLOW"},
	{linux.O_NOATIME, "O_NOATIME"}, {linux.O_CLOEXEC, "O_CLOEXEC"}, {linux.O_SYNC &^ linux.O_DSYNC, "__O_SYNC"},
	{linux.O_PATH, "O_PATH"},
}

// openFlagsString shows open's flags: the access mode always first.
func openFlagsString(v uint64) string {
	acc := [...]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]
	// O_SYNC is O_DSYNC|__O_SYNC: strace names it once.
	rest := v &^ 3
	var sync string
	if rest&linux.O_SYNC == linux.O_SYNC {
		sync, rest = "|O_SYNC", rest&^linux.O_SYNC
	}
	if rest&unix.O_TMPFILE == unix.O_TMPFILE {
		rest &^= linux.O_DIRECTORY // part of O_TMPFILE
	}
	if rest == 0 {
		return acc + sync
	}
	return acc + "|" + flags(openFlags[2:], rest, "") + sync
}

var protFlags = []flag{
	{linux.PROT_READ, "PROT_READ"}, {linux.PROT_WRITE, "PROT_WRITE"}, {linux.PROT_EXEC, "PROT_EXEC"},
	{linux.PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {linux.PROT_GROWSUP, "PROT_GROWSUP"},
}

var mapTypes = map[uint64]string{linux.MAP_SHARED: "MAP_SHARED", linux.MAP_PRIVATE: "MAP_PRIVATE", unix.MAP_SHARED_VALIDATE: "MAP_SHARED_VALIDATE"}

var mapFlags = []flag{
	{linux.MAP_FIXED, "MAP_FIXED"}, {linux.MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {linux.MAP_32BIT, "MAP_32BIT"},
	{linux.MAP_GROWSDOWN, "MAP_GROWSDOWN"}, {linux.MAP_DENYWRITE, "MAP_DENYWRITE"}, {linux.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{linux.MAP_LOCKED, "MAP_LOCKED"}, {linux.MAP_NORESERVE, "MAP_NORESERVE"}, {linux.MAP_POPULATE, "MAP_POPULATE"},
	{linux.MAP_NONBLOCK, "MAP_NONBLOCK"}, {linux.MAP_STACK, "MAP_STACK"}, {linux.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_SYNC, "MAP_SYNC"}, {linux.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}

func mapFlagsString(v uint64) string {
	typ := value(mapTypes, v&0xf, "")
	if v&^0xf == 0 {
		return typ
	}
	return typ + "|" + flags(mapFlags, v&^0xf, "")
}

var cloneFlags = []flag{
	{linux.CLONE_VM, "CLONE_VM"}, {linux.CLONE_FS, "CLONE_FS"}, {linux.CLONE_FILES, "CLONE_FILES"},
	{linux.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_PIDFD, "CLONE_PIDFD"}, {linux.CLONE_PTRACE, "CLONE_PTRACE"},
	{linux.CLONE_VFORK, "CLONE_VFORK"}, {linux.CLONE_PARENT, "CLONE_PARENT"}, {linux.CLONE_THREAD, "CLONE_THREAD"},
	{linux.CLONE_NEWNS, "CLONE_NEWNS"}, {linux.CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {linux.CLONE_SETTLS, "CLONE_SETTLS"},
	{linux.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {linux.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{linux.CLONE_DETACHED, "CLONE_DETACHED"}, {linux.CLONE_UNTRACED, "CLONE_UNTRACED"},
	{linux.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"}, {linux.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{linux.CLONE_NEWUTS, "CLONE_NEWUTS"}, {linux.CLONE_NEWIPC, "CLONE_NEWIPC"}, {linux.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{linux.CLONE_NEWPID, "CLONE_NEWPID"}, {linux.CLONE_NEWNET, "CLONE_NEWNET"}, {linux.CLONE_IO, "CLONE_IO"},
}

// cloneFlagsString shows clone's flags: the exit signal in the low byte
// by name.
func cloneFlagsString(v uint64) string {
	sig := v & 0xff
	rest := v &^ 0xff
	var parts []string
	if rest != 0 {
		parts = append(parts, flags(cloneFlags, rest, ""))
	}
	if sig != 0 || rest == 0 {
		parts = append(parts, signalName(int(sig)))
	}
	return strings.Join(parts, "|")
}

var futexOps = map[uint64]string{
	linux.FUTEX_WAIT: "FUTEX_WAIT", linux.FUTEX_WAKE: "FUTEX_WAKE", linux.FUTEX_FD: "FUTEX_FD",
	linux.FUTEX_REQUEUE: "FUTEX_REQUEUE", linux.FUTEX_CMP_REQUEUE: "FUTEX_CMP_REQUEUE",
	linux.FUTEX_WAKE_OP: "FUTEX_WAKE_OP", linux.FUTEX_LOCK_PI: "FUTEX_LOCK_PI", linux.FUTEX_UNLOCK_PI: "FUTEX_UNLOCK_PI",
	linux.FUTEX_TRYLOCK_PI: "FUTEX_TRYLOCK_PI", linux.FUTEX_WAIT_BITSET: "FUTEX_WAIT_BITSET",
	linux.FUTEX_WAKE_BITSET: "FUTEX_WAKE_BITSET", linux.FUTEX_WAIT_REQUEUE_PI: "FUTEX_WAIT_REQUEUE_PI",
	linux.FUTEX_CMP_REQUEUE_PI: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2",
}

// futexOpString shows futex's op: FUTEX_WAIT_PRIVATE, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME.
func futexOpString(v uint64) string {
	s := value(futexOps, v&0x7f, "FUTEX")
	if v&linux.FUTEX_PRIVATE_FLAG != 0 {
		s += "_PRIVATE"
	}
	if v&linux.FUTEX_CLOCK_REALTIME != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

var whences = map[uint64]string{linux.SEEK_SET: "SEEK_SET", linux.SEEK_CUR: "SEEK_CUR", linux.SEEK_END: "SEEK_END",
	linux.SEEK_DATA: "SEEK_DATA", linux.SEEK_HOLE: "SEEK_HOLE"}

var families = map[uint64]string{
	linux.AF_UNSPEC: "AF_UNSPEC", linux.AF_UNIX: "AF_UNIX", linux.AF_INET: "AF_INET", linux.AF_INET6: "AF_INET6",
	linux.AF_NETLINK: "AF_NETLINK", linux.AF_PACKET: "AF_PACKET", unix.AF_VSOCK: "AF_VSOCK", unix.AF_ALG: "AF_ALG",
}

var sockTypes = map[uint64]string{
	uint64(linux.SOCK_STREAM): "SOCK_STREAM", uint64(linux.SOCK_DGRAM): "SOCK_DGRAM", uint64(linux.SOCK_RAW): "SOCK_RAW",
	uint64(linux.SOCK_RDM): "SOCK_RDM", uint64(linux.SOCK_SEQPACKET): "SOCK_SEQPACKET", uint64(linux.SOCK_PACKET): "SOCK_PACKET",
}

var sockFlags = []flag{{linux.SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {linux.SOCK_CLOEXEC, "SOCK_CLOEXEC"}}

func sockTypeString(v uint64) string {
	s := value(sockTypes, v&0xf, "SOCK")
	if v&^0xf != 0 {
		s += "|" + flags(sockFlags, v&^0xf, "")
	}
	return s
}

var ipProtocols = map[uint64]string{
	linux.IPPROTO_IP: "IPPROTO_IP", linux.IPPROTO_ICMP: "IPPROTO_ICMP", linux.IPPROTO_TCP: "IPPROTO_TCP",
	linux.IPPROTO_UDP: "IPPROTO_UDP", linux.IPPROTO_ICMPV6: "IPPROTO_ICMPV6", linux.IPPROTO_RAW: "IPPROTO_RAW",
}

var accessModes = []flag{{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"}}

var atFlags = []flag{
	{linux.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {linux.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{linux.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {linux.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{linux.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {linux.AT_EACCESS, "AT_EACCESS"},
	{unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"}, {unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
}

var sigHows = map[uint64]string{linux.SIG_BLOCK: "SIG_BLOCK", linux.SIG_UNBLOCK: "SIG_UNBLOCK", linux.SIG_SETMASK: "SIG_SETMASK"}

// saFlags are in strace's order.
var saFlags = []flag{
	{linux.SA_RESTORER, "SA_RESTORER"}, {linux.SA_ONSTACK, "SA_ONSTACK"}, {linux.SA_RESTART, "SA_RESTART"},
	{linux.SA_NODEFER, "SA_NODEFER"}, {linux.SA_RESETHAND, "SA_RESETHAND"}, {linux.SA_SIGINFO, "SA_SIGINFO"},
	{linux.SA_NOCLDSTOP, "SA_NOCLDSTOP"}, {linux.SA_NOCLDWAIT, "SA_NOCLDWAIT"},
}

var pollEvents = []flag{
	{linux.POLLIN, "POLLIN"}, {linux.POLLPRI, "POLLPRI"}, {linux.POLLOUT, "POLLOUT"}, {linux.POLLERR, "POLLERR"},
	{linux.POLLHUP, "POLLHUP"}, {linux.POLLNVAL, "POLLNVAL"}, {linux.POLLRDNORM, "POLLRDNORM"},
	{linux.POLLRDBAND, "POLLRDBAND"}, {linux.POLLWRNORM, "POLLWRNORM"}, {linux.POLLWRBAND, "POLLWRBAND"},
	{linux.POLLMSG, "POLLMSG"}, {linux.POLLRDHUP, "POLLRDHUP"},
}

var epollEvents = []flag{
	{linux.EPOLLIN, "EPOLLIN"}, {linux.EPOLLPRI, "EPOLLPRI"}, {linux.EPOLLOUT, "EPOLLOUT"}, {linux.EPOLLERR, "EPOLLERR"},
	{linux.EPOLLHUP, "EPOLLHUP"}, {linux.EPOLLRDNORM, "EPOLLRDNORM"}, {linux.EPOLLRDBAND, "EPOLLRDBAND"},
	{linux.EPOLLWRNORM, "EPOLLWRNORM"}, {linux.EPOLLWRBAND, "EPOLLWRBAND"}, {linux.EPOLLMSG, "EPOLLMSG"},
	{linux.EPOLLRDHUP, "EPOLLRDHUP"}, {linux.EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"}, {linux.EPOLLWAKEUP, "EPOLLWAKEUP"},
	{linux.EPOLLONESHOT, "EPOLLONESHOT"}, {linux.EPOLLET, "EPOLLET"},
}

var epollOps = map[uint64]string{linux.EPOLL_CTL_ADD: "EPOLL_CTL_ADD", linux.EPOLL_CTL_DEL: "EPOLL_CTL_DEL", linux.EPOLL_CTL_MOD: "EPOLL_CTL_MOD"}

var fcntlCmds = map[uint64]string{
	linux.F_DUPFD: "F_DUPFD", linux.F_GETFD: "F_GETFD", linux.F_SETFD: "F_SETFD", linux.F_GETFL: "F_GETFL",
	linux.F_SETFL: "F_SETFL", linux.F_GETLK: "F_GETLK", linux.F_SETLK: "F_SETLK", linux.F_SETLKW: "F_SETLKW",
	linux.F_SETOWN: "F_SETOWN", linux.F_GETOWN: "F_GETOWN", linux.F_DUPFD_CLOEXEC: "F_DUPFD_CLOEXEC",
	linux.F_SETPIPE_SZ: "F_SETPIPE_SZ", linux.F_GETPIPE_SZ: "F_GETPIPE_SZ", linux.F_ADD_SEALS: "F_ADD_SEALS",
	linux.F_GET_SEALS: "F_GET_SEALS", unix.F_OFD_GETLK: "F_OFD_GETLK", unix.F_OFD_SETLK: "F_OFD_SETLK", unix.F_OFD_SETLKW: "F_OFD_SETLKW",
}

var clocks = map[uint64]string{
	linux.CLOCK_REALTIME: "CLOCK_REALTIME", linux.CLOCK_MONOTONIC: "CLOCK_MONOTONIC",
	linux.CLOCK_PROCESS_CPUTIME_ID: "CLOCK_PROCESS_CPUTIME_ID", linux.CLOCK_THREAD_CPUTIME_ID: "CLOCK_THREAD_CPUTIME_ID",
	linux.CLOCK_MONOTONIC_RAW: "CLOCK_MONOTONIC_RAW", linux.CLOCK_REALTIME_COARSE: "CLOCK_REALTIME_COARSE",
	linux.CLOCK_MONOTONIC_COARSE: "CLOCK_MONOTONIC_COARSE", linux.CLOCK_BOOTTIME: "CLOCK_BOOTTIME",
}

var rlimits = map[uint64]string{
	linux.RLIMIT_CPU: "RLIMIT_CPU", linux.RLIMIT_FSIZE: "RLIMIT_FSIZE", linux.RLIMIT_DATA: "RLIMIT_DATA",
	linux.RLIMIT_STACK: "RLIMIT_STACK", linux.RLIMIT_CORE: "RLIMIT_CORE", linux.RLIMIT_RSS: "RLIMIT_RSS",
	linux.RLIMIT_NPROC: "RLIMIT_NPROC", linux.RLIMIT_NOFILE: "RLIMIT_NOFILE", linux.RLIMIT_MEMLOCK: "RLIMIT_MEMLOCK",
	linux.RLIMIT_AS: "RLIMIT_AS", linux.RLIMIT_LOCKS: "RLIMIT_LOCKS", linux.RLIMIT_SIGPENDING: "RLIMIT_SIGPENDING",
	linux.RLIMIT_MSGQUEUE: "RLIMIT_MSGQUEUE", linux.RLIMIT_NICE: "RLIMIT_NICE", linux.RLIMIT_RTPRIO: "RLIMIT_RTPRIO",
	linux.RLIMIT_RTTIME: "RLIMIT_RTTIME",
}

var archPrctlCodes = map[uint64]string{
	linux.ARCH_SET_GS: "ARCH_SET_GS", linux.ARCH_SET_FS: "ARCH_SET_FS", linux.ARCH_GET_FS: "ARCH_GET_FS",
	linux.ARCH_GET_GS: "ARCH_GET_GS", 0x1012: "ARCH_SET_CPUID", 0x1011: "ARCH_GET_CPUID",
	0x3001: "ARCH_CET_STATUS", 0x1021: "ARCH_GET_XCOMP_SUPP", 0x1022: "ARCH_GET_XCOMP_PERM", 0x1023: "ARCH_REQ_XCOMP_PERM",
}

var madvices = map[uint64]string{
	linux.MADV_NORMAL: "MADV_NORMAL", linux.MADV_RANDOM: "MADV_RANDOM", linux.MADV_SEQUENTIAL: "MADV_SEQUENTIAL",
	linux.MADV_WILLNEED: "MADV_WILLNEED", linux.MADV_DONTNEED: "MADV_DONTNEED", unix.MADV_FREE: "MADV_FREE",
	linux.MADV_REMOVE: "MADV_REMOVE", linux.MADV_DONTFORK: "MADV_DONTFORK", linux.MADV_DOFORK: "MADV_DOFORK",
	linux.MADV_HUGEPAGE: "MADV_HUGEPAGE", linux.MADV_NOHUGEPAGE: "MADV_NOHUGEPAGE",
	linux.MADV_DONTDUMP: "MADV_DONTDUMP", linux.MADV_DODUMP: "MADV_DODUMP",
}

var waitOptions = []flag{
	{linux.WNOHANG, "WNOHANG"}, {linux.WUNTRACED, "WUNTRACED"}, {linux.WEXITED, "WEXITED"},
	{linux.WCONTINUED, "WCONTINUED"}, {linux.WNOWAIT, "WNOWAIT"}, {linux.WNOTHREAD, "__WNOTHREAD"},
	{linux.WALL, "__WALL"}, {linux.WCLONE, "__WCLONE"},
}

var grndFlags = []flag{{unix.GRND_NONBLOCK, "GRND_NONBLOCK"}, {unix.GRND_RANDOM, "GRND_RANDOM"}, {unix.GRND_INSECURE, "GRND_INSECURE"}}

var fdFlags = []flag{{linux.FD_CLOEXEC, "FD_CLOEXEC"}}

var msgFlags = []flag{
	{linux.MSG_OOB, "MSG_OOB"}, {linux.MSG_PEEK, "MSG_PEEK"}, {linux.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{linux.MSG_CTRUNC, "MSG_CTRUNC"}, {linux.MSG_TRUNC, "MSG_TRUNC"}, {linux.MSG_DONTWAIT, "MSG_DONTWAIT"},
	{linux.MSG_EOR, "MSG_EOR"}, {linux.MSG_WAITALL, "MSG_WAITALL"}, {linux.MSG_NOSIGNAL, "MSG_NOSIGNAL"},
	{linux.MSG_MORE, "MSG_MORE"}, {linux.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}

var shutdownHows = map[uint64]string{linux.SHUT_RD: "SHUT_RD", linux.SHUT_WR: "SHUT_WR", linux.SHUT_RDWR: "SHUT_RDWR"}

// signalName is SIGUSR1, SIGRTMIN, SIGRT_3, or the number.
func signalName(sig int) string {
	switch {
	case sig > 0 && sig < 32:
		return unix.SignalName(unix.Signal(sig))
	case sig == 32:
		return "SIGRTMIN"
	case sig > 32 && sig <= 64:
		return "SIGRT_" + strconv.Itoa(sig-32)
	}
	return strconv.Itoa(sig)
}

// sigset shows a signal set as strace does: [USR1 CHLD], or ~[...] with
// the missing ones when more than half are in it.
func sigset(set uint64) string {
	inv := ""
	n := 0
	for s := set; s != 0; s &= s - 1 {
		n++
	}
	if n > 32 {
		inv, set = "~", ^set
	}
	var names []string
	for sig := 1; sig <= 64; sig++ {
		if set&(1<<(sig-1)) != 0 {
			names = append(names, strings.TrimPrefix(signalName(sig), "SIG"))
		}
	}
	return inv + "[" + strings.Join(names, " ") + "]"
}

var fadvices = map[uint64]string{
	unix.FADV_NORMAL: "POSIX_FADV_NORMAL", unix.FADV_RANDOM: "POSIX_FADV_RANDOM", unix.FADV_SEQUENTIAL: "POSIX_FADV_SEQUENTIAL",
	unix.FADV_WILLNEED: "POSIX_FADV_WILLNEED", unix.FADV_DONTNEED: "POSIX_FADV_DONTNEED", unix.FADV_NOREUSE: "POSIX_FADV_NOREUSE",
}

var ioctls = map[uint64]string{
	linux.TCGETS: "TCGETS", linux.TCSETS: "TCSETS", linux.TCSETSW: "TCSETSW", linux.TCSETSF: "TCSETSF",
	linux.TIOCGPGRP: "TIOCGPGRP", linux.TIOCSPGRP: "TIOCSPGRP", linux.TIOCGWINSZ: "TIOCGWINSZ",
	linux.TIOCSWINSZ: "TIOCSWINSZ", linux.TIOCSCTTY: "TIOCSCTTY", linux.TIOCNOTTY: "TIOCNOTTY",
	linux.TIOCGSID: "TIOCGSID", linux.TIOCGPTN: "TIOCGPTN", linux.TIOCSPTLCK: "TIOCSPTLCK",
	linux.FIONREAD: "FIONREAD", linux.FIONBIO: "FIONBIO", linux.FIOCLEX: "FIOCLEX", linux.FIONCLEX: "FIONCLEX",
	linux.FIOASYNC: "FIOASYNC",
}
