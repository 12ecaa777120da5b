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
//   - Fork is a remote clone(CLONE_PARENT) in the control thread: the child,
//     a copy-on-write copy with the control thread alone, also starts in
//     ptrace_wait, a child of the forkserver, and is seized there. Its
//     parent-death signal (cleared by fork) is set again remotely.
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
//   - Stub processes die with the sentry twice over: PTRACE_O_EXITKILL, and
//     PR_SET_PDEATHSIG from their parent, the forkserver, which itself dies
//     with the sentry. Release kills the stub and waits until the tracers
//     have reaped every thread; the forkserver, which ignores SIGCHLD, then
//     lets the kernel reap the process.
package ptrace

import (
	"errors"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/platform"
	"runsc-lite/stub"
)

// Platform is the ptrace platform.
type Platform struct {
	syms stub.Symbols
	fs   *stub.Forkserver
	req  stub.Request
}

var _ platform.Platform = (*Platform)(nil)

// New starts a ptrace platform with stub processes that keep no
// capabilities and get no namespaces of their own.
func New() (platform.Platform, error) {
	return NewWithRequest(stub.Request{})
}

// NewWithRequest starts a ptrace platform whose stub processes are made as
// req says. A new PID namespace is refused: the pids a stub's fork returns
// must be the sentry's.
func NewWithRequest(req stub.Request) (*Platform, error) {
	if req.CloneFlags&unix.CLONE_NEWPID != 0 {
		return nil, errors.New("the ptrace platform cannot put stub processes in a new PID namespace")
	}
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
	fs, err := stub.StartForkserver(noSystrapStubs)
	if err != nil {
		return nil, err
	}
	return &Platform{syms: syms, fs: fs, req: req}, nil
}

// noSystrapStubs is the forkserver's seccomp program for systrap stub
// processes, which this platform never asks for: should one start anyway,
// it is killed as soon as its filter is installed.
var noSystrapStubs = []bpf.Instruction{bpf.Stmt(bpf.Ret|bpf.K, uint32(linux.SECCOMP_RET_KILL_PROCESS))}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "ptrace" }

// Close implements platform.Platform.
func (p *Platform) Close() error { return p.fs.Close() }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() platform.Context { return &context{} }

// site is the stub's syscall instruction that remote syscalls run.
func (p *Platform) site() uintptr { return p.syms.PtraceSite - 2 }
