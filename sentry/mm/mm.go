// Package mm is the memory of one application process: a mirror of every
// mapping (VMA) of its address space, and the operations that change them.
//
// Application memory is real memory of the platform's stub process
// (docs/architecture.md, section 4): the host kernel handles page faults, copy-on-write
// and file caching. The sentry decides every address itself and maps with
// MAP_FIXED, so the mirror is exactly what the host has; it backs
// /proc/self/maps, brk, mremap and validation.
//
// mremap (mremap.go) is the host's own mremap, run by the stub through
// platform.AddressSpace.Mremap at an address the sentry chose: pages move
// with their page tables, so a moved shared mapping keeps sharing them with
// every other process, which remapping the backing object could not do for
// shared anonymous memory (it has no descriptor to map again). The stub's
// syscall thread already ran mremap, and the platform refuses requests near
// its reserved ranges or at host-chosen addresses.
//
// Layout, as Linux x86-64 lays out a 64-bit process: the stack near the top
// of the user address space (above the platform's reserved range), the mmap
// area growing down from below the reserved range, randomized by up to
// 1 TiB like mmap_rnd_bits=28, and brk after the executable; what is
// randomized is layout.go's.
//
// A file mapping's contents may move to another file while it is mapped:
// the overlay's copy up of a host file moves its mappings onto the copy
// (reback.go), so that they see the writes that follow.
//
// Memory limits (account.go): every address space charges what it
// commits to the sandbox's usage.Memory, as Linux charges commit
// (VM_ACCOUNT): writable private mappings (anonymous or file, brk, stacks)
// when they become writable, shared anonymous memory once per object when
// it is created; munmap, exit and exec give it back. MAP_NORESERVE
// mappings are not charged unless vm.overcommit_memory is 2, as in Linux
// (package usage says why the sandbox reports 0). Fork charges the child's copy in full, as Linux does,
// so fork fails with ENOMEM when the copy would pass the limit. RLIMIT_AS
// (every mapping) and RLIMIT_DATA (writable private mappings other than
// stacks, and brk) are checked per process as Linux checks them; the
// kernel pushes the process's limits in with SetRlimits.
package mm

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/usage"
)

const (
	pageSize = abi.PageSize
	// TaskSize is the end of the user address space (x86-64, 4-level).
	TaskSize = platform.MaxUserAddress
	// minAddr is vm.mmap_min_addr's default.
	minAddr = 0x10000
)

// VMA is one mapping.
type VMA struct {
	Start, End uintptr
	Prot       int
	Shared     bool
	// File is nil for anonymous memory. The VMA keeps it open: the stack
	// of files behind a process's mappings is part of its state (fork
	// needs it for MADV_DONTNEED on private file mappings).
	File   *os.File
	Offset int64
	Name   string // path shown in /proc/self/maps, or [heap], [stack], [vdso]
	// nameSource is MmapOpts.NameSource: whether Name is gone.
	nameSource NameSource
	Dev, Ino   uint64
	// shm is the shared anonymous memory object mapped, which fork
	// shares: with Offset it identifies a futex word across processes.
	shm *shmObject
	// special marks the mappings the platform made: its own ranges
	// ([platform], never changed by the application) and the vDSO and
	// its data page ([vdso], [vvar]), Linux's special mappings, which
	// the application may reprotect, unmap and move whole, never split.
	special bool
	// policy is the mapping's NUMA policy (mbind; mempolicy.go), nil for
	// MPOL_DEFAULT.
	policy *MemPolicy
	// Locked is VM_LOCKED (mlock, mlockall, MAP_LOCKED): recorded for
	// VmLck and smaps; the pages are not pinned on the host.
	Locked bool
	// noWrite is a cleared VM_MAYWRITE: a shared mapping of a file not
	// open for writing, which mprotect may not make writable (EACCES).
	noWrite bool
	// dontFork (MADV_DONTFORK) leaves the range out of a forked child;
	// wipeOnFork (MADV_WIPEONFORK, private anonymous memory only) gives
	// the child zeros there. Neither survives execve (a new mm).
	dontFork, wipeOnFork bool
	// aioRing is an AIO context's ring (MmapOpts.AIORing): it may not
	// grow (VM_DONTEXPAND), and a move tells the address space's AIO
	// state (aio_ring_mremap).
	aioRing bool
	// sealed is VM_SEALED (mseal.go).
	sealed bool
	// backing is MmapOpts.Backing: what the file's contents may move off
	// (reback.go); nil once they did.
	backing Backing
	// noReserve is VM_NORESERVE: MAP_NORESERVE outside strict overcommit
	// (usage.Memory.ChargesNoReserve). The mapping is not charged, then or
	// after (mprotect, mremap, fork), and the host maps it MAP_NORESERVE
	// too, or a host that checks commit refuses a sanitizer's terabytes.
	noReserve bool
}

