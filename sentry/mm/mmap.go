package mm

import (
	"context"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/usage"
)

// MmapOpts are the arguments of mmap.
type MmapOpts struct {
	Addr, Length uintptr
	Prot, Flags  int
	// File is nil for MAP_ANONYMOUS. Mmap takes ownership: it is closed when
	// the last piece of the mapping goes.
	File   *os.File
	Offset int64
	Name   string
	// NameSource, if set, is the name Name was made from: once it
	// names the file no longer, /proc/PID/maps adds " (deleted)".
	NameSource NameSource
	Dev, Ino   uint64
	// ReadOnlyFile says the file mapped (File, or /dev/zero for shared
	// anonymous memory) was not opened for writing: a shared
	// mapping of it may never become writable (Linux clears VM_MAYWRITE).
	ReadOnlyFile bool
	// AIORing says the mapping is an AIO context's ring (io_setup).
	AIORing bool
	// Tracker, if set, is told that File is mapped, and again when the
	// last piece of this mapping (or of a forked child's copy) goes.
	Tracker MapTracker
	// Backing, if set, is what File's contents may move off while it is
	// mapped (reback.go): told of the mapping, and of a fork's copy.
	Backing Backing
	// noReserve maps a mapping afresh that was VM_NORESERVE, whatever
	// vm.overcommit_memory says now.
	noReserve bool
}

// NameSource is where a file mapping's name comes from (a *vfs.Dentry).
// Linux names a mapping by d_path of its file when /proc is read, so the
// name follows renames of the file and its directories: a Namer gives it
// then. Name, fixed at mmap, is the name without one.
type NameSource interface {
	// Unlinked reports whether the name is gone (d_path's " (deleted)").
	Unlinked(ctx context.Context) bool
}

// Namer gives a file mapping's current path from its NameSource, as the
// reader of /proc sees it; "" leaves the name given at mmap.
type Namer func(NameSource) string

// MapTracker is a mapped object that counts the mappings of it, as
// Linux's vm_operations open and close do (a packet socket's rings may
// not be set up again while mapped: packet_mm_open, packet_mm_close).
// Its methods run with the address space's lock held: they must not
// call back into it.
type MapTracker interface {
	MapOpened()
	MapClosed()
}

// Remappable is a MapTracker whose mappings remap_file_pages may map
// afresh, as it does any file's: one that only counts them (a file's
// write access), unlike a packet socket's rings.
type Remappable interface {
	MapTracker
	Remappable()
}

const protMask = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC

// legacyMapMask is <linux/mman.h>'s LEGACY_MAP_MASK: the flags
// MAP_SHARED_VALIDATE accepts from a file without mmap_supported_flags
// (MAP_FIXED_NOREPLACE is not among them, in Linux too).
const legacyMapMask = unix.MAP_SHARED | unix.MAP_PRIVATE | unix.MAP_FIXED | unix.MAP_ANONYMOUS |
	unix.MAP_DENYWRITE | unix.MAP_EXECUTABLE | mapUninitialized | unix.MAP_GROWSDOWN |
	unix.MAP_LOCKED | unix.MAP_NORESERVE | unix.MAP_POPULATE | unix.MAP_NONBLOCK |
	unix.MAP_STACK | unix.MAP_HUGETLB | unix.MAP_32BIT | unix.MAP_HUGE_2MB | unix.MAP_HUGE_1GB

// mapUninitialized is <asm-generic/mman-common.h>'s MAP_UNINITIALIZED.
const mapUninitialized = 0x4000000

// Mmap maps memory as mmap(2) does and returns its address. The memory
// manager owns o.File from then on, which may be a file it maps already
// (the loader maps an image's segments from one descriptor); on error the
// file is closed unless it is.
func (m *MemoryManager) Mmap(o MmapOpts) (uintptr, error) {
	addr, err := m.mmap(o)
	if err != nil && o.File != nil && !m.maps(o.File) {
		o.File.Close()
	}
	return addr, err
}

// maps reports whether a mapping of m is of f.
func (m *MemoryManager) maps(f *os.File) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.vmas.mapsFile(f)
}

