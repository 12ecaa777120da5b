package systrap

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// Seccomp programs of a stub process. Filters stack: a syscall is allowed
// only if every filter of the thread allows it, and SECCOMP_RET_TRAP wins
// over ALLOW. Every stub process installs the base program; each
// application thread adds its own program on top before it runs any
// application code:
//
//   - base: the syscall thread's syscalls from stub_syscall, thread clones
//     from stub_clone_thread, the handler's from handler_syscall,
//     rt_sigreturn from the restorer; everything else traps.
//   - application thread: only the handler's futex on the thread's own state
//     word, its exit and arch_prctl, and rt_sigreturn; everything else traps,
//     including a jump into stub_syscall.

// from returns a rule that matches a syscall made at site with args.
func from(site uintptr, args ...seccomp.ValueMatcher) seccomp.PerArg {
	var r seccomp.PerArg
	for i := range r {
		r[i] = seccomp.AnyValue{}
	}
	copy(r[:], args)
	r[seccomp.RuleIP] = seccomp.EqualTo(site)
	return r
}

// handlerRules are what the signal handler may do, with the futex pinned to
// state (any address in the region for the base program).
func handlerRules(s stub.Symbols, state seccomp.ValueMatcher) map[uintptr]seccomp.SyscallRule {
	return map[uintptr]seccomp.SyscallRule{
		unix.SYS_FUTEX: seccomp.Or{
			from(s.HandlerSite, state, seccomp.EqualTo(linux.FUTEX_WAIT)),
			from(s.HandlerSite, state, seccomp.EqualTo(linux.FUTEX_WAKE)),
		},
		unix.SYS_EXIT: from(s.HandlerSite),
		unix.SYS_ARCH_PRCTL: seccomp.Or{
			from(s.HandlerSite, seccomp.EqualTo(linux.ARCH_SET_FS)),
			from(s.HandlerSite, seccomp.EqualTo(linux.ARCH_SET_GS)),
		},
		unix.SYS_RT_SIGRETURN: from(s.RestorerSite),
	}
}

// BaseFilter is the program every stub process installs.
func BaseFilter(s stub.Symbols) ([]bpf.Instruction, error) {
	rules := handlerRules(s, seccomp.GreaterThanOrEqual(sysmsg.RWBase))
	sc := func(args ...seccomp.ValueMatcher) seccomp.PerArg { return from(s.SyscallSite, args...) }
	for _, nr := range []uintptr{
		unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MREMAP,
		unix.SYS_MADVISE, unix.SYS_MSYNC, unix.SYS_RECVMSG, unix.SYS_SENDMSG,
		unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE, unix.SYS_DUP3, unix.SYS_GETPPID,
		unix.SYS_SIGALTSTACK, unix.SYS_RT_SIGPROCMASK, unix.SYS_EXIT_GROUP,
	} {
		rules[nr] = sc()
	}
	rules[unix.SYS_EXIT] = seccomp.Or{rules[unix.SYS_EXIT], sc()}
	rules[unix.SYS_FUTEX] = seccomp.Or{
		rules[unix.SYS_FUTEX],
		sc(seccomp.EqualTo(sysmsg.Region), seccomp.EqualTo(linux.FUTEX_WAIT)),
		sc(seccomp.EqualTo(sysmsg.RWBase), seccomp.EqualTo(linux.FUTEX_WAKE)),
	}
	rules[unix.SYS_PRCTL] = sc(seccomp.EqualTo(unix.PR_SET_PDEATHSIG), seccomp.EqualTo(unix.SIGKILL))
	rules[unix.SYS_SECCOMP] = sc(seccomp.EqualTo(linux.SECCOMP_SET_MODE_FILTER), seccomp.EqualTo(0))
	rules[unix.SYS_CLONE] = seccomp.Or{
		sc(seccomp.EqualTo(unix.CLONE_PARENT | unix.CLONE_PIDFD | uintptr(unix.SIGCHLD))),
		from(s.CloneSite, seccomp.EqualTo(unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|
			unix.CLONE_SIGHAND|unix.CLONE_THREAD|unix.CLONE_SYSVSEM|unix.CLONE_CHILD_CLEARTID)),
	}
	return build("stub", rules)
}

// ThreadFilter is the program application thread slot i installs.
func ThreadFilter(s stub.Symbols, slot int) ([]bpf.Instruction, error) {
	return build("application thread", handlerRules(s, seccomp.EqualTo(sysmsg.StateAddr(slot))))
}

func build(what string, rules map[uintptr]seccomp.SyscallRule) ([]bpf.Instruction, error) {
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{{Rules: seccomp.MakeSyscallRules(rules), Action: seccomp.Allow}},
		Options: seccomp.ProgramOptions{
			DefaultAction: seccomp.Trap,
			BadArchAction: seccomp.Trap,
		},
	}
	insns, _, err := p.Build()
	if err != nil {
		return nil, fmt.Errorf("building the %s seccomp program: %w", what, err)
	}
	return insns, nil
}
