// Package ptrace is the baseline platform: application threads are threads
// of a stub process that the sentry traces with PTRACE_SYSEMU, which stops a
// thread at every syscall it makes without running it. Every stop costs
// several host context switches and ptrace requests, which is why systrap
// exists; this platform is what benchmarks compare it with, and it needs
// nothing but ptrace.
//
// Decisions worth knowing:
//   - Memory is as in systrap: application memory is real memory of the stub
//     process, copied with process_vm_readv/writev, and the same range,
//     [stub.ImageBase, sysmsg.RegionEnd), is reserved. A ptrace stub comes
//     from the same forkserver and image (stub.Forkserver.SpawnPtrace), but
//     maps no shared region and installs no seccomp filter or signal
//     handler: SYSEMU stops a syscall before the host would run it, wherever
//     the syscall instruction is, the stub's own included. A stub thread that
//     is not running application code waits in the stub's ptrace_wait loop
//     (pause(2), no stack) until a tracer seizes it.
//   - Tracers. The kernel accepts ptrace requests for a thread only from the
//     OS thread that attached it. Every stub thread therefore has a tracer
//     (tracer.go): a goroutine locked to its own OS thread that runs every
//     request for that stub thread as a job; Switch and the remote syscalls
//     hand their work to it (handoff.go: both sides poll briefly before
//     they block, since two futex wake-ups per trapped syscall would cost
//     more than the ptrace stop). A tracer's goroutine ends, still locked,
//     once its stub thread is reaped, so its OS thread exits with it and
//     never serves anything else; if a sentry thread that traces dies, the
//     kernel kills the tracee (PTRACE_O_EXITKILL).
//   - Remote syscalls (mmap, munmap, mprotect, recvmsg, clone, ...) run in
//     the stub's first thread, the control thread, which never runs
//     application code: its tracer sets the registers at the syscall
//     instruction of ptrace_wait and runs it with PTRACE_SYSCALL to its exit
//     stop. Application threads are remote clone(CLONE_THREAD) calls; the
//     new thread starts after that instruction, that is, in ptrace_wait, and
//     a new tracer seizes it there.
//   - Fork is a remote clone(CLONE_PARENT|CLONE_PIDFD) in the control
//     thread: the child, a copy-on-write copy with the control thread alone,
//     also starts in ptrace_wait, a child of the forkserver, and is seized
//     there. The sentry takes the kernel's pidfd for it from the stub
//     (pidfd_getfd), and the forkserver checks it (stub.Forkserver.Adopt):
//     stubs live in a PID namespace of their own, so clone's return value
//     is not a pid the sentry could use. Its parent-death signal (cleared by
//     fork) is set again remotely.
//   - int 0x80, sysenter and other 32-bit syscalls stop under SYSEMU like
//     64-bit ones; PTRACE_GET_SYSCALL_INFO tells them apart, and they are
//     reported as the SIGSYS a seccomp filter would raise, as on systrap.
//   - A stub's seccomp program (StubFilter) kills anything but the remote
//     syscalls and traps vsyscall emulation, which the sentry answers.
//   - Host files reach a stub over its control socket (fd 3, one socketpair
//     per address space): the sentry sends the descriptor with SCM_RIGHTS
//     and the control thread receives it with a remote recvmsg whose msghdr
//     lives in a scratch page inside the reserved range. The page is
//     writable by application code; a thread that forges it can only break
//     the mapping its own address space asked for. A forked child gets a
//     socket of its own the same way before it is seized.
//   - Faults. ptrace does not show the page-fault error code, so the access
//     kind is inferred: an address within 16 bytes of rip is an instruction
//     fetch; otherwise the fault is a write if the page is readable (a read
//     would not have faulted) and a read if it is not. A write to an unmapped
//     or PROT_NONE page is therefore reported as a read.
//   - The sentry's SIGCHLD action gets SA_NOCLDSTOP (New): otherwise every
//     ptrace stop would also signal the sentry.
//   - Interrupt sends SIGCHLD to the thread with tgkill, as systrap does;
//     its signal-delivery stop ends the Switch, and the signal is dropped.
//   - The kernel reports a group leader's exit, even to its tracer, only
//     once every other thread of the process is reaped, and the control
//     thread is the leader. A stub killed from outside (the forkserver
//     dying as the sandbox ends) under a remote syscall would leave the
//     control tracer waiting for good, since an application thread whose
//     task is in the sentry has no tracer waiting for it: a remote syscall
//     that takes long checks whether the process is exiting and reaps its
//     application threads then (addressSpace.reapIfDying).
//   - Stub processes die with the sentry twice over: PTRACE_O_EXITKILL, and
//     PR_SET_PDEATHSIG from their parent, the forkserver, which itself dies
//     with the sentry (and takes its PID namespace with it). Release kills
//     the stub, waits until the tracers have reaped every thread, then has
//     the forkserver reap the process.
package ptrace

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/platform"
	"runsc-lite/precompiled"
	"runsc-lite/stub"
)

