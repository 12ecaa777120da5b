// Package sysmsg is the Go half of the protocol between the sentry and a
// stub process: the layout of the memory they share (c/sysmsg.h is the C
// half, and a test checks they agree) and the hand-off on its state words.
//
// A hand-off is one store and, only if the other side sleeps, one futex
// wake. Each side first spins on the state word, then sleeps on it. How
// long it spins is SpinPolicy's choice, from the number of CPUs, the
// threads that want one, and whether the CPUs are actually free: on a
// small or busy machine a spinning waiter steals the CPU from the thread it
// waits for, and the policy notices that by timing round trips with and
// without spinning (spin.go); and neither side spins while the other waits
// for the CPU it holds (cpu.go). Between its spin and its sleep the sentry's
// side lets the other goroutines ready on its Go processor run
// (yieldProcessor): the task a hand-off woke is usually among them.
//
// Every word of the read-write part can be written by application code,
// so nothing read from it is trusted: values are validated where they are
// used, sleeps have a time limit, and a forged value can only stall or break
// the forging address space. What each shared word is, who writes it, and
// why a forged value harms only the forger:
//
//   - Control (read-only part, written by the sentry only): the syscall
//     thread's requests. Its memfd is sealed against writable mappings
//     (F_SEAL_FUTURE_WRITE) before any stub maps it, so no stub thread can
//     write it. A request is published seqlock-style (Seq 0 while it is
//     written), so even if the application forges Response.Seq to make the
//     sentry write the next request early, the syscall thread never runs a
//     mix of two requests (c/stub_amd64.S, LOAD_ARGS).
//   - ThreadSetup (read-only part, sentry only): the seccomp program and
//     signal stack a new stub thread installs before it runs application
//     code.
//   - Response (read-write part, written by the syscall thread): Seq and
//     Ret. A forged Seq makes the sentry believe a request is done: the
//     request is then skipped or run late, in the forger's own process. A
//     forged Ret is checked where it is used (an mmap address must be page
//     aligned, outside the reserved range and, with MAP_FIXED, the address
//     asked for; a new thread's id only ever names a thread of the stub's
//     own thread group to tgkill); a fork's child is known from its pidfd,
//     never from Ret.
//   - The scratch space after Response: the syscall thread's msghdr and
//     control buffers; the application can change which of its own process's
//     descriptors a call uses, nothing more.
//   - Msg (one per thread slot): the hand-off state and the location of the
//     signal frame. A forged state kills the forger's stub process or stalls
//     its thread; a frame pointer outside the slot's signal stack kills the
//     stub; fs_base/gs_base are the thread's own registers; stub_cpu,
//     sentry_cpu and stub_waiting only decide whether the sentry's thread
//     and the forger's own thread spin or sleep while they wait, and
//     whether the sentry's thread moves to another of the CPUs it may run
//     on, at most once a millisecond for all its threads (cpu.go): the
//     sentry's own placement, never a host call on anything of the stub's.
//     CallNr and CallArgs are a mapping change the sentry leaves to the
//     thread's resume: a forged one is a call the thread's filter allows
//     only with the arguments the sentry would use (a private mapping,
//     anonymous or of a descriptor the stub holds, an unmapping, a
//     protection change to none, read or read+write, all below the stub's
//     image), on the forger's own process. A forged CallFD makes the
//     handler receive on the control socket without waiting: a message
//     meant for the syscall thread, whose request then fails. CallRet, the
//     host's answer, only decides whether the sentry kills the forger.
//   - The signal frame on the slot's signal stack: the thread's registers,
//     FP state and siginfo, which the application may set to anything it
//     could set by running code; the sentry forces the user segment
//     selectors, sanitizes the FP state and clears the host signal mask
//     before it lets the thread run.
package sysmsg

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
)

