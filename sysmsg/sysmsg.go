// Package sysmsg is the Go half of the protocol between the sentry and a
// stub process: the layout of the memory they share (c/sysmsg.h is the C
// half, and a test checks they agree) and the hand-off on its state words.
//
// A hand-off is one store and, only if the other side sleeps, one futex
// wake. Each side first spins on the state word, then sleeps on it; how long
// it spins is chosen by the caller from the number of CPUs and of threads
// that want one (SpinLimit), because on a small machine a spinning waiter
// steals the CPU from the thread it waits for.
//
// Every word here except the control page can be written by application
// code, so nothing read from shared memory is trusted: values are validated
// where they are used, sleeps have a time limit, and a forged state can only
// stall or break the forging address space.
package sysmsg

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
)

// Layout of the shared region; see c/sysmsg.h.
const (
	Region          = 0x7ff010000000
	ROSize          = 0x1000000
	RWBase          = Region + ROSize
	MaxThreads      = 4096
	SlotSize        = 0x10000
	ThreadsOffset   = SlotSize
	RWSize          = ThreadsOffset + MaxThreads*SlotSize
	RegionSize      = ROSize + RWSize
	FiltersOffset   = 0x1000
	FilterSlot      = 0x1000
	MaxFilterInsns  = (FilterSlot - 8) / 8
	AltstackOffset  = 0x1000
	AltstackSize    = SlotSize - AltstackOffset
	RegionEnd       = Region + RegionSize
	filterHeaderLen = 8
)

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
)

// Syscall-thread request kinds (Control.Kind).
const (
	ReqSyscall   = 1
	ReqMmapFD    = 2
	ReqNewThread = 3
	ReqFork      = 4
)

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
	NewFsBase     uint64
	NewGsBase     uint64
	SetBases      uint32
	_             uint32
}

// Control is struct stub_control: the read-only page of requests to the
// syscall thread.
type Control struct {
	Seq         uint32
	Kind        uint32
	Sysno       uint64
	Args        [6]uint64
	SpinLimit   uint32
	HasFSGSBase uint32
}

// Response is struct stub_response.
type Response struct {
	Seq uint32
	_   uint32
	Ret int64
}

// Shared is the sentry's mapping of one stub process's shared region.
type Shared struct {
	// FD is the memfd; the stub maps it at Region.
	FD  int
	mem []byte
}

// NewShared creates and maps a shared region.
func NewShared() (*Shared, error) {
	fd, err := unix.MemfdCreate("runsc-lite-sysmsg", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for sysmsg: %w", err)
	}
	if err := unix.Ftruncate(fd, RegionSize); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing sysmsg memfd: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, RegionSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping sysmsg memfd: %w", err)
	}
	return &Shared{FD: fd, mem: mem}, nil
}

// Close unmaps the region and closes the memfd.
func (s *Shared) Close() {
	if s.mem != nil {
		unix.Munmap(s.mem)
		s.mem = nil
	}
	if s.FD >= 0 {
		unix.Close(s.FD)
		s.FD = -1
	}
}

// SlotAddr is the stub address of thread slot i.
func SlotAddr(i int) uintptr { return RWBase + ThreadsOffset + uintptr(i)*SlotSize }

// StateAddr is the stub address of thread slot i's state word.
func StateAddr(i int) uintptr { return SlotAddr(i) }

// Bytes returns the sentry's view of [addr, addr+n) in the stub, which must
// lie inside thread slot i's signal stack; ok is false otherwise.
func (s *Shared) Bytes(i int, addr, n uintptr) (b []byte, ok bool) {
	lo := SlotAddr(i) + AltstackOffset
	hi := SlotAddr(i) + SlotSize
	if addr < lo || addr > hi || n > hi-addr {
		return nil, false
	}
	off := addr - Region
	return s.mem[off : off+n : off+n], true
}

// SetFilter writes the seccomp program thread slot i installs when it starts.
func (s *Shared) SetFilter(i int, prog []bpf.Instruction) error {
	if len(prog) == 0 || len(prog) > MaxFilterInsns {
		return fmt.Errorf("thread seccomp program has %d instructions, want 1 to %d", len(prog), MaxFilterInsns)
	}
	b := s.mem[FiltersOffset+i*FilterSlot : (i+1)*FilterSlot+FiltersOffset]
	putUint32(b, uint32(len(prog)))
	for j, ins := range prog {
		o := filterHeaderLen + 8*j
		b[o], b[o+1] = byte(ins.OpCode), byte(ins.OpCode>>8)
		b[o+2], b[o+3] = ins.JumpIfTrue, ins.JumpIfFalse
		putUint32(b[o+4:], ins.K)
	}
	return nil
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// SpinLimit is the most times a waiter polls a state word before it
// sleeps: zero on a single CPU, where spinning only delays the other side,
// and zero when more threads are waiting or running than there are CPUs.
func SpinLimit(busy int) uint32 {
	n := runtime.NumCPU()
	if n < 2 || busy >= n {
		return 0
	}
	return MaxSpin
}

// MaxSpin is about 15us of polling (an atomic load is about 0.3ns): long
// enough to catch the next syscall of a program that makes them back to back
// (a round trip is about 3.5us), short enough not to hold a CPU that the
// stubs of a forking, exec'ing workload need (on 2 cores a bash loop of 100
// fork+exec took 530 ms with 30us, 440 ms with 15us; with 3us the getppid
// round trip tripled). An adaptive spin (halved after every wait that had to
// sleep) was tried and made round trips three times slower under load.
const MaxSpin = 50000

// sleepLimit bounds every futex sleep on a state word the application can
// write, so that a forged "nobody is waiting" flag delays but never hangs.
const sleepLimit = 20 * time.Millisecond