// Platform is the ptrace platform.
type Platform struct {
	syms stub.Symbols
	fs   *stub.Forkserver
}

var _ platform.Platform = (*Platform)(nil)

// New starts a ptrace platform whose stub processes are confined as
// stub.DefaultConfinement says.
func New() (platform.Platform, error) {
	return NewConfined(stub.DefaultConfinement())
}

// NewConfined starts a ptrace platform whose stub processes are confined
// as c says.
func NewConfined(c stub.Confinement) (*Platform, error) {
	// Every ptrace stop of a stub thread would otherwise send the sentry a
	// SIGCHLD, a signal handler run per trapped syscall that nothing here
	// needs: stops are collected with wait4, which they still wake. Exits
	// still send SIGCHLD.
	if err := addSigchldFlags(linux.SA_NOCLDSTOP); err != nil {
		return nil, err
	}
	syms, err := stub.LoadSymbols()
	if err != nil {
		return nil, err
	}
	filter, err := StubFilter(syms)
	if err != nil {
		return nil, err
	}
	fs, err := stub.StartForkserver(filter, c)
	if err != nil {
		return nil, err
	}
	return &Platform{syms: syms, fs: fs}, nil
}

// StubFilter is the seccomp program of a ptrace stub process. PTRACE_SYSEMU
// stops an application's syscalls before seccomp sees them, so the program
// only ever judges what runs outside SYSEMU: the remote syscalls the sentry
// runs at ptrace_wait's instruction, with the arguments pinned where the
// sentry always passes the same (clone's flags, the control socket of
// recvmsg and dup3, prctl's parent-death signal), and the kernel's vsyscall
// emulation, which SYSEMU does not stop and which it traps so that the
// sentry answers it. Anything else kills the process, so a control thread
// that ran attacker code could do no more than the sentry's remote calls.
func StubFilter(s stub.Symbols) ([]bpf.Instruction, error) {
	allow := map[uintptr]seccomp.SyscallRule{}
	for _, nr := range stub.PtraceRemoteSyscalls {
		allow[nr] = stub.From(s.PtraceSite)
	}
	ctl := seccomp.EqualTo(stub.CtlFD)
	allow[unix.SYS_CLONE] = seccomp.Or{
		stub.From(s.PtraceSite, seccomp.EqualTo(stub.ForkCloneFlags), seccomp.EqualTo(0)),
		stub.From(s.PtraceSite, seccomp.EqualTo(threadCloneFlags), seccomp.EqualTo(0)),
		stub.From(s.PtraceSite, seccomp.EqualTo(threadCloneFlags|unix.CLONE_PIDFD), seccomp.EqualTo(0)),
	}
	allow[unix.SYS_RECVMSG] = stub.From(s.PtraceSite, ctl)
	allow[unix.SYS_DUP3] = stub.From(s.PtraceSite, seccomp.AnyValue{}, ctl, seccomp.EqualTo(0))
	allow[unix.SYS_PRCTL] = stub.From(s.PtraceSite, seccomp.EqualTo(unix.PR_SET_PDEATHSIG), seccomp.EqualTo(unix.SIGKILL))
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{
			{Rules: seccomp.MakeSyscallRules(allow), Action: seccomp.Allow},
			{
				Rules: seccomp.MakeSyscallRules(map[uintptr]seccomp.SyscallRule{
					unix.SYS_GETTIMEOFDAY: seccomp.MatchAll{},
					unix.SYS_TIME:         seccomp.MatchAll{},
					unix.SYS_GETCPU:       seccomp.MatchAll{},
				}),
				Action:   seccomp.Trap,
				Vsyscall: true,
			},
		},
		Options: seccomp.ProgramOptions{DefaultAction: seccomp.KillProcess, BadArchAction: seccomp.KillProcess},
	}
	insns, err := precompiled.Build(&p)
	if err != nil {
		return nil, fmt.Errorf("building the ptrace stub seccomp program: %w", err)
	}
	return insns, nil
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "ptrace" }

// Close implements platform.Platform.
func (p *Platform) Close() error { return p.fs.Close() }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() platform.Context { return &context{} }

// site is the stub's syscall instruction that remote syscalls run.
func (p *Platform) site() uintptr { return p.syms.PtraceSite - 2 }