// Layout of the shared region; see c/sysmsg.h.
const (
	Region         = 0x7ff010000000
	ROSize         = 0x1020000
	RWBase         = Region + ROSize
	MaxThreads     = 4096
	SlotSize       = 0x10000
	ThreadsOffset  = SlotSize
	RWSize         = ThreadsOffset + MaxThreads*SlotSize
	RegionSize     = ROSize + RWSize
	SetupOffset    = 0x1000
	SetupSize      = 0x1000
	SetupInsns     = 64
	MaxFilterInsns = (SetupSize - SetupInsns) / 8
	AltstackOffset = 0x1000
	AltstackSize   = SlotSize - AltstackOffset
	RegionEnd      = Region + RegionSize
	ScratchMsghdr  = 0x40
	ScratchPidfd   = 0xc8
	// ScratchBatchCmsg and ScratchBatchCmsgSize are a batch's control
	// buffer in the response page.
	ScratchBatchCmsg     = 0x100
	ScratchBatchCmsgSize = 0x30
)

// Syscall-site patching (c/sysmsg.h): the trap table, which is part of the
// read-only memfd and which every stub also maps read+exec at
// PatchTable, and the patch frame in each slot.
const (
	PatchTable       = 0x60000
	PatchTableSize   = 0x10000
	PatchTableOffset = 0x1010000
	TrapSize         = 64
	TrapRet          = 8
	TrapCode         = 16
	TrapFallback     = 34
	TrapNr           = 48
	// TrapLahf is the first code byte of a mov trap (lahf); a register
	// trap's, the one for a syscall taking its number from %rax, is
	// another.
	TrapLahf        = 0x9f
	TrapRegFallback = 45
	TrapRegTail     = 47
	TrapTailLen     = 63
	PatchFrame      = AltstackOffset
	PFUc            = 8
	PFMc            = PFUc + 40
	PFSigmask       = PFUc + 296
	PFSi            = 384
	PFFp            = 512
	PatchStack      = SlotSize - 64
	// MsgSelf is the offset of Msg.Self (SYSMSG_SELF).
	MsgSelf = 80
)

// PatchUcontext is the stub address of slot i's patch frame's ucontext:
// where Msg.Ucontext points after an entry through a patched site.
func PatchUcontext(i int) uintptr { return SlotAddr(i) + PatchFrame + PFUc }

// Msg.State values.
const (
	StateDead   = 0 // written by the kernel when the thread exits
	StateEvent  = 1 // stub -> sentry: a signal frame is ready
	StateResume = 2 // sentry -> stub: return into the application
	StateExit   = 3 // sentry -> stub: exit the thread
)

// Msg.SetBases bits.
const (
	SetFS = 1
	SetGS = 2
	// SetFP says the sentry wrote the frame's FP state: a patched
	// syscall's return loads it only then (the registers still hold what
	// its entry saved), a signal frame's rt_sigreturn always.
	SetFP = 4
)

// Syscall-thread request kinds (Control.Kind).
const (
	ReqSyscall   = 1
	ReqMmapFD    = 2
	ReqNewThread = 3
	ReqFork      = 4
	ReqBatch     = 5
)

// A batch (ReqBatch): up to MaxBatch calls in the control page at
// ControlBatch and up to BatchMaxFDs descriptors sent first.
const (
	ControlBatch = 0x400
	MaxBatch     = 32
	BatchMaxFDs  = 8
)

// Call is struct stub_call: one call of a batch.
type Call struct {
	Sysno uint64
	Args  [6]uint64
	// FD is the index of the batch's descriptor that is arg4, or -1.
	FD int32
	_  uint32
}

