package confine

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/precompiled"
)

// hostSyscall is one entry of the sentry's allow-list: a host syscall the
// sentry makes after start-up, with the arguments it makes it with where a
// filter can check them.
type hostSyscall struct {
	nr   uintptr
	rule seccomp.SyscallRule // nil: any arguments
	// only restricts the entry to one platform ("systrap", "ptrace"), to
	// a binary linked with C through cgo ("cgo": the race detector's
	// runtime, or package net's resolver, which netstack brings in, when
	// CGO_ENABLED is on), or to the race-enabled build ("race"); "" is
	// everywhere.
	only string
}

// atFDCWD is AT_FDCWD as a syscall argument register holds it; the kernel
// reads the low 32 bits only (an int), and C code leaves the high ones 0.
const atFDCWD = ^uintptr(99) // -100

// Argument matchers used below.
var (
	anyArg = seccomp.AnyValue{}
	noExec = seccomp.MaskedEqual(unix.PROT_EXEC, 0)
	// The Go runtime's new threads (runtime.clone adds CLONE_SETTLS).
	goThreads = uintptr(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS)
	// glibc's pthread_create, in a binary linked with C (cgo), which
	// starts the Go runtime's threads too.
	cThreads = goThreads | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
)

func args(m ...seccomp.ValueMatcher) seccomp.PerArg {
	var r seccomp.PerArg
	for i := range r {
		r[i] = anyArg
	}
	copy(r[:], m)
	return r
}

func oneOf(arg int, vals ...uintptr) seccomp.Or {
	var or seccomp.Or
	for _, v := range vals {
		m := make([]seccomp.ValueMatcher, arg+1)
		for i := range m {
			m[i] = anyArg
		}
		m[arg] = seccomp.EqualTo(v)
		or = append(or, args(m...))
	}
	return or
}

// goRuntime is what the Go runtime itself needs: threads, memory,
// signals, scheduling, timers, its poller. It opens the sentry's list, and
// RuntimeRules gives it to runsc-lite's other confined Go processes (the
// network forwarder, package netfwd).
//
// It and hostSyscalls are made on first use, not at every start of the
// binary: they took 0.4 ms of CPU in each of runsc-lite's processes,
// runsc-lite's own among them, which never uses them.
var goRuntime = sync.OnceValue(func() []hostSyscall {
	return []hostSyscall{
		{nr: unix.SYS_CLONE, rule: args(seccomp.EqualTo(goThreads))},
		{nr: unix.SYS_CLONE, rule: args(seccomp.EqualTo(cThreads)), only: "cgo"},
		{nr: unix.SYS_SET_ROBUST_LIST, only: "cgo"},
		{nr: unix.SYS_RSEQ, only: "cgo"},
		{nr: unix.SYS_WRITEV, only: "race"},
		{nr: unix.SYS_MMAP, rule: args(anyArg, anyArg, noExec)},
		{nr: unix.SYS_MPROTECT, rule: args(anyArg, anyArg, noExec), only: "cgo"}, // thread stacks' guard pages
		{nr: unix.SYS_MUNMAP},
		{nr: unix.SYS_MADVISE},
		{nr: unix.SYS_MINCORE},
		{nr: unix.SYS_PRCTL, rule: args(seccomp.EqualTo(unix.PR_SET_VMA), seccomp.EqualTo(unix.PR_SET_VMA_ANON_NAME))},
		{nr: unix.SYS_FUTEX, rule: args(anyArg, seccomp.BitsAllowlist(linux.FUTEX_WAIT|linux.FUTEX_WAKE|linux.FUTEX_PRIVATE_FLAG))},
		{nr: unix.SYS_RT_SIGACTION},
		{nr: unix.SYS_RT_SIGPROCMASK},
		{nr: unix.SYS_RT_SIGRETURN},
		{nr: unix.SYS_SIGALTSTACK},
		{nr: unix.SYS_GETPID},
		{nr: unix.SYS_GETTID},
		{nr: unix.SYS_TGKILL},
		{nr: unix.SYS_KILL},
		{nr: unix.SYS_SCHED_YIELD},
		{nr: unix.SYS_SCHED_GETAFFINITY},
		{nr: unix.SYS_NANOSLEEP},
		{nr: unix.SYS_CLOCK_GETTIME},
		{nr: unix.SYS_CLOCK_GETRES},
		{nr: unix.SYS_GETRANDOM},
		{nr: unix.SYS_EPOLL_CREATE1},
		{nr: unix.SYS_EPOLL_CTL},
		{nr: unix.SYS_EPOLL_PWAIT},
		{nr: unix.SYS_EVENTFD2},
		{nr: unix.SYS_RESTART_SYSCALL},
		{nr: unix.SYS_EXIT},
		{nr: unix.SYS_EXIT_GROUP},
	}
})