func (m *MemoryManager) mmap(o MmapOpts) (uintptr, error) {
	kind := o.Flags & unix.MAP_SHARED_VALIDATE
	if kind != unix.MAP_PRIVATE && kind != unix.MAP_SHARED && kind != unix.MAP_SHARED_VALIDATE {
		return 0, unix.EINVAL
	}
	if o.Length == 0 || o.Prot&^protMask != 0 {
		return 0, unix.EINVAL
	}
	if o.Flags&unix.MAP_ANONYMOUS == 0 && o.File == nil {
		return 0, unix.EBADF
	}
	if o.File == nil && kind == unix.MAP_SHARED_VALIDATE {
		return 0, unix.EINVAL // anonymous memory has no flags to validate
	}
	if kind == unix.MAP_SHARED_VALIDATE && o.Flags&^legacyMapMask != 0 || o.File != nil && o.Flags&unix.MAP_SYNC != 0 {
		// No file here offers MAP_SYNC (a DAX file's), which Linux 6.x
		// refuses on any file mapping without it, private ones too.
		return 0, unix.EOPNOTSUPP
	}
	if o.Offset%pageSize != 0 || o.Offset < 0 {
		return 0, unix.EINVAL
	}
	length := pageUp(o.Length)
	if length < o.Length || length > TaskSize {
		return 0, unix.ENOMEM
	}
	fixed := o.Flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0
	if fixed && o.Addr%pageSize != 0 {
		return 0, unix.EINVAL
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.notePeakVMLocked()
	return m.mmapBacked(o, length)
}

// mapCount is how many mappings the address space has, for
// vm.max_map_count: as Linux counts them, the vDSO's included, the
// platform's own ranges not; m.mu is held.
func (m *MemoryManager) mapCount() int { return m.vmas.Len() - m.platformVMAs }

// willChange tells the address space of a change about to be made, if it
// wants to know (platform.ChangeWatcher): how many mappings it holds, and
// whether the change touches memory the host maps shared; m.mu is held.
func (m *MemoryManager) willChange(shared bool) {
	if c, ok := m.as.(platform.ChangeWatcher); ok {
		c.WillChange(platform.MappingChange{Mappings: m.vmas.Len(), Shared: shared})
	}
}

// splitsOne reports whether [start, end) lies strictly inside one mapping,
// which cutting it out or changing it would split in three; m.mu is held.
func (m *MemoryManager) splitsOne(start, end uintptr) bool {
	v := m.vmaAt(start)
	return v != nil && v.Start < start && end < v.End
}

// atMapLimit reports whether giving [start, end) protection prot would
// split a mapping with the address space at vm.max_map_count, which Linux
// refuses (split_vma: ENOMEM); m.mu is held.
func (m *MemoryManager) atMapLimit(start, end uintptr, prot int) bool {
	if m.mapCount() < m.mem.MaxMapCount() {
		return false
	}
	v := m.vmaAt(start)
	w := m.vmaAt(end - 1)
	return v != nil && v.Prot != prot && v.Start < start || w != nil && w.Prot != prot && end < w.End
}

// mmapLocked maps o, already validated, with its length page-aligned;
// m.mu is held.
func (m *MemoryManager) mmapLocked(o MmapOpts, length uintptr) (uintptr, error) {
	kind := o.Flags & unix.MAP_SHARED_VALIDATE
	if m.mapCount() > m.mem.MaxMapCount() {
		return 0, unix.ENOMEM
	}
	addr, err := m.place(o.Addr, length, o.Flags)
	if err != nil {
		return 0, err
	}
	if m.mapCount() >= m.mem.MaxMapCount() && m.splitsOne(addr, addr+length) {
		return 0, unix.ENOMEM
	}
	v := VMA{
		Start: addr, End: addr + length, Prot: o.Prot, Shared: kind != unix.MAP_PRIVATE,
		File: o.File, Offset: o.Offset, Name: o.Name, nameSource: o.NameSource, Dev: o.Dev, Ino: o.Ino,
		backing: o.Backing,
		Locked:  m.lockFuture || o.Flags&unix.MAP_LOCKED != 0,
		noWrite: kind != unix.MAP_PRIVATE && o.ReadOnlyFile,
		aioRing: o.AIORing,
		noReserve: o.noReserve ||
			o.Flags&unix.MAP_NORESERVE != 0 && !m.mem.ChargesNoReserve(),
	}
	hostFlags := v.hostFlags() | o.Flags&(unix.MAP_NORESERVE|unix.MAP_POPULATE|unix.MAP_STACK|unix.MAP_GROWSDOWN)
	if v.Locked {
		hostFlags |= unix.MAP_POPULATE // as Linux populates VM_LOCKED mappings
	}
	old, next := m.usageIn(v.Start, v.End), footprintOf(&v, v.Start, v.End)
	if err := m.admit(old, next); err != nil {
		return 0, err
	}
	if v.Shared && v.File == nil {
		charge := uint64(length)
		if v.noReserve {
			charge = 0
		}
		obj, err := newShm(m.mem, charge)
		if err != nil {
			m.unadmit(old, next)
			return 0, err
		}
		v.shm = obj
		if v.Name == "" {
			v.Name = "/dev/zero (deleted)"
		}
	}
	m.willChange(false)
	if _, err := m.as.Mmap(addr, length, o.Prot, hostFlags, o.File, o.Offset); err != nil {
		m.unadmit(old, next)
		if v.shm != nil {
			m.mem.Uncharge(usage.Shmem, v.shm.size)
		}
		return 0, err
	}
	m.unmapRangeKeeping(v.Start, v.End, o.File)
	m.settle(old, next)
	m.insert(v)
	if o.Tracker != nil && o.File != nil {
		m.track(o.File, o.Tracker)
	}
	return addr, nil
}

// place chooses where a new mapping of length goes, as Linux does: at addr
// if it is fixed, at the hint if it is free, else top-down from mmapBase.
func (m *MemoryManager) place(addr, length uintptr, flags int) (uintptr, error) {
	end := addr + length
	switch {
	case flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0:
		if addr < minAddr || end > TaskSize || end < addr {
			return 0, unix.ENOMEM
		}
		// Over the vDSO or its data page a fixed mapping replaces them
		// whole; a part is ENOMEM, as mmap_region fails for any failed
		// unmap.
		busy, platform := m.overlaps(addr, end)
		if platform || m.cutsSpecial(addr, end) {
			return 0, unix.ENOMEM
		}
		if busy && flags&unix.MAP_FIXED_NOREPLACE != 0 {
			return 0, unix.EEXIST
		}
		if m.sealedIn(addr, end) {
			return 0, unix.EPERM
		}
		return addr, nil
	case addr != 0:
		addr &^= pageSize - 1
		end = addr + length
		if addr >= minAddr && end <= TaskSize && end > addr {
			if busy, _ := m.overlaps(addr, end); !busy {
				return addr, nil
			}
		}
	}
	a, ok := m.findGap(length, m.mmapBase)
	if !ok {
		return 0, unix.ENOMEM
	}
	return a, nil
}

// Munmap unmaps [addr, addr+length).
func (m *MemoryManager) Munmap(addr, length uintptr) error {
	if addr%pageSize != 0 || length == 0 {
		return unix.EINVAL
	}
	length = pageUp(length)
	end := addr + length
	if end > TaskSize || end < addr {
		return unix.EINVAL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.munmapLocked(addr, end)
}

// munmapLocked unmaps [addr, end), page-aligned; m.mu is held.
func (m *MemoryManager) munmapLocked(addr, end uintptr) error {
	if _, platform := m.overlaps(addr, end); platform {
		return unix.EINVAL
	}
	if m.sealedIn(addr, end) {
		return unix.EPERM
	}
	if m.mapCount() >= m.mem.MaxMapCount() && m.splitsOne(addr, end) {
		return unix.ENOMEM
	}
	if m.cutsSpecial(addr, end) {
		return unix.EINVAL
	}
	m.willChange(false)
	if err := m.as.Munmap(addr, end-addr); err != nil {
		return err
	}
	m.settle(m.usageIn(addr, end), footprint{})
	m.unmapRange(addr, end)
	return nil
}

// Mprotect changes the protection of [addr, addr+length), which must be
// wholly mapped.
func (m *MemoryManager) Mprotect(addr, length uintptr, prot int) error {
	return m.MprotectKey(addr, length, prot, NoProtectionKey)
}

// NoProtectionKey is pkey_mprotect's key for none: it is mprotect.
const NoProtectionKey = -1

// MprotectKey is pkey_mprotect(2). The sandbox's CPU has no protection
// keys (pkey_alloc never gives one), so a key other than
// NoProtectionKey was never allocated: EINVAL, after the checks of the
// other arguments, as do_mprotect_pkey orders them.
func (m *MemoryManager) MprotectKey(addr, length uintptr, prot, pkey int) error {
	if addr%pageSize != 0 {
		return unix.EINVAL
	}
	if prot&^(protMask|unix.PROT_GROWSDOWN|unix.PROT_GROWSUP) != 0 {
		return unix.EINVAL
	}
	prot &= protMask
	end := addr + pageUp(length)
	if end < addr {
		return unix.ENOMEM
	}
	if length == 0 {
		return nil
	}
	if pkey != NoProtectionKey {
		return unix.EINVAL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mprotectLocked(addr, end, prot)
}

// mprotectLocked changes the protection of [addr, end), page-aligned, to
// prot, already validated; m.mu is held.
func (m *MemoryManager) mprotectLocked(addr, end uintptr, prot int) error {
	if prot&(unix.PROT_WRITE|unix.PROT_EXEC) != 0 {
		for v := range m.vmas.in(addr, end) {
			if v.special && v.Name == "[vvar]" {
				// Linux's vvar pages may never be written or executed
				// (no VM_MAYWRITE, VM_MAYEXEC).
				return unix.EACCES
			}
		}
	}
	if !m.protectable(addr, end) || m.atMapLimit(addr, end, prot) {
		return unix.ENOMEM
	}
	if m.splitsSpecial(addr, end, prot) {
		return unix.EINVAL
	}
	if m.sealedIn(addr, end) {
		return unix.EPERM
	}
	hostShared := false
	if prot&unix.PROT_WRITE != 0 {
		for v := range m.vmas.in(addr, end) {
			if v.noWrite {
				// Linux fails at that mapping after changing the ones
				// before it; here nothing changes.
				return unix.EACCES
			}
			hostShared = hostShared || v.hostShared()
		}
	}
	old, next := m.usageIn(addr, end), footprint{}
	for w := range m.vmas.in(addr, end) {
		v := *w
		v.Prot = prot
		p := footprintOf(&v, max(v.Start, addr), min(v.End, end))
		next.mapped, next.data, next.charged = next.mapped+p.mapped, next.data+p.data, next.charged+p.charged
	}
	if err := m.admit(old, next); err != nil {
		return err
	}
	m.willChange(hostShared)
	if err := m.as.Mprotect(addr, end-addr, prot); err != nil {
		m.unadmit(old, next)
		return err
	}
	m.update(addr, end, func(v *VMA) {
		v.Prot = prot
		if v.special {
			m.vdsoChanged.Store(true)
		}
	})
	m.settle(old, next)
	return nil
}

// protectable reports whether [start, end) is wholly mapped by VMAs
// mprotect may change: the application's, and the vDSO and its data
// page, which Linux maps as special mappings the application may
// reprotect within their VM_MAY* bits. The vDSO is private memory of
// each stub process (stub/c/forkserver.c map_vdso), so a writable one is
// the process's own copy; the data page is shared by the sandbox, and
// mprotectLocked never lets it be writable.
func (m *MemoryManager) protectable(start, end uintptr) bool {
	return m.coveredBy(start, end, func(v *VMA) bool {
		return !v.special || v.Name == "[vdso]" || v.Name == "[vvar]"
	})
}

// splitsSpecial reports whether changing [start, end) to prot would
// split the vDSO or its data page, which Linux forbids
// (special_mapping_split: EINVAL); a VMA keeping its protection is not
// split. m.mu is held.
func (m *MemoryManager) splitsSpecial(start, end uintptr, prot int) bool {
	for v := range m.vmas.in(start, end) {
		if v.special && v.Prot != prot && (v.Start < start || end < v.End) {
			return true
		}
	}
	return false
}

// covered reports whether [start, end) is wholly mapped by application VMAs.
func (m *MemoryManager) covered(start, end uintptr) bool {
	return m.coveredBy(start, end, func(v *VMA) bool { return !v.special })
}

// coveredBy reports whether [start, end) is wholly mapped by VMAs that
// ok accepts.
func (m *MemoryManager) coveredBy(start, end uintptr, ok func(*VMA) bool) bool {
	at := start
	for v := range m.vmas.in(start, end) {
		if v.Start > at || !ok(v) {
			return false
		}
		at = v.End
		if at >= end {
			return true
		}
	}
	return at >= end
}

// update applies fn to the parts of VMAs inside [start, end), splitting them
// at its edges, and merges what became alike; m.mu is held.
func (m *MemoryManager) update(start, end uintptr, fn func(*VMA)) {
	for _, v := range m.vmas.collect(start, end) {
		if v.Start < start {
			m.vmas.del(v)
			left, inside := *v, *v
			left.End = start
			inside.Offset += int64(start - v.Start)
			inside.Start = start
			m.vmas.add(&left)
			m.vmas.add(&inside)
			v = &inside
		}
		if v.End > end {
			right := *v
			right.Offset += int64(end - v.Start)
			right.Start = end
			m.vmas.setEnd(v, end)
			m.vmas.add(&right)
		}
		fn(v)
	}
	m.mergeAround(start, end)
}