// Msg is struct sysmsg: one per application thread, at the start of its
// slot.
type Msg struct {
	State         uint32
	SentryWaiting uint32
	StubWaiting   uint32
	Signo         uint32
	Siginfo       uint64
	Ucontext      uint64
	FsBase        uint64
	GsBase        uint64
	// The words every hand-off reads or writes are in State's cache
	// line: each line both sides write crosses between their CPUs at
	// every round trip.
	//
	// StubCPU is the CPU the thread published its event on, and
	// SentryCPU the CPU the sentry took it on (CPUNone until then):
	// each side spins only while the other is on another CPU (cpu.go).
	StubCPU, SentryCPU uint32
	SetBases           uint32
	// Sleep, when nonzero, tells the stopped thread to sleep rather than
	// spin: its task waits in the sentry (Msg.Hold). A hint: the thread
	// polls the state word as before either way.
	Sleep     uint32
	NewFsBase uint64
	NewGsBase uint64
	// Self is the slot's own address, which the sentry writes when it
	// resets the slot: without FSGSBASE the patch entry finds its slot
	// by loading it through %gs (platform/systrap/patch.go).
	Self uint64
	// CallNr, if not 0, is a mapping change (host syscall CallNr with
	// CallArgs) that the handler makes before it returns into the
	// application, and clears; CallRet is its result
	// (platform/systrap/resume_call.go).
	CallNr   uint64
	CallArgs [6]uint64
	CallRet  int64
	// CallFD, if not 0, says the call maps a file: the sentry sent its
	// descriptor ahead on the control socket, and the handler receives
	// it as the call's arg4, and closes it after.
	CallFD uint32
	_      uint32
}

// CallRetOffset is the offset of Msg.CallRet in its slot, for attack tests
// that forge it (SYSMSG_CALL_RET).
const CallRetOffset = 144

// Control is struct stub_control: the read-only page of requests to the
// syscall thread.
type Control struct {
	Seq         uint32
	Kind        uint32
	Sysno       uint64
	Args        [6]uint64
	SpinLimit   uint32
	HasFSGSBase uint32
	// FpxSw is the software-reserved bytes (struct _fpx_sw_bytes) of the
	// host's signal frames' XSAVE area, which the patch entry copies into
	// the patch frame so that rt_sigreturn reads it as the kernel's own.
	FpxSw [48]byte
}

// Response is struct stub_response.
type Response struct {
	Seq uint32
	// Done is how many of a batch's calls succeeded.
	Done uint32
	Ret  int64
}

// Failed reports whether Ret is a failed syscall's -errno, and the errno.
func (r Response) Failed() (unix.Errno, bool) {
	if r.Ret < 0 && r.Ret > -4096 {
		return unix.Errno(-r.Ret), true
	}
	return 0, false
}

// ThreadSetup is struct thread_setup, without its instructions.
type ThreadSetup struct {
	ProgLen    uint16
	_          [3]uint16
	ProgFilter uint64
	SsSp       uint64
	SsFlags    int32
	_          uint32
	SsSize     uint64
	_          [3]uint64
}

// Shared is the sentry's mapping of one stub process's shared region: two
// memfds, one for each part.
type Shared struct {
	// ROFD and RWFD are the memfds the stub maps at Region and RWBase.
	ROFD, RWFD int
	ro, rw     []byte
}

// NewShared creates and maps a shared region. The read-only part's memfd
// is sealed against any new writable mapping (the sentry's, made first,
// stays writable) before it leaves this function.
func NewShared() (*Shared, error) {
	s := &Shared{ROFD: -1, RWFD: -1}
	var err error
	if s.ROFD, s.ro, err = newPart("runsc-lite-sysmsg-ro", ROSize); err != nil {
		return nil, err
	}
	seals := unix.F_SEAL_FUTURE_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(s.ROFD), unix.F_ADD_SEALS, seals); err != nil {
		s.Close()
		return nil, fmt.Errorf("sealing the read-only sysmsg memfd: %w", err)
	}
	if s.RWFD, s.rw, err = newPart("runsc-lite-sysmsg-rw", RWSize); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(uintptr(s.RWFD), unix.F_ADD_SEALS, unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
		s.Close()
		return nil, fmt.Errorf("sealing the read-write sysmsg memfd: %w", err)
	}
	return s, nil
}

func newPart(name string, size int) (int, []byte, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, nil, fmt.Errorf("memfd for sysmsg: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("sizing sysmsg memfd: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("mapping sysmsg memfd: %w", err)
	}
	return fd, mem, nil
}