// hostSyscalls is the sentry's allow-list, the one list its seccomp
// program is built from. It was made from the code and checked against
// `strace -f` of the end-to-end and differential tests on both platforms.
// Everything not here kills the sentry (see Filter).
var hostSyscalls = sync.OnceValue(func() []hostSyscall {
	return append(slices.Clip(goRuntime()), []hostSyscall{

		// Descriptors: the root file system's (openat2 below the root
		// descriptor), the sentry's own /proc (openat from its empty root),
		// memory files (memfds, sealed for the stub image), the terminal, pipes
		// and the stubs' control sockets.
		{nr: unix.SYS_OPENAT, rule: args(seccomp.MaskedEqual(0xffffffff, atFDCWD&0xffffffff), anyArg, seccomp.MaskedEqual(unix.O_ACCMODE|unix.O_CREAT|unix.O_TRUNC, 0))},
		{nr: unix.SYS_OPENAT2, rule: args(seccomp.NonNegativeFD{})},
		// Writable host trees (read-write volumes, --overlay=none): one name
		// relative to a directory descriptor the confined openat2 opened, or
		// a descriptor of the file itself (AT_EMPTY_PATH); links never follow
		// a symlink, mknod makes FIFOs and socket nodes only.
		{nr: unix.SYS_MKDIRAT, rule: args(seccomp.NonNegativeFD{})},
		{nr: unix.SYS_UNLINKAT, rule: args(seccomp.NonNegativeFD{})},
		{nr: unix.SYS_RENAMEAT2, rule: args(seccomp.NonNegativeFD{}, anyArg, seccomp.NonNegativeFD{})},
		{nr: unix.SYS_LINKAT, rule: args(seccomp.NonNegativeFD{}, anyArg, seccomp.NonNegativeFD{}, anyArg, seccomp.EqualTo(0))},
		{nr: unix.SYS_SYMLINKAT, rule: args(anyArg, seccomp.NonNegativeFD{})},
		{nr: unix.SYS_MKNODAT, rule: seccomp.Or{
			args(seccomp.NonNegativeFD{}, anyArg, seccomp.MaskedEqual(unix.S_IFMT, unix.S_IFIFO)),
			args(seccomp.NonNegativeFD{}, anyArg, seccomp.MaskedEqual(unix.S_IFMT, unix.S_IFSOCK)),
		}},
		{nr: unix.SYS_FCHMODAT2, rule: args(seccomp.NonNegativeFD{}, anyArg, anyArg, seccomp.EqualTo(unix.AT_EMPTY_PATH))},
		{nr: unix.SYS_FCHOWNAT, rule: args(seccomp.NonNegativeFD{}, anyArg, anyArg, anyArg, seccomp.EqualTo(unix.AT_EMPTY_PATH))},
		{nr: unix.SYS_UTIMENSAT, rule: args(seccomp.NonNegativeFD{}, anyArg, anyArg, seccomp.EqualTo(unix.AT_EMPTY_PATH))},
		// fsync of a host file open in a writable tree (the sandbox's fsync
		// and fdatasync).
		{nr: unix.SYS_FSYNC},
		{nr: unix.SYS_CLOSE},
		{nr: unix.SYS_READ},
		{nr: unix.SYS_WRITE},
		{nr: unix.SYS_PREAD64},
		{nr: unix.SYS_PWRITE64},
		{nr: unix.SYS_LSEEK},
		{nr: unix.SYS_FSTAT},
		// A host file's attributes with its birth time (package host's
		// fstat): of a descriptor only, as fstat.
		{nr: unix.SYS_STATX, rule: args(seccomp.NonNegativeFD{}, anyArg, seccomp.EqualTo(unix.AT_EMPTY_PATH), seccomp.EqualTo(unix.STATX_BASIC_STATS|unix.STATX_BTIME))},
		{nr: unix.SYS_FSTATFS},
		{nr: unix.SYS_GETDENTS64},
		{nr: unix.SYS_READLINKAT},
		{nr: unix.SYS_FGETXATTR},
		{nr: unix.SYS_FLISTXATTR},
		{nr: unix.SYS_FTRUNCATE},
		{nr: unix.SYS_FALLOCATE},
		{nr: unix.SYS_SENDFILE},
		{nr: unix.SYS_PPOLL},
		{nr: unix.SYS_MEMFD_CREATE, rule: oneOf(1, unix.MFD_CLOEXEC, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)},
		// F_GETPIPE_SZ: the room of a host pipe given as stdio (fs/host).
		{nr: unix.SYS_FCNTL, rule: oneOf(1, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_SETFL,
			unix.F_DUPFD_CLOEXEC, unix.F_ADD_SEALS, unix.F_GET_SEALS, unix.F_GETPIPE_SZ)},
		{nr: unix.SYS_IOCTL, rule: oneOf(1, unix.TCGETS, unix.TCSETS, unix.TCSETSW, unix.TCSETSF,
			unix.TIOCGWINSZ, unix.TIOCSWINSZ, unix.TIOCINQ, unix.PIDFD_GET_INFO)},
		{nr: unix.SYS_SOCKETPAIR, rule: args(seccomp.EqualTo(unix.AF_UNIX), seccomp.EqualTo(unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC))},
		{nr: unix.SYS_SENDMSG},
		{nr: unix.SYS_RECVMSG},
		// The control server (package control) and --publish (package inet):
		// connections to a socket the sentry's parent bound and listens on
		// are accepted here.
		{nr: unix.SYS_ACCEPT4, rule: args(anyArg, anyArg, anyArg, seccomp.EqualTo(unix.SOCK_CLOEXEC))},
		// Outbound and published connections (package inet): a host socket
		// the network forwarder or runsc-lite opened is half-closed when the
		// sandbox's side of the connection is.
		{nr: unix.SYS_SHUTDOWN, rule: args(anyArg, seccomp.EqualTo(unix.SHUT_WR))},
		// The links of an OCI container's network namespace (package inet,
		// links.go): netstack's fdbased endpoint receives and sends Ethernet
		// frames on the AF_PACKET socket the runtime opened there, in
		// batches, never blocking (it waits in ppoll): the same power as
		// recvmsg and sendmsg, above, on a descriptor the sentry was given.
		{nr: unix.SYS_RECVMMSG, rule: args(anyArg, anyArg, anyArg, seccomp.EqualTo(unix.MSG_DONTWAIT), seccomp.EqualTo(0))},
		{nr: unix.SYS_SENDMMSG, rule: args(anyArg, anyArg, anyArg, seccomp.EqualTo(unix.MSG_DONTWAIT))},

		// Stub processes: their memory, their signals, their lifetimes (the
		// forkserver is waited for through its pidfd).
		{nr: unix.SYS_PROCESS_VM_READV},
		{nr: unix.SYS_PROCESS_VM_WRITEV},
		{nr: unix.SYS_PIDFD_SEND_SIGNAL},
		{nr: unix.SYS_WAITID, rule: args(seccomp.EqualTo(unix.P_PIDFD))},
		{nr: unix.SYS_MEMBARRIER, rule: oneOf(0, 0 /* MEMBARRIER_CMD_QUERY */, linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED)},
		{nr: unix.SYS_PTRACE, rule: oneOf(0, unix.PTRACE_SEIZE, unix.PTRACE_INTERRUPT, unix.PTRACE_CONT,
			unix.PTRACE_SYSCALL, unix.PTRACE_SYSEMU, unix.PTRACE_GETREGS, unix.PTRACE_SETREGS,
			unix.PTRACE_GETREGSET, unix.PTRACE_SETREGSET, unix.PTRACE_GETSIGINFO,
			unix.PTRACE_GET_SYSCALL_INFO), only: "ptrace"},
		{nr: unix.SYS_WAIT4, only: "ptrace"},
		{nr: unix.SYS_PIDFD_GETFD, only: "ptrace"},
		// The sentry's own thread off the CPU a stub thread needs
		// (sysmsg.MoveOff): its own mask, made smaller and given back.
		{nr: unix.SYS_SCHED_SETAFFINITY, rule: args(seccomp.EqualTo(0)), only: "systrap"},

		// The control server's CPU profile: the Go runtime's profiling timers
		// (a per-thread timer_create, setitimer where that fails).
		{nr: unix.SYS_TIMER_CREATE},
		{nr: unix.SYS_TIMER_SETTIME},
		{nr: unix.SYS_TIMER_DELETE},
		{nr: unix.SYS_SETITIMER, rule: args(seccomp.EqualTo(unix.ITIMER_PROF))},

		// What the sandbox's own files show of the host, and the sentry's own
		// CPU time, which the sandbox's counts.
		{nr: unix.SYS_UNAME},
		{nr: unix.SYS_SYSINFO},
		{nr: unix.SYS_GETRUSAGE, rule: args(seccomp.EqualTo(unix.RUSAGE_SELF))},

		// --network=host only (a program of its own, as runsc adds its
		// hostinet rules only with --network=host): the application's
		// Internet sockets are host sockets the network forwarder created in
		// the host's network namespace (package sentry/socket/hostinet). The
		// sentry still creates no socket; it works the ones it holds, with
		// addresses and values in its own memory, of the sizes below.
		{nr: unix.SYS_BIND, rule: args(seccomp.NonNegativeFD{}, anyArg, seccomp.LessThanOrEqual(maxSockaddr)), only: "hostnet"},
		{nr: unix.SYS_CONNECT, rule: args(seccomp.NonNegativeFD{}, anyArg, seccomp.LessThanOrEqual(maxSockaddr)), only: "hostnet"},
		{nr: unix.SYS_LISTEN, rule: args(seccomp.NonNegativeFD{}, seccomp.LessThanOrEqual(MaxBacklog)), only: "hostnet"},
		{nr: unix.SYS_ACCEPT4, rule: args(seccomp.NonNegativeFD{}, anyArg, anyArg, seccomp.EqualTo(unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)), only: "hostnet"},
		{nr: unix.SYS_GETSOCKNAME, rule: args(seccomp.NonNegativeFD{}), only: "hostnet"},
		{nr: unix.SYS_GETPEERNAME, rule: args(seccomp.NonNegativeFD{}), only: "hostnet"},
		{nr: unix.SYS_SHUTDOWN, rule: args(seccomp.NonNegativeFD{}, seccomp.LessThanOrEqual(unix.SHUT_RDWR)), only: "hostnet"},
		{nr: unix.SYS_GETSOCKOPT, rule: sockoptRule(false), only: "hostnet"},
		{nr: unix.SYS_SETSOCKOPT, rule: sockoptRule(true), only: "hostnet"},
		{nr: unix.SYS_IOCTL, rule: oneOf(1, append([]uintptr{unix.SIOCINQ, unix.SIOCOUTQ, unix.SIOCATMARK, unix.SIOCGIFCONF}, HostIfreqIoctls...)...), only: "hostnet"},
	}...)
})