// MemoryManager is one address space and its mirror.
type MemoryManager struct {
	as  platform.AddressSpace
	mem *usage.Memory // the sandbox's account; nil charges nothing
	cpu *usage.CPU    // the sandbox's CPU time; nil records nothing

	// asLimit and dataLimit are the process's RLIMIT_AS and RLIMIT_DATA
	// soft limits in bytes (account.go).
	asLimit, dataLimit atomic.Uint64

	// notDumpable is prctl(PR_SET_DUMPABLE, 0): no core file (Linux keeps
	// it in the mm too, so fork copies it and execve's new mm drops it).
	notDumpable atomic.Bool

	// vdsoChanged says the process's vDSO or its data page may differ
	// from a fresh process's: rewritten (TrapVDSOClocks), their
	// protection changed by mprotect, unmapped or moved. An execve must
	// not keep the process (NewInPlace), which keeps those pages as they
	// are. Fork copies it, as the child's pages are copies.
	vdsoChanged atomic.Bool

	// mu guards the mirror of the mappings and the program break, and
	// orders every change of the real mappings.
	mu       sync.Mutex
	released bool // the address space is gone (Release); guarded by mu
	// finalUser and finalSys are the address space's CPU time when it
	// was released (FinalCPUTime); guarded by mu.
	finalUser, finalSys time.Duration
	// rss is the address space's mark of resident memory and peakVM the
	// most bytes it has had mapped (hiwater.go); guarded by mu.
	rss    rssPeak
	peakVM uint64
	// lockFuture is mlockall's MCL_FUTURE: new mappings are locked
	// (mlock.go); guarded by mu.
	lockFuture bool
	vmas       vmaSet // guarded by mu
	// gapHint speeds up top-down placement (findGap) in a process whose
	// mappings are packed below mmapBase: every free range in
	// [gapHint.addr, mmapBase) is at most gapHint.hole bytes long, so a
	// longer one is looked for below gapHint.addr only. A zero addr is no
	// hint. Guarded by mu.
	gapHint struct{ addr, hole uintptr }
	// platformVMAs is how many of vmas are the platform's own ranges,
	// which never change (New puts them there, Fork copies them).
	platformVMAs int
	mmapBase     uintptr // guarded by mu
	// random is how the loader lays the program out (layout.go): set
	// before anything is mapped, read only after.
	random   Randomization
	brkStart uintptr // guarded by mu
	brk      uintptr // guarded by mu
	// StackTop is where the loader put the initial stack. It, Argv, Envv
	// and Auxv are written by the loader before the address space is in
	// use, and only read after.
	StackTop uintptr
	// Argv and Envv are the ranges of the argument and environment strings
	// and Auxv the auxiliary vector, as the loader wrote them (Linux keeps
	// them in mm_struct too): /proc/pid/cmdline, environ and auxv.
	Argv, Envv [2]uintptr
	Auxv       []byte

	users atomic.Int32 // tasks sharing the address space, less one

	// trackers are the MapTrackers of mapped files (MmapOpts.Tracker),
	// by the file the mappings hold. Guarded by mu.
	trackers map[*os.File]MapTracker

	// aio is the address space's native AIO contexts (package
	// sentry/kernel/aio: Linux's mm->ioctx_table), made at the first
	// io_setup, released with the address space (exit_aio); never
	// copied by Fork. Guarded by mu.
	aio Releaser
}

// Releaser is state of another package that lives and dies with an
// address space.
type Releaser interface{ Release() }

// RingMover is the AIO state (a Releaser) told of a move of a ring:
// MoveRing makes the live context whose ring is file's memory known at
// start and returns where it was, or fails (EINVAL: no live context has
// it, as for a forked child's copy of a ring).
type RingMover interface {
	MoveRing(file *os.File, start uintptr) (uintptr, error)
}

// moveRing tells the AIO state that the ring mapped from file is now at
// start and returns where it was; m.mu is held.
func (m *MemoryManager) moveRing(file *os.File, start uintptr) (uintptr, error) {
	r, ok := m.aio.(RingMover)
	if !ok {
		return 0, unix.EINVAL
	}
	return r.MoveRing(file, start)
}