// Close unmaps the region and closes the memfds.
func (s *Shared) Close() {
	for _, m := range [][]byte{s.ro, s.rw} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	s.ro, s.rw = nil, nil
	for _, fd := range []*int{&s.ROFD, &s.RWFD} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// SlotAddr is the stub address of thread slot i.
func SlotAddr(i int) uintptr { return RWBase + ThreadsOffset + uintptr(i)*SlotSize }

// StateAddr is the stub address of thread slot i's state word.
func StateAddr(i int) uintptr { return SlotAddr(i) }

// SetupAddr is the stub address of thread slot i's set-up block.
func SetupAddr(i int) uintptr { return Region + SetupOffset + uintptr(i)*SetupSize }

// Bytes returns the sentry's view of [addr, addr+n) in the stub, which must
// lie inside thread slot i's signal stack; ok is false otherwise.
func (s *Shared) Bytes(i int, addr, n uintptr) (b []byte, ok bool) {
	lo := SlotAddr(i) + AltstackOffset
	hi := SlotAddr(i) + SlotSize
	if addr < lo || addr > hi || n > hi-addr {
		return nil, false
	}
	off := addr - RWBase
	return s.rw[off : off+n : off+n], true
}

// SetThreadSetup writes what thread slot i installs when it starts: its
// seccomp program and its signal stack.
func (s *Shared) SetThreadSetup(i int, prog []bpf.Instruction) error {
	if len(prog) == 0 || len(prog) > MaxFilterInsns {
		return fmt.Errorf("thread seccomp program has %d instructions, want 1 to %d", len(prog), MaxFilterInsns)
	}
	if i < 0 || i >= MaxThreads {
		return fmt.Errorf("thread slot %d out of range", i)
	}
	*s.setup(i) = ThreadSetup{
		ProgLen:    uint16(len(prog)),
		ProgFilter: uint64(SetupAddr(i) + SetupInsns),
		SsSp:       uint64(SlotAddr(i) + AltstackOffset),
		SsSize:     AltstackSize,
	}
	b := s.ro[SetupOffset+i*SetupSize+SetupInsns : SetupOffset+(i+1)*SetupSize]
	for j, ins := range prog {
		o := 8 * j
		b[o], b[o+1] = byte(ins.OpCode), byte(ins.OpCode>>8)
		b[o+2], b[o+3] = ins.JumpIfTrue, ins.JumpIfFalse
		b[o+4], b[o+5], b[o+6], b[o+7] = byte(ins.K), byte(ins.K>>8), byte(ins.K>>16), byte(ins.K>>24)
	}
	return nil
}

// ResetMsg clears thread slot i's message for a new thread, which starts in
// StateResume.
func (s *Shared) ResetMsg(i int) {
	*s.Msg(i) = Msg{State: StateResume, Self: uint64(SlotAddr(i))}
}

// SentrySpin is how long the sentry polls a state word before it sleeps:
// long enough to catch the next syscall of a program that makes them back
// to back (a round trip is about 3.5us), short enough not to hold a CPU that
// the stubs of a forking, exec'ing workload need (on 2 cores a bash loop of
// 100 fork+exec took 530 ms with 30us, 440 ms with 15us; with 3us the
// getppid round trip tripled). Whether to spin at all is SpinPolicy's
// choice. (It was 50,000 polls, which are 15us on the 2-core VM's EPYC when
// it is idle and run on for as long again after every preemption.)
const SentrySpin = 15 * time.Microsecond

// StubSpin is how long the syscall thread polls for the next request when
// the sentry spins: what its 1,562 pauses took on the 2-core VM's EPYC
// when it ran undisturbed (a pause is about 30ns there; stub spins from 30
// to 750us gave the same round trip within noise). A stopped application
// thread polls as long (why in c/handler.c; gVisor's stub spins 20us
// before its first deep-sleep check). Under load
// the same pauses took 40-210ns each, in wall time, and the spins as many
// times longer.
const StubSpin = 46 * time.Microsecond

// sleepLimit bounds every futex sleep on a state word the application can
// write, so that a forged "nobody is waiting" flag delays but never hangs.
const sleepLimit = 20 * time.Millisecond