// maxSockaddr is sizeof(struct sockaddr_in6), the longest address the
// sentry passes a host socket (bind, connect; netlink's is shorter).
const maxSockaddr = unix.SizeofSockaddrInet6

// MaxBacklog is the largest listen backlog the sentry passes a host
// socket (net.core.somaxconn's default).
const MaxBacklog = 4096

// HostIfreqIoctls are the netdevice(7) requests about an interface that
// --network=host passes to the host socket: each reads or fills a struct
// ifreq of plain values (no pointer), the sentry's copy; with host mode
// the interfaces are the host's. Changing an interface is never passed.
var HostIfreqIoctls = []uintptr{unix.SIOCGIFNAME, unix.SIOCGIFINDEX, unix.SIOCGIFFLAGS, unix.SIOCGIFADDR,
	unix.SIOCGIFNETMASK, unix.SIOCGIFBRDADDR, unix.SIOCGIFMTU, unix.SIOCGIFHWADDR, unix.SIOCGIFMETRIC, unix.SIOCGIFTXQLEN}

// SocketOption is a socket option the sentry passes on to a host socket
// with --network=host: whether getsockopt and setsockopt may, and the
// largest value they pass (MaxOptLen bounds them all).
type SocketOption struct {
	Level, Name int
	Get, Set    bool
}