// AIO returns the address space's AIO contexts, made by newFn at the
// first call; nil once the address space is released.
func (m *MemoryManager) AIO(newFn func() Releaser) Releaser {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.aio == nil && !m.released && newFn != nil {
		m.aio = newFn()
	}
	return m.aio
}

// IncUsers records another task sharing the address space (CLONE_VM).
func (m *MemoryManager) IncUsers() { m.users.Add(1) }

// Shared reports whether another task uses the address space.
func (m *MemoryManager) Shared() bool { return m.users.Load() > 0 }

// DecUsers drops a task's use; the last one releases the address space.
func (m *MemoryManager) DecUsers() {
	if m.users.Add(-1) < 0 {
		m.Release()
	}
}

// New returns an empty memory manager on a fresh address space, charging
// the memory it commits to mem.
func New(as platform.AddressSpace, mem *usage.Memory) *MemoryManager {
	m := &MemoryManager{as: as, mem: mem}
	m.SetRlimits(unlimited, unlimited)
	for _, r := range as.Reserved() {
		m.insert(VMA{Start: r.Start, End: r.End, special: true, Name: "[platform]"})
		m.platformVMAs++
	}
	if v := as.VVAR(); v.End > v.Start {
		m.insert(VMA{Start: v.Start, End: v.End, Prot: unix.PROT_READ, Name: "[vvar]", special: true})
	}
	if v := as.VDSO(); v.End > v.Start {
		m.insert(VMA{Start: v.Start, End: v.End, Prot: unix.PROT_READ | unix.PROT_EXEC, Name: "[vdso]", special: true})
	}
	m.SetRandomization(RandomizeAll)
	return m
}

// AddressSpace returns the platform address space.
func (m *MemoryManager) AddressSpace() platform.AddressSpace { return m.as }

// mmapTop is where the mmap area would start without randomization: the
// start of the lowest of the platform's reserved ranges in the upper half
// of the address space, or TaskSize. A reserved range low in the address
// space (systrap's trap table) is below the mmap area, not above it. The
// vDSO does not count: the host put it at random, and mappings go around
// it.
func (m *MemoryManager) mmapTop() uintptr {
	low := uintptr(TaskSize)
	for _, r := range m.as.Reserved() {
		if r.Start < low && r.Start >= TaskSize/2 {
			low = r.Start
		}
	}
	return low &^ (pageSize - 1)
}

// SetCPUAccount makes the address space's CPU time go to c when it is
// released; forks inherit it. Call it before the address space is shared.
func (m *MemoryManager) SetCPUAccount(c *usage.CPU) { m.cpu = c }

// CPUTime returns the CPU time of the threads that run in the address
// space; ok is false once it is released (its host process may be
// another's by then).
func (m *MemoryManager) CPUTime() (user, sys time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return 0, 0, false
	}
	user, sys, err := m.as.CPUTime()
	return user, sys, err == nil
}

// FinalCPUTime is the CPU time the address space had used when it was
// released; ok is false while it is not.
func (m *MemoryManager) FinalCPUTime() (user, sys time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.finalUser, m.finalSys, m.released
}

// Release destroys the address space; its CPU time goes to the sandbox's
// account.
func (m *MemoryManager) Release() {
	var aio Releaser
	defer func() {
		// After m.mu: destroying the contexts takes their own locks.
		if aio != nil {
			aio.Release()
		}
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return
	}
	aio, m.aio = m.aio, nil
	// An execve in place that failed before it took the process over
	// leaves it, and its CPU time, to the old program.
	if d, ok := m.as.(*deferredAS); ok && d.takeOver != nil {
		d.drop()
	} else {
		if user, sys, err := m.as.CPUTime(); err == nil {
			m.cpu.Retire(user, sys)
			m.finalUser, m.finalSys = user, sys
		}
		if !m.rss.left {
			m.leaveHostLocked()
		}
		m.as.Release()
	}
	m.released = true
	m.mem.Uncharge(usage.Anon, m.usageIn(0, TaskSize).charged)
	shms := m.shmsIn(0, TaskSize)
	for f := range m.trackers {
		m.untrack(f)
	}
	// Each mapped file once, or they would wait for the garbage
	// collector's finalizer (or, shared with a fork, for ever).
	for f := range m.vmas.files {
		releaseFile(f)
	}
	m.vmas = vmaSet{}
	m.putShms(shms)
}

