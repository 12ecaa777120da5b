package stub

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/precompiled"
)

// From returns a seccomp rule that matches a syscall made at site with
// args (the rest of the arguments may be anything).
func From(site uintptr, args ...seccomp.ValueMatcher) seccomp.PerArg {
	var r seccomp.PerArg
	for i := range r {
		r[i] = seccomp.AnyValue{}
	}
	copy(r[:], args)
	r[seccomp.RuleIP] = seccomp.EqualTo(site)
	return r
}

// Clone flags of the stub's kinds of clone: a new stub process
// (forkserver), a forked one (syscall thread), an application thread
// (syscall thread), with its pidfd when the kernel makes pidfds of threads
// (Linux 6.9).
const (
	SpawnCloneFlags  = unix.CLONE_PIDFD | uintptr(unix.SIGCHLD)
	ForkCloneFlags   = unix.CLONE_PARENT | unix.CLONE_PIDFD | uintptr(unix.SIGCHLD)
	ThreadCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_CHILD_CLEARTID
	ThreadPidfdCloneFlags = ThreadCloneFlags | unix.CLONE_PIDFD
)

// ForkserverFilter is the confined forkserver's own seccomp program for the
// stub image whose symbols are s (for package precompiled).
func ForkserverFilter(s Symbols) ([]bpf.Instruction, error) { return forkserverFilter(s) }

// forkserverFilter is the confined forkserver's own seccomp program. Every
// stub process inherits it under its own, so it allows what the forkserver
// does and what stub code does at its syscall instructions; anything else
// traps, which for a stub thread is the trap the platform expects, and for
// the forkserver, which has no SIGSYS handler, is death.
func forkserverFilter(s Symbols) ([]bpf.Instruction, error) {
	sc := func(args ...seccomp.ValueMatcher) seccomp.PerArg { return From(s.SyscallSite, args...) }
	rules := map[uintptr]seccomp.SyscallRule{}
	for _, nr := range []uintptr{
		unix.SYS_RECVMSG, unix.SYS_SENDMSG, unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE,
		unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_GETPPID, unix.SYS_DUP3,
		unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MREMAP, unix.SYS_MADVISE,
		unix.SYS_MSYNC, unix.SYS_MSEAL, unix.SYS_PRLIMIT64, unix.SYS_MEMBARRIER, unix.SYS_RT_SIGACTION,
		unix.SYS_RT_SIGPROCMASK, unix.SYS_SIGALTSTACK, unix.SYS_FUTEX,
	} {
		rules[nr] = sc()
	}
	rules[unix.SYS_CLONE] = seccomp.Or{
		sc(seccomp.EqualTo(SpawnCloneFlags)), sc(seccomp.EqualTo(ForkCloneFlags)), sc(seccomp.EqualTo(ThreadCloneFlags)),
		sc(seccomp.EqualTo(ThreadPidfdCloneFlags)),
	}
	rules[unix.SYS_WAITID] = sc(seccomp.EqualTo(unix.P_PIDFD))
	rules[unix.SYS_PRCTL] = seccomp.Or{
		sc(seccomp.EqualTo(unix.PR_SET_PDEATHSIG), seccomp.EqualTo(unix.SIGKILL)),
		sc(seccomp.EqualTo(unix.PR_SET_NO_NEW_PRIVS), seccomp.EqualTo(1)),
	}
	rules[unix.SYS_SECCOMP] = sc(seccomp.EqualTo(linux.SECCOMP_SET_MODE_FILTER), seccomp.EqualTo(0))
	// The signal handler's and the patch entry's calls, and rt_sigreturn.
	rules[unix.SYS_FUTEX] = seccomp.Or{rules[unix.SYS_FUTEX], From(s.HandlerSite), From(s.PatchSite)}
	rules[unix.SYS_EXIT] = seccomp.Or{rules[unix.SYS_EXIT], From(s.HandlerSite), From(s.PatchSite)}
	rules[unix.SYS_ARCH_PRCTL] = seccomp.Or{From(s.HandlerSite), From(s.PatchResumeSite)}
	rules[unix.SYS_RT_SIGRETURN] = seccomp.Or{From(s.RestorerSite), From(s.PatchSigreturnSite)}
	// The handler's mapping changes at a resume, with a mapped file's
	// descriptor received and closed, whose arguments the stubs' own
	// programs pin (platform/systrap: resumeCallRules).
	for _, nr := range []uintptr{unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_RECVMSG, unix.SYS_CLOSE} {
		rules[nr] = seccomp.Or{rules[nr], From(s.HandlerSite)}
	}
	// The ptrace platform's remote syscalls, whose arguments its stubs' own
	// program checks.
	for _, nr := range PtraceRemoteSyscalls {
		if r, ok := rules[nr]; ok {
			rules[nr] = seccomp.Or{r, From(s.PtraceSite)}
		} else {
			rules[nr] = From(s.PtraceSite)
		}
	}
	return Build("forkserver", rules, seccomp.Trap)
}

// PtraceRemoteSyscalls are the syscalls the ptrace platform runs in a stub
// at ptrace_wait's instruction (and pause, which ptrace_wait itself makes).
var PtraceRemoteSyscalls = []uintptr{
	unix.SYS_PAUSE, unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MREMAP,
	unix.SYS_MADVISE, unix.SYS_MSYNC, unix.SYS_RECVMSG, unix.SYS_CLOSE, unix.SYS_DUP3,
	unix.SYS_CLONE, unix.SYS_PRCTL, unix.SYS_GETPPID, unix.SYS_EXIT, unix.SYS_EXIT_GROUP,
}

// Build compiles rules, allowed, into a seccomp program whose every other
// syscall, and every syscall of another architecture, gets otherwise.
func Build(what string, rules map[uintptr]seccomp.SyscallRule, otherwise seccomp.Action) ([]bpf.Instruction, error) {
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{{Rules: seccomp.MakeSyscallRules(rules), Action: seccomp.Allow}},
		Options: seccomp.ProgramOptions{
			DefaultAction: otherwise,
			BadArchAction: otherwise,
		},
	}
	insns, err := precompiled.Build(&p)
	if err != nil {
		return nil, fmt.Errorf("building the %s seccomp program: %w", what, err)
	}
	if len(insns) > maxFilter {
		return nil, fmt.Errorf("the %s seccomp program has %d instructions, at most %d fit", what, len(insns), maxFilter)
	}
	return insns, nil
}