// MaxOptLen is the longest option value the sentry passes a host socket
// (struct tcp_info is the longest of HostSocketOptions).
const MaxOptLen = 256

// HostSocketOptions are the options --network=host passes on to a host
// socket; the sentry answers SO_RCVTIMEO and SO_SNDTIMEO itself (it
// waits, the host socket never blocks) and refuses others (ENOPROTOOPT,
// logged). None of these takes a pointer: every value is a number or a
// structure of numbers (struct linger, ip_mreqn, ipv6_mreq, group_req,
// tcp_info) or a name (TCP_CONGESTION), copied through the sentry's
// memory.
var HostSocketOptions = []SocketOption{
	{unix.SOL_SOCKET, unix.SO_TYPE, true, false},
	{unix.SOL_SOCKET, unix.SO_ERROR, true, false},
	{unix.SOL_SOCKET, unix.SO_ACCEPTCONN, true, false},
	{unix.SOL_SOCKET, unix.SO_DOMAIN, true, false},
	{unix.SOL_SOCKET, unix.SO_PROTOCOL, true, false},
	{unix.SOL_SOCKET, unix.SO_REUSEADDR, true, true},
	{unix.SOL_SOCKET, unix.SO_REUSEPORT, true, true},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE, true, true},
	{unix.SOL_SOCKET, unix.SO_BROADCAST, true, true},
	{unix.SOL_SOCKET, unix.SO_LINGER, true, true},
	{unix.SOL_SOCKET, unix.SO_RCVBUF, true, true},
	{unix.SOL_SOCKET, unix.SO_SNDBUF, true, true},
	{unix.SOL_SOCKET, unix.SO_RCVLOWAT, true, true},
	{unix.SOL_SOCKET, unix.SO_OOBINLINE, true, true},
	{unix.SOL_SOCKET, unix.SO_PEEK_OFF, true, true},
	{unix.SOL_SOCKET, unix.SO_MEMINFO, true, false},
	{unix.SOL_SOCKET, unix.SO_PRIORITY, true, true},
	{unix.SOL_SOCKET, unix.SO_TIMESTAMP, true, true},
	{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, true, true},
	{unix.SOL_TCP, unix.TCP_NODELAY, true, true},
	{unix.SOL_TCP, unix.TCP_MAXSEG, true, true},
	{unix.SOL_TCP, unix.TCP_CORK, true, true},
	{unix.SOL_TCP, unix.TCP_KEEPIDLE, true, true},
	{unix.SOL_TCP, unix.TCP_KEEPINTVL, true, true},
	{unix.SOL_TCP, unix.TCP_KEEPCNT, true, true},
	{unix.SOL_TCP, unix.TCP_SYNCNT, true, true},
	{unix.SOL_TCP, unix.TCP_LINGER2, true, true},
	{unix.SOL_TCP, unix.TCP_DEFER_ACCEPT, true, true},
	{unix.SOL_TCP, unix.TCP_WINDOW_CLAMP, true, true},
	{unix.SOL_TCP, unix.TCP_INFO, true, false},
	{unix.SOL_TCP, unix.TCP_QUICKACK, true, true},
	{unix.SOL_TCP, unix.TCP_CONGESTION, true, true},
	{unix.SOL_TCP, unix.TCP_USER_TIMEOUT, true, true},
	{unix.SOL_TCP, unix.TCP_NOTSENT_LOWAT, true, true},
	{unix.SOL_UDP, unix.UDP_CORK, true, true},
	{unix.SOL_IP, unix.IP_TOS, true, true},
	{unix.SOL_IP, unix.IP_TTL, true, true},
	{unix.SOL_IP, unix.IP_MTU_DISCOVER, true, true},
	{unix.SOL_IP, unix.IP_MTU, true, false},
	{unix.SOL_IP, unix.IP_MULTICAST_IF, true, true},
	{unix.SOL_IP, unix.IP_MULTICAST_TTL, true, true},
	{unix.SOL_IP, unix.IP_MULTICAST_LOOP, true, true},
	{unix.SOL_IP, unix.IP_ADD_MEMBERSHIP, false, true},
	{unix.SOL_IP, unix.IP_DROP_MEMBERSHIP, false, true},
	{unix.SOL_IP, unix.IP_FREEBIND, true, true},
	{unix.SOL_IP, unix.IP_RECVERR, true, true},
	{unix.SOL_IP, unix.IP_PKTINFO, true, true},
	{unix.SOL_IP, unix.IP_RECVTTL, true, true},
	{unix.SOL_IP, unix.IP_RECVTOS, true, true},
	{unix.SOL_IP, unix.IP_RECVORIGDSTADDR, true, true},
	{unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, true, true},
	{unix.SOL_IPV6, unix.IPV6_V6ONLY, true, true},
	{unix.SOL_IPV6, unix.IPV6_UNICAST_HOPS, true, true},
	{unix.SOL_IPV6, unix.IPV6_MULTICAST_IF, true, true},
	{unix.SOL_IPV6, unix.IPV6_MULTICAST_HOPS, true, true},
	{unix.SOL_IPV6, unix.IPV6_MULTICAST_LOOP, true, true},
	{unix.SOL_IPV6, unix.IPV6_ADD_MEMBERSHIP, false, true},
	{unix.SOL_IPV6, unix.IPV6_DROP_MEMBERSHIP, false, true},
	{unix.SOL_IP, unix.MCAST_JOIN_GROUP, false, true},
	{unix.SOL_IP, unix.MCAST_LEAVE_GROUP, false, true},
	{unix.SOL_IPV6, unix.MCAST_JOIN_GROUP, false, true},
	{unix.SOL_IPV6, unix.MCAST_LEAVE_GROUP, false, true},
	{unix.SOL_IPV6, unix.IPV6_TCLASS, true, true},
	{unix.SOL_IPV6, unix.IPV6_RECVERR, true, true},
	{unix.SOL_IPV6, unix.IPV6_RECVPKTINFO, true, true},
	{unix.SOL_IPV6, unix.IPV6_RECVHOPLIMIT, true, true},
	{unix.SOL_IPV6, unix.IPV6_RECVTCLASS, true, true},
	{unix.SOL_IPV6, unix.IPV6_RECVORIGDSTADDR, true, true},
	{unix.SOL_IPV6, unix.IPV6_MTU_DISCOVER, true, true},
}

