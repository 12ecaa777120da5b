// Package platform defines how the sentry runs application code: an
// AddressSpace is the memory of one application process, a Context runs one
// application thread inside an address space until it stops.
//
// Application memory is real host memory of a stub process (docs/architecture.md,
// section 4); the sentry changes its mappings only through the AddressSpace
// methods and copies data with ReadAt/WriteAt and their vectored forms,
// ReadVec/WriteVec (ProcessMemory, for platforms of stub processes). Every implementation passes
// the suite in platform/platformtest.
//
// The value types here (Registers, FPState, Event) are shared by all
// platforms so that the sentry never sees which one it runs on.
package platform

import (
	"errors"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Platform creates address spaces and thread contexts.
type Platform interface {
	// Name is the flag value that selects the platform ("systrap").
	Name() string
	// NewAddressSpace returns a fresh, empty address space.
	NewAddressSpace() (AddressSpace, error)
	// NewContext returns a context for one application thread. It is bound
	// to an address space by its first Switch.
	NewContext() Context
	// Close releases the platform; address spaces must be released first.
	Close() error
}

// ReleaseWaiter is a Platform whose AddressSpace.Release returns before
// the host has removed the address space's mappings (systrap kills its
// stub at once and reaps it in the background). Linux releases an exiting
// process's memory before its parent can wait for it; a host-visible
// effect of a mapping (a memfd's F_SEAL_WRITE is EBUSY while a shared
// writable mapping exists) can need that order back.
type ReleaseWaiter interface {
	// WaitReleased returns once every address space released before the
	// call is gone from the host, or after a few seconds.
	WaitReleased()
}

// MappingChange is what the memory manager knows of a mapping change
// about to be made that the host's answer to it depends on.
type MappingChange struct {
	// Mappings is the number of the application's mappings.
	Mappings int
	// Shared says the change touches memory the host maps shared, where
	// the host file's own rules (a memfd's seals) may refuse a writable
	// protection.
	Shared bool
}

// ChangeWatcher is implemented by an address space that wants to hear of
// each mapping change before it is made: systrap makes some without
// waiting for the host's answer, which must then be certain
// (platform/systrap/resume_call.go).
type ChangeWatcher interface {
	WillChange(c MappingChange)
}

// AddressSpace is the memory of one application process.
type AddressSpace interface {
	// Mmap maps length bytes at addr (a hint unless flags has MAP_FIXED).
	// f is nil for anonymous memory; otherwise the mapping shows f at off.
	// It returns the address chosen.
	Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error)
	Munmap(addr, length uintptr) error
	Mprotect(addr, length uintptr, prot int) error
	// Mremap is the host's mremap(2) in the address space: flags 0 resizes
	// the mapping at old in place; MREMAP_MAYMOVE|MREMAP_FIXED (with
	// MREMAP_DONTUNMAP or not) moves it to newAddr, which the caller
	// chose, carrying its pages along, so shared memory stays shared. A
	// host-chosen address is refused (EINVAL): it could fall in a range
	// the platform reserves. See CheckMremap.
	Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error)
	// Resident sets vec[i] to 1 if page i from addr is present in the
	// host process's page tables, else 0 (ResidentPages).
	Resident(addr uintptr, vec []byte) error
	// Private sets vec[i] to 1 if page i from addr is the host process's
	// own anonymous copy (in memory or swapped out), else 0: in a private
	// file mapping, the pages the process wrote, which no longer follow
	// the file (PrivatePages).
	Private(addr uintptr, vec []byte) error
	// PeakResident returns the most bytes the address space has had
	// resident at once: Linux's hiwater_rss, the host's VmHWM of the
	// host process that holds it (ProcessPeakResident), the platform's
	// own few pages included. A Fork's copy starts its own at what it
	// has resident, as Linux's fork does (dup_mm); a Renew keeps the mark
	// (the host process is the same).
	PeakResident() (uint64, error)
	// Populate faults in the pages of [addr, addr+length), as Linux's
	// mlock and MAP_LOCKED do: for writing (breaking copy-on-write) if
	// write, else for reading. Contents do not change.
	Populate(addr, length uintptr, write bool) error
	// Discard drops the pages of private anonymous memory in [addr,
	// addr+length), as Linux's MADV_DONTNEED does: the next access reads
	// zeros. The mappings do not change. It is one host call for the
	// whole range, where mapping each part afresh costs one per part.
	Discard(addr, length uintptr) error
	// ReadAt and WriteAt copy application memory. An unmapped or
	// inaccessible address ends the copy with an error wrapping EFAULT; n
	// says how much was copied before it.
	ReadAt(dst []byte, addr uintptr) (n int, err error)
	WriteAt(src []byte, addr uintptr) (n int, err error)
	// ReadVec and WriteVec are ReadAt and WriteAt over several ranges of
	// application memory taken in order (an iovec array), in one copy:
	// they move as many bytes as the smaller of the buffer and the
	// ranges hold, and stop as ReadAt does at the first byte they cannot
	// reach. Empty ranges are skipped.
	ReadVec(dst []byte, src []Range) (n int, err error)
	WriteVec(src []byte, dst []Range) (n int, err error)
	// Fork returns a copy-on-write copy of this address space.
	Fork() (AddressSpace, error)
	// Reserved lists the ranges the application may not map, unmap or
	// protect: the platform's own code and shared memory.
	Reserved() []Range
	// VDSO returns where the host vDSO is mapped (zero Range if none).
	VDSO() Range
	// VDSOImage returns the vDSO's bytes as the host mapped them, before
	// any application ran (nil if none): on systrap an application can
	// replace its own copy (platform/systrap/resume_call.go), so the
	// sentry reads this one.
	VDSOImage() []byte
	// VVAR returns where the vDSO's data pages are mapped: the application
	// must not map over them, or its vDSO reads garbage.
	VVAR() Range
	// CPUTime returns the CPU time the host has charged the threads that
	// run in the address space (ProcessCPUTime of its host process).
	CPUTime() (user, sys time.Duration, err error)
	// Release destroys the address space. Contexts bound to it are unbound.
	Release()
}

