package confine

import (
	"fmt"
	"slices"
	"sort"

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
var goRuntime = []hostSyscall{
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

// hostSyscalls is the sentry's allow-list, the one list its seccomp
// program is built from. It was made from the code and checked against
// `strace -f` of the end-to-end and differential tests on both platforms.
// Everything not here kills the sentry (see Filter).
var hostSyscalls = append(slices.Clip(goRuntime), []hostSyscall{

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
	{nr: unix.SYS_FCNTL, rule: oneOf(1, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_SETFL,
		unix.F_DUPFD_CLOEXEC, unix.F_ADD_SEALS, unix.F_GET_SEALS)},
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
}...)

// build says how the binary was linked: with C (cgo), with the race
// detector (race, which implies cgo).
type build struct{ cgo, race bool }

// thisBuild is how this binary was linked.
var thisBuild = build{cgo: cgoLinked, race: raceEnabled}

// rules returns the allow-list for platform and a build.
func rules(platform string, b build) map[uintptr]seccomp.SyscallRule {
	return ruleMap(hostSyscalls, platform, b)
}

// RuntimeRules returns the Go runtime's part of the allow-list, for a
// binary linked with C (cgo) or without, to which another confined Go
// process adds its own calls.
func RuntimeRules(cgo bool) map[uintptr]seccomp.SyscallRule {
	return ruleMap(goRuntime, "", build{cgo: cgo, race: thisBuild.race && cgo})
}

// CgoLinked reports whether this binary is linked with C.
func CgoLinked() bool { return thisBuild.cgo }

// ruleMap turns list into rules for platform and a build.
func ruleMap(list []hostSyscall, platform string, b build) map[uintptr]seccomp.SyscallRule {
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
// platform, sorted.
func Syscalls(platform string) []uintptr {
	var nrs []uintptr
	for nr := range rules(platform, thisBuild) {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	return nrs
}

// Filter builds the sentry's seccomp program for platform: the allow-list,
// clone3 refused with ENOSYS (C code, in the race-enabled build, then
// falls back to clone, whose flags a filter can read), and SECCOMP_RET_KILL_PROCESS for anything
// else; trap instead has SIGSYS crash the sentry with a Go traceback that
// names the call (for debugging the list).
func Filter(platform string, trap bool) ([]bpf.Instruction, error) {
	return filter(platform, trap, thisBuild)
}

// FilterLinked builds Filter's program for a binary linked with C (cgo)
// or without, so that package precompiled holds both.
func FilterLinked(platform string, cgo bool) ([]bpf.Instruction, error) {
	return filter(platform, false, build{cgo: cgo, race: thisBuild.race && cgo})
}

func filter(platform string, trap bool, b build) ([]bpf.Instruction, error) {
	otherwise := seccomp.KillProcess
	if trap {
		otherwise = seccomp.Trap
	}
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{
			{Rules: seccomp.MakeSyscallRules(rules(platform, b)), Action: seccomp.Allow},
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