// sockoptRule allows getsockopt (or setsockopt, set) of the options in
// HostSocketOptions only; setsockopt's values are at most MaxOptLen bytes
// (its fifth argument; getsockopt's length is in memory, which the sentry
// sets).
func sockoptRule(set bool) seccomp.Or {
	optLen := seccomp.ValueMatcher(anyArg)
	if set {
		optLen = seccomp.LessThanOrEqual(MaxOptLen)
	}
	var or seccomp.Or
	for _, o := range HostSocketOptions {
		if (set && o.Set) || (!set && o.Get) {
			or = append(or, args(seccomp.NonNegativeFD{}, seccomp.EqualTo(o.Level), seccomp.EqualTo(o.Name), anyArg, optLen))
		}
	}
	return or
}

// build says how the binary was linked: with C (cgo), with the race
// detector (race, which implies cgo).
type build struct{ cgo, race bool }

// thisBuild is how this binary was linked.
var thisBuild = build{cgo: cgoLinked, race: raceEnabled}

// rules returns the allow-list for platform and a build, with the
// --network=host entries if hostNet.
func rules(platform string, b build, hostNet bool) map[uintptr]seccomp.SyscallRule {
	return ruleMap(hostSyscalls(), platform, b, hostNet)
}

// RuntimeRules returns the Go runtime's part of the allow-list, for a
// binary linked with C (cgo) or without, to which another confined Go
// process adds its own calls.
func RuntimeRules(cgo bool) map[uintptr]seccomp.SyscallRule {
	return ruleMap(goRuntime(), "", build{cgo: cgo, race: thisBuild.race && cgo}, false)
}