// track records that f, just mapped, belongs to t. m.mu is held.
func (m *MemoryManager) track(f *os.File, t MapTracker) {
	if m.trackers == nil {
		m.trackers = make(map[*os.File]MapTracker)
	}
	m.trackers[f] = t
	t.MapOpened()
}

// untrack tells f's tracker, if any, that f is mapped no more. m.mu is
// held.
func (m *MemoryManager) untrack(f *os.File) {
	if t, ok := m.trackers[f]; ok {
		delete(m.trackers, f)
		t.MapClosed()
	}
}

func pageUp(x uintptr) uintptr { return (x + pageSize - 1) &^ (pageSize - 1) }

// CopyIn reads application memory.
func (m *MemoryManager) CopyIn(addr uintptr, dst []byte) (int, error) {
	return m.as.ReadAt(dst, addr)
}

// CopyOut writes application memory, as the application could: a read-only
// page is EFAULT.
func (m *MemoryManager) CopyOut(addr uintptr, src []byte) (int, error) {
	return m.as.WriteAt(src, addr)
}

// CopyInVec reads the ranges src of application memory, in order, into dst
// with one copy (usermem.IO).
func (m *MemoryManager) CopyInVec(dst []byte, src []platform.Range) (int, error) {
	return m.as.ReadVec(dst, src)
}

// CopyOutVec writes src to the ranges dst of application memory, in
// order, with one copy (usermem.IO).
func (m *MemoryManager) CopyOutVec(src []byte, dst []platform.Range) (int, error) {
	return m.as.WriteVec(src, dst)
}

// HandleFault reports whether a fault at addr was the sentry's business and
// is now fixed. Nothing is: every mapping is real, so every fault the host
// reports is one the application gets.
func (m *MemoryManager) HandleFault(addr uintptr, access platform.Access) bool { return false }

// Dumpable is prctl(PR_GET_DUMPABLE): whether a fatal signal may dump core.
func (m *MemoryManager) Dumpable() bool { return !m.notDumpable.Load() }

// SetDumpable is prctl(PR_SET_DUMPABLE).
func (m *MemoryManager) SetDumpable(d bool) { m.notDumpable.Store(!d) }

// Maps returns the mirror in /proc/self/maps format, file mappings named
// by name (nil: by their names at mmap).
func (m *MemoryManager) Maps(name Namer) string {
	// The lines are made from a copy, outside m.mu: whether a name is
	// gone is a question to its file system.
	var b strings.Builder
	for _, v := range m.VMAs() {
		if v.shown() {
			b.WriteString(v.MapsLine(name))
		}
	}
	return b.String()
}

// shown reports whether /proc/PID/maps lists v: everything but the
// platform's own ranges.
func (v *VMA) shown() bool { return !v.platformRange() }

// platformRange reports whether v is one of the platform's own ranges,
// which the application never changes.
func (v *VMA) platformRange() bool { return v.special && v.Name == "[platform]" }

// hostShared reports whether the host maps v shared. A shared mapping that
// may never be writable (noWrite) is private on the host: it reads the
// same pages as long as nothing writes them, and nothing the sentry does
// writes them; but the host allows a private mapping to become writable
// (copy on write) where a shared one of the sentry's descriptor (a memfd,
// open for writing whatever the application opened) would write the file.
// The application's thread can make its own mappings writable behind the
// sentry's back at a resume (platform/systrap/resume_call.go).
func (v *VMA) hostShared() bool { return v.Shared && !v.noWrite }

// hostFlags are the mmap flags that map v on the host, at a fixed place.
func (v *VMA) hostFlags() int {
	flags := unix.MAP_FIXED | unix.MAP_PRIVATE
	if v.hostShared() {
		flags = unix.MAP_FIXED | unix.MAP_SHARED
	}
	if v.File == nil {
		flags |= unix.MAP_ANONYMOUS
	}
	if v.noReserve {
		flags |= unix.MAP_NORESERVE
	}
	return flags
}

// Shown reports whether v is the application's (/proc/PID/maps lists it).
func (v *VMA) Shown() bool { return v.shown() }

// AnonymousShared reports whether v maps shared anonymous memory
// (MAP_SHARED|MAP_ANONYMOUS, System V shared memory).
func (v *VMA) AnonymousShared() bool { return v.shm != nil }