// MapOp is one mapping change of a batch (Batcher).
type MapOp struct {
	// Sysno is unix.SYS_MMAP (with MAP_FIXED), SYS_MUNMAP or
	// SYS_MPROTECT.
	Sysno        uintptr
	Addr, Length uintptr
	Prot, Flags  int
	// File and Off are an mmap's file (nil for anonymous memory).
	File *os.File
	Off  int64
}

// Batcher is an AddressSpace that makes several mapping changes with one
// hand-off to the host process that holds its memory (an execve's
// mappings: a dozen at once).
type Batcher interface {
	// MapBatch makes ops in order, each as Mmap, Munmap or Mprotect
	// makes it, and stops at the first that fails: it returns how many
	// were made and that one's error.
	MapBatch(ops []MapOp) (int, error)
}

// Renewer is an AddressSpace whose host process an execve can keep: the
// new program's address space is the same process, emptied, instead of a
// new one (Linux keeps the process too). A fresh host process costs an
// execve on the 2-core VM a spare process, its seccomp programs and a
// first thread, all compiled and started in the kernel, and the old
// process's teardown (about a third of a shell's fork+exec loop).
type Renewer interface {
	// Renew returns an address space on the same host process, with the
	// context bound to this one (the execing thread) carried over to it,
	// and releases this one without ending the process: every later use
	// of this one fails. The caller then unmaps every application mapping
	// (UnmapAll) before anything runs there. It fails, changing nothing,
	// when the process has run other threads, which could still run the
	// old program's code.
	Renew() (AddressSpace, error)
	// Renewable reports whether Renew would succeed now.
	Renewable() bool
}

// UnmapAll returns the munmaps that empty as of application mappings:
// the whole user range but the platform's reserved ranges and the vDSO's.
func UnmapAll(as AddressSpace, taskSize uintptr) []MapOp {
	keep := append(append([]Range(nil), as.Reserved()...), as.VDSO(), as.VVAR())
	sort.Slice(keep, func(i, j int) bool { return keep[i].Start < keep[j].Start })
	var ops []MapOp
	at := uintptr(pageSize)
	for _, k := range keep {
		if k.End <= k.Start {
			continue
		}
		if k.Start > at {
			ops = append(ops, MapOp{Sysno: unix.SYS_MUNMAP, Addr: at, Length: k.Start - at})
		}
		at = max(at, k.End)
	}
	if taskSize > at {
		ops = append(ops, MapOp{Sysno: unix.SYS_MUNMAP, Addr: at, Length: taskSize - at})
	}
	return ops
}

// Context runs one application thread.
type Context interface {
	// Switch runs the thread in as with regs and fp until it makes a
	// syscall, faults, gets a synchronous signal, or Interrupt is called.
	// regs and fp are updated in place to the state at the stop.
	Switch(as AddressSpace, regs *Registers, fp *FPState) (Event, error)
	// Interrupt makes a running Switch return EventInterrupted promptly, or
	// the next Switch if none is running. It may be called from any
	// goroutine.
	Interrupt()
	// Release frees the host thread behind the context.
	Release()
}

// Idler is a Context that can lend its host thread while its task waits
// in the sentry: the kernel calls Idle from the task's goroutine, between
// Switches, when the task is about to block. The next Switch takes a host
// thread again, perhaps another one. A platform whose host threads cost a
// wake-up when they slept (systrap) uses it to hand a thread that is still
// awake to the next context that needs one.
type Idler interface {
	Idle()
}

// ThreadClock is a Context that knows the CPU time of its own
// application thread, which its process's CPU time (AddressSpace.CPUTime)
// sums with the others'.
type ThreadClock interface {
	// ThreadCPUTime returns the CPU time the host charged while it ran
	// the context's application thread. It may be called from any
	// goroutine.
	ThreadCPUTime() time.Duration
}

// MaxUserAddress is the end of the user address space (x86-64, 4-level
// page tables).
const MaxUserAddress = 0x7ffffffff000

// Range is [Start, End).
type Range struct {
	Start, End uintptr
}

// Overlaps reports whether r and [start, start+length) share a byte.
func (r Range) Overlaps(start, length uintptr) bool {
	end := start + length
	return length != 0 && start < r.End && r.Start < end
}

// Contains reports whether addr is in r.
func (r Range) Contains(addr uintptr) bool {
	return r.Start <= addr && addr < r.End
}

// CopyEachRange is ReadVec or WriteVec for an address space without a
// vectored copy of its own (memplatform, test fakes): copyAt, its ReadAt
// or WriteAt, runs on each nonempty range of rs in order with its part of
// b, until the smaller of b and the ranges is moved or a copy fails.
func CopyEachRange(b []byte, rs []Range, copyAt func(b []byte, addr uintptr) (int, error)) (int, error) {
	done := 0
	for _, r := range rs {
		if done == len(b) {
			break
		}
		if r.End <= r.Start {
			continue
		}
		n, err := copyAt(b[done:done+int(min(r.End-r.Start, uintptr(len(b)-done)))], r.Start)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// ErrContextDead is returned by Switch when the host thread or process behind
// the context is gone (killed, or destroyed by a hostile application). The
// context cannot be switched into that address space again.
var ErrContextDead = errors.New("platform: application thread is gone")
