package systrap

import (
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
//     word, its exit and arch_prctl, the mapping changes it makes at a
//     resume with the receipt and close of a mapped file's descriptor
//     (resumeCallRules), and rt_sigreturn; the same futex and
//     exit from the patch entry's syscall instruction, the same
//     arch_prctl from its resume's (hosts without FSGSBASE set the bases
//     there), and its rt_sigreturn; everything else traps, including a
//     jump into stub_syscall. The program itself checks only where each
//     syscall comes from and the futex's word: the arguments each site
//     may pass are the base program's, which every application thread
//     carries beneath its own (ThreadFilter).

// handlerRules are what the signal handler may do, with the futex pinned to
// state (any address in the read-write part for the base program).
func handlerRules(s stub.Symbols, state seccomp.ValueMatcher) map[uintptr]seccomp.SyscallRule {
	rules := map[uintptr]seccomp.SyscallRule{
		unix.SYS_FUTEX: seccomp.Or{
			stub.From(s.HandlerSite, state, seccomp.EqualTo(linux.FUTEX_WAIT)),
			stub.From(s.HandlerSite, state, seccomp.EqualTo(linux.FUTEX_WAKE)),
			stub.From(s.PatchSite, state, seccomp.EqualTo(linux.FUTEX_WAIT)),
			stub.From(s.PatchSite, state, seccomp.EqualTo(linux.FUTEX_WAKE)),
		},
		unix.SYS_EXIT: seccomp.Or{stub.From(s.HandlerSite), stub.From(s.PatchSite)},
		unix.SYS_ARCH_PRCTL: seccomp.Or{
			stub.From(s.HandlerSite, seccomp.EqualTo(linux.ARCH_SET_FS)),
			stub.From(s.HandlerSite, seccomp.EqualTo(linux.ARCH_SET_GS)),
			stub.From(s.PatchResumeSite, seccomp.EqualTo(linux.ARCH_SET_FS)),
			stub.From(s.PatchResumeSite, seccomp.EqualTo(linux.ARCH_SET_GS)),
		},
		unix.SYS_RT_SIGRETURN: seccomp.Or{stub.From(s.RestorerSite), stub.From(s.PatchSigreturnSite)},
	}
	for nr, r := range resumeCallRules(s) {
		rules[nr] = r
	}
	return rules
}

// resumeCallRules are the mapping changes the handler makes at a resume
// (resume_call.go), at its syscall instruction, with the arguments
// resumeCallable allows: an address in resumeCallRange and a length under
// resumeCallMaxLen (so the whole range lies below the stub's image); for
// mmap only a private anonymous fixed mapping (no descriptor, offset 0)
// or a private fixed mapping of a descriptor other than the control
// socket, for mprotect only PROT_NONE, PROT_READ or PROT_READ|PROT_WRITE;
// and for a file's mapping, the receipt of its descriptor on the control
// socket and its close.
func resumeCallRules(s stub.Symbols) map[uintptr]seccomp.SyscallRule {
	at := func(more ...seccomp.ValueMatcher) seccomp.SyscallRule {
		args := append([]seccomp.ValueMatcher{seccomp.GreaterThanOrEqual(resumeCallRange.Start), seccomp.LessThan(resumeCallMaxLen)}, more...)
		return seccomp.And{stub.From(s.HandlerSite, args...), stub.From(s.HandlerSite, seccomp.LessThan(resumeCallRange.End))}
	}
	var mmap seccomp.Or
	for _, f := range resumeCallFlags {
		mmap = append(mmap, at(seccomp.MaskedEqual(^uintptr(7), 0), seccomp.EqualTo(f), seccomp.EqualTo(^uintptr(0)), seccomp.EqualTo(0)))
	}
	mmap = append(mmap, at(seccomp.MaskedEqual(^uintptr(7), 0), seccomp.EqualTo(resumeCallFileFlags), seccomp.GreaterThan(stub.CtlFD)))
	return map[uintptr]seccomp.SyscallRule{
		unix.SYS_MMAP:     mmap,
		unix.SYS_MUNMAP:   at(),
		unix.SYS_MPROTECT: seccomp.Or{at(seccomp.EqualTo(unix.PROT_NONE)), at(seccomp.EqualTo(unix.PROT_READ)), at(seccomp.EqualTo(unix.PROT_READ | unix.PROT_WRITE))},
		unix.SYS_RECVMSG:  stub.From(s.HandlerSite, seccomp.EqualTo(stub.CtlFD), seccomp.AnyValue{}, seccomp.EqualTo(resumeRecvFlags)),
		unix.SYS_CLOSE:    stub.From(s.HandlerSite, seccomp.GreaterThan(stub.CtlFD)),
	}
}

// resumeRecvFlags are the handler's recvmsg flags (handler.c,
// recv_call_fd): it never waits on the control socket.
const resumeRecvFlags = unix.MSG_CMSG_CLOEXEC | unix.MSG_DONTWAIT

// BaseFilter is the program every stub process installs: the syscall
// thread's, which application threads also carry under their own. Each
// rule allows only what the syscall thread's job needs, from its one
// syscall instruction, with arguments pinned where a filter can check them:
//
//   - mapping changes (mmap, munmap, mprotect, mremap, madvise, msync): of
//     its own process, which the application could ask the sentry for
//     anyway, of descriptors the sentry sent it; and the handler's
//     (resumeCallRules). A filter cannot add an
//     address and a length, so it cannot keep a range off the stub's image
//     or shared region: the image is sealed (mseal), the read-only part is
//     a memfd sealed against writable mappings, and the syscall thread runs
//     only requests the sentry checked.
//   - its control socket only: recvmsg, sendmsg on STUB_CTL_FD.
//   - clone with exactly the flags of an application thread (with or
//     without CLONE_PIDFD: the pidfd goes to the stub's own table, and the
//     sentry believes it only after PIDFD_GET_INFO) or of a forked
//     stub (CLONE_PARENT: a child of the forkserver, in its namespaces and
//     cgroup, counted by the kernel's pids limit), and no stack.
//   - a new thread's set-up: sigaltstack, rt_sigprocmask (SIG_SETMASK),
//     seccomp (adding a filter only ever narrows).
//   - its own descriptors: close, close_range, dup3 onto STUB_CTL_FD.
//   - a forked child's parent-death signal; futex on the control page and
//     the response page; exit, exit_group.
//
// Everything else traps, so a syscall thread that ran attacker code could
// do no more to the host than the application's own threads: change its own
// process's memory, start processes inside the sandbox's namespaces and
// limits, and talk to the sentry on its control socket.
func BaseFilter(s stub.Symbols) ([]bpf.Instruction, error) {
	rules := handlerRules(s, seccomp.GreaterThanOrEqual(sysmsg.RWBase))
	sc := func(args ...seccomp.ValueMatcher) seccomp.PerArg { return stub.From(s.SyscallSite, args...) }
	ctl := seccomp.EqualTo(stub.CtlFD)
	for _, nr := range []uintptr{unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT} {
		rules[nr] = seccomp.Or{rules[nr], sc()}
	}
	for _, nr := range []uintptr{unix.SYS_MREMAP, unix.SYS_MADVISE, unix.SYS_MSYNC} {
		rules[nr] = sc()
	}
	rules[unix.SYS_RECVMSG] = seccomp.Or{rules[unix.SYS_RECVMSG], sc(ctl)}
	rules[unix.SYS_SENDMSG] = sc(ctl)
	rules[unix.SYS_CLOSE] = seccomp.Or{rules[unix.SYS_CLOSE], sc()}
	rules[unix.SYS_CLOSE_RANGE] = sc(seccomp.EqualTo(stub.CtlFD + 1))
	rules[unix.SYS_DUP3] = sc(seccomp.AnyValue{}, ctl, seccomp.EqualTo(0))
	rules[unix.SYS_SIGALTSTACK] = sc()
	rules[unix.SYS_RT_SIGPROCMASK] = sc(seccomp.EqualTo(unix.SIG_SETMASK))
	rules[unix.SYS_EXIT_GROUP] = sc()
	rules[unix.SYS_EXIT] = seccomp.Or{rules[unix.SYS_EXIT], sc()}
	rules[unix.SYS_FUTEX] = seccomp.Or{
		rules[unix.SYS_FUTEX],
		sc(seccomp.EqualTo(sysmsg.Region), seccomp.EqualTo(linux.FUTEX_WAIT)),
		sc(seccomp.EqualTo(sysmsg.RWBase), seccomp.EqualTo(linux.FUTEX_WAKE)),
	}
	rules[unix.SYS_PRCTL] = sc(seccomp.EqualTo(unix.PR_SET_PDEATHSIG), seccomp.EqualTo(unix.SIGKILL))
	rules[unix.SYS_SECCOMP] = sc(seccomp.EqualTo(linux.SECCOMP_SET_MODE_FILTER), seccomp.EqualTo(0))
	rules[unix.SYS_CLONE] = seccomp.Or{
		sc(seccomp.EqualTo(stub.ForkCloneFlags), seccomp.EqualTo(0)),
		sc(seccomp.EqualTo(stub.ThreadCloneFlags), seccomp.EqualTo(0)),
		sc(seccomp.EqualTo(stub.ThreadPidfdCloneFlags), seccomp.EqualTo(0)),
	}
	return stub.Build("stub", rules, seccomp.Trap)
}

// ThreadFilter is the program application thread slot i installs: the
// handler's syscalls (handlerRules) from their sites only, and the futex
// on the slot's own state word. It leaves the arguments of each to the
// base program beneath it, which checks them at the same sites (the
// stacked programs allow what handlerRules with the slot's own word
// allows, TestThreadFilterNarrowsBase): a program of a fifth the size
// (62 instructions against 294), whose installation, the kernel's checks
// and compilation of it, is most of what starting a stub thread costs on
// the 2-core VM (450-580us for the whole rules against 290-310us, per
// thread and per fork).
func ThreadFilter(s stub.Symbols, slot int) ([]bpf.Instruction, error) {
	state := seccomp.EqualTo(sysmsg.StateAddr(slot))
	handler := func(args ...seccomp.ValueMatcher) seccomp.PerArg { return stub.From(s.HandlerSite, args...) }
	rules := map[uintptr]seccomp.SyscallRule{
		unix.SYS_FUTEX:        seccomp.Or{handler(state), stub.From(s.PatchSite, state)},
		unix.SYS_EXIT:         seccomp.Or{handler(), stub.From(s.PatchSite)},
		unix.SYS_ARCH_PRCTL:   seccomp.Or{handler(), stub.From(s.PatchResumeSite)},
		unix.SYS_RT_SIGRETURN: seccomp.Or{stub.From(s.RestorerSite), stub.From(s.PatchSigreturnSite)},
	}
	for nr := range resumeCallRules(s) {
		rules[nr] = handler()
	}
	return stub.Build("application thread", rules, seccomp.Trap)
}