// MapsLine is v's line of /proc/PID/maps, with its newline, a file
// mapping named by name (nil: by its name at mmap).
func (v *VMA) MapsLine(name Namer) string {
	perm := []byte("---p")
	if v.Prot&unix.PROT_READ != 0 {
		perm[0] = 'r'
	}
	if v.Prot&unix.PROT_WRITE != 0 {
		perm[1] = 'w'
	}
	if v.Prot&unix.PROT_EXEC != 0 {
		perm[2] = 'x'
	}
	if v.Shared {
		perm[3] = 's'
	}
	line := fmt.Sprintf("%08x-%08x %s %08x %02x:%02x %d", v.Start, v.End, perm, v.Offset, unix.Major(v.Dev), unix.Minor(v.Dev), v.Ino)
	if n := v.currentName(name); n != "" {
		line = fmt.Sprintf("%-73s%s", line+" ", n)
		if v.nameSource != nil && v.nameSource.Unlinked(context.Background()) {
			line += " (deleted)"
		}
	}
	return line + "\n"
}

// currentName is v's name as /proc shows it now: its file's path by
// name, or the name given at mmap.
func (v *VMA) currentName(name Namer) string {
	if v.nameSource != nil && name != nil {
		if n := name(v.nameSource); n != "" {
			return n
		}
	}
	return v.Name
}

// VMAs returns a copy of the mirror.
func (m *MemoryManager) VMAs() []VMA {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]VMA, 0, m.vmas.Len())
	for v := range m.vmas.all() {
		out = append(out, *v)
	}
	return out
}

// insert adds v, which must not overlap anything, and merges it with its
// neighbours.
func (m *MemoryManager) insert(v VMA) {
	m.vmas.add(&v)
	m.mergeAround(v.Start, v.End)
}

// mergeAround joins the mappings in [start, end), and those just outside
// it, with their neighbours where Linux would show them as one VMA
// (mergeable); m.mu is held.
func (m *MemoryManager) mergeAround(start, end uintptr) {
	var run []*VMA // from the one that ends at start to the one at end
	for v := range m.vmas.from(max(start, 1) - 1) {
		if v.Start > end {
			break
		}
		run = append(run, v)
	}
	for i := 1; i < len(run); i++ {
		if p, v := run[i-1], run[i]; mergeable(p, v) {
			m.vmas.del(v)
			m.vmas.setEnd(p, v.End)
			run[i] = p
		}
	}
}

// mergeable reports whether p and the VMA after it, v, are one VMA as
// Linux would show it: contiguous, same protection, sharing, file (and
// contiguous offsets), name (and where it comes from) and flags. mremap and /proc/self/maps depend
// on it.
func mergeable(p, v *VMA) bool {
	return p.End == v.Start && !p.special && !v.special && p.Prot == v.Prot &&
		p.Shared == v.Shared && p.File == v.File && p.Name == v.Name && p.nameSource == v.nameSource && p.shm == v.shm && p.Locked == v.Locked &&
		p.noWrite == v.noWrite && p.dontFork == v.dontFork && p.wipeOnFork == v.wipeOnFork && p.sealed == v.sealed &&
		p.noReserve == v.noReserve && p.backing == v.backing && p.policy.Equal(v.policy) &&
		(v.File == nil || p.Offset+int64(p.End-p.Start) == v.Offset)
}

// overlaps reports whether [start, end) touches any VMA; platform says
// whether one of them is a platform range.
func (m *MemoryManager) overlaps(start, end uintptr) (any, platform bool) {
	for v := range m.vmas.in(start, end) {
		any = true
		platform = platform || v.platformRange()
	}
	return any, platform
}

// cutsSpecial reports whether unmapping [start, end) would leave part of
// the vDSO or its data page, which Linux refuses (special mappings do not
// split: EINVAL from munmap); m.mu is held.
func (m *MemoryManager) cutsSpecial(start, end uintptr) bool {
	for v := range m.vmas.in(start, end) {
		if v.special && (v.Start < start || end < v.End) {
			return true
		}
	}
	return false
}