// CgoLinked reports whether this binary is linked with C.
func CgoLinked() bool { return thisBuild.cgo }

// ruleMap turns list into rules for platform and a build, with the
// --network=host entries if hostNet.
func ruleMap(list []hostSyscall, platform string, b build, hostNet bool) map[uintptr]seccomp.SyscallRule {
	m := make(map[uintptr]seccomp.SyscallRule)
	for _, s := range list {
		switch s.only {
		case "":
		case "cgo":
			if !b.cgo {
				continue
			}
		case "race":
			if !b.race {
				continue
			}
		case "hostnet":
			if !hostNet {
				continue
			}
		default:
			if s.only != platform {
				continue
			}
		}
		var r seccomp.SyscallRule = seccomp.MatchAll{}
		if s.rule != nil {
			r = s.rule
		}
		if cur, ok := m[s.nr]; ok {
			if _, all := cur.(seccomp.MatchAll); all {
				continue
			}
			r = seccomp.Or{cur, r}
		}
		m[s.nr] = r
	}
	return m
}

// Syscalls returns the numbers of the host syscalls the sentry may make on
// platform (with --network=host if hostNet), sorted.
func Syscalls(platform string, hostNet bool) []uintptr {
	var nrs []uintptr
	for nr := range rules(platform, thisBuild, hostNet) {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	return nrs
}

// Filter builds the sentry's seccomp program for platform, with the
// --network=host entries if hostNet: the allow-list,
// clone3 refused with ENOSYS (C code, in the race-enabled build, then
// falls back to clone, whose flags a filter can read), and SECCOMP_RET_KILL_PROCESS for anything
// else; trap instead has SIGSYS crash the sentry with a Go traceback that
// names the call (for debugging the list).
func Filter(platform string, hostNet, trap bool) ([]bpf.Instruction, error) {
	return filter(platform, hostNet, trap, thisBuild)
}

// FilterLinked builds Filter's program for a binary linked with C (cgo)
// or without, so that package precompiled holds both.
func FilterLinked(platform string, cgo, hostNet bool) ([]bpf.Instruction, error) {
	return filter(platform, hostNet, false, build{cgo: cgo, race: thisBuild.race && cgo})
}

func filter(platform string, hostNet, trap bool, b build) ([]bpf.Instruction, error) {
	otherwise := seccomp.KillProcess
	if trap {
		otherwise = seccomp.Trap
	}
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{
			{Rules: seccomp.MakeSyscallRules(rules(platform, b, hostNet)), Action: seccomp.Allow},
			{
				Rules: seccomp.MakeSyscallRules(map[uintptr]seccomp.SyscallRule{
					unix.SYS_CLONE3: seccomp.MatchAll{},
				}),
				Action: seccomp.ReturnError.Code(uint16(unix.ENOSYS)),
			},
		},
		Options: seccomp.ProgramOptions{
			DefaultAction: otherwise,
			BadArchAction: seccomp.KillProcess,
			HotSyscalls:   hot(platform),
		},
	}
	insns, err := precompiled.Build(&p)
	if err != nil {
		return nil, fmt.Errorf("building the sentry's seccomp program: %w", err)
	}
	return insns, nil
}

// hot returns the syscalls the sentry makes most on platform, most
// frequent first, which the program tests first.
func hot(platform string) []uintptr {
	if platform == "ptrace" {
		return []uintptr{unix.SYS_PTRACE, unix.SYS_WAIT4, unix.SYS_FUTEX, unix.SYS_PROCESS_VM_READV}
	}
	return []uintptr{unix.SYS_FUTEX, unix.SYS_PROCESS_VM_READV, unix.SYS_NANOSLEEP}
}

// Install sets no_new_privs and installs insns (from Filter) on every
// thread (SECCOMP_FILTER_FLAG_TSYNC, which also carries no_new_privs to
// them).
func Install(insns []bpf.Instruction) error {
	if err := seccomp.SetFilter(insns); err != nil {
		return fmt.Errorf("installing the sentry's seccomp program: %w", err)
	}
	return nil
}