// remove cuts [start, end) out of the mirror, splitting VMAs at its edges,
// and returns the files no piece uses any more.
func (m *MemoryManager) remove(start, end uintptr) []*os.File {
	cut := m.vmas.collect(start, end)
	if len(cut) == 0 {
		return nil
	}
	var dropped []*os.File
	for _, v := range cut {
		m.vmas.del(v)
		if v.special {
			// The vDSO or its data page unmapped or moved: an execve
			// needs a fresh process for a fresh vDSO.
			m.vdsoChanged.Store(true)
		}
		if v.Start < start {
			left := *v
			left.End = start
			m.vmas.add(&left)
		}
		if v.End > end {
			right := *v
			right.Offset += int64(end - v.Start)
			right.Start = end
			m.vmas.add(&right)
		}
		if v.File != nil && !slices.Contains(dropped, v.File) {
			dropped = append(dropped, v.File)
		}
	}
	m.freed(start, end)
	var unused []*os.File
	for _, f := range dropped {
		if !m.vmas.mapsFile(f) {
			unused = append(unused, f)
		}
	}
	return unused
}

// freed keeps gapHint true after [start, end) was unmapped: the free range
// around it may now be the longest above the hint; m.mu is held.
func (m *MemoryManager) freed(start, end uintptr) {
	if m.gapHint.addr == 0 || end <= m.gapHint.addr || start >= m.mmapBase {
		return
	}
	lo, hi := uintptr(minAddr), uintptr(TaskSize)
	for v := range m.vmas.below(start) {
		lo = v.End
		break
	}
	if v := m.vmas.first(end); v != nil {
		hi = v.Start
	}
	m.gapHint.hole = max(m.gapHint.hole, hi-lo)
}

// findGap returns the highest free range of length that ends at or below
// top; m.mu is held.
func (m *MemoryManager) findGap(length, top uintptr) (uintptr, bool) {
	end, hole := top, uintptr(0)
	hinted := top == m.mmapBase && m.gapHint.addr != 0
	if hinted && length > m.gapHint.hole {
		end, hole = m.gapHint.addr, m.gapHint.hole
	}
	found := false
	for v := range m.vmas.below(end) {
		if v.End < end {
			if end-v.End >= length {
				found = true
				break
			}
			hole = max(hole, end-v.End)
		}
		end = min(end, v.Start)
	}
	if !found && (end <= minAddr || end-minAddr < length) {
		return 0, false
	}
	if top == m.mmapBase {
		// Every free range above end was shorter than length.
		m.gapHint.addr, m.gapHint.hole = end, hole
	}
	return end - length, true
}

// AccessibleLen returns how many bytes of the ranges rs, in order, the
// application could access (write, or read) before reaching an unmapped or
// protected page (usermem.IO). Syscalls use it to copy as much as Linux
// would, and to consume no more of a file than they can deliver.
func (m *MemoryManager) AccessibleLen(rs []platform.Range, write bool) int {
	need := unix.PROT_READ
	if write {
		need = unix.PROT_WRITE
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range rs {
		if r.End <= r.Start {
			continue
		}
		ok := m.accessibleLocked(r, need)
		n += ok
		if ok < int(r.End-r.Start) {
			break
		}
	}
	return n
}

// accessibleLocked returns how many bytes of r, from its start, lie in
// mappings with the protection need; mu is held.
func (m *MemoryManager) accessibleLocked(r platform.Range, need int) int {
	at := r.Start
	for v := range m.vmas.from(at) {
		if v.Start > at || v.platformRange() || v.Prot&need == 0 {
			break
		}
		at = v.End
		if at >= r.End {
			return int(r.End - r.Start)
		}
	}
	return int(at - r.Start)
}

// FutexKey returns what identifies the futex word at addr: for a private
// futex, or one in private memory, this address space and the address; in
// a shared mapping, the object mapped (file or shared anonymous memory)
// and the offset in it, so that processes sharing it meet. A shared
// futex at an unmapped address is EFAULT; a private one is not (Linux
// keys it without looking at the mappings), except in the reserved
// range, which is not the application's (Linux's access_ok on a kernel
// address).
func (m *MemoryManager) FutexKey(addr uintptr, private bool) (any, error) {
	type privateKey struct {
		m    *MemoryManager
		addr uintptr
	}
	type fileKey struct{ dev, ino, off uint64 }
	type shmKey struct{ id, off uint64 }
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.vmas.containing(addr)
	mapped := v != nil
	switch {
	case mapped && v.special:
		return nil, unix.EFAULT
	case !mapped && private:
		return privateKey{m, addr}, nil
	case !mapped:
		return nil, unix.EFAULT
	}
	off := uint64(v.Offset) + uint64(addr-v.Start)
	switch {
	case private || !v.Shared:
		return privateKey{m, addr}, nil
	case v.File != nil:
		return fileKey{v.Dev, v.Ino, off}, nil
	default:
		return shmKey{v.shm.id, off}, nil
	}
}
