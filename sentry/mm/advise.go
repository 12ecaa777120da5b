package mm

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"
)

// Madvise implements madvise(2). Hints are accepted and ignored, as Linux
// may ignore them. MADV_DONTNEED and MADV_FREE drop private pages, which is
// visible (the next read sees zeros, or the file's contents): the host's
// MADV_DONTNEED for private anonymous memory (AddressSpace.Discard), and
// mapping the range afresh for private file mappings. MADV_DONTFORK,
// MADV_DOFORK, MADV_WIPEONFORK and MADV_KEEPONFORK mark the mappings for
// Fork. MADV_REMOVE frees a shared file mapping's pages in the file
// (removeLocked).
func (m *MemoryManager) Madvise(addr, length uintptr, advice int) error {
	if addr%pageSize != 0 {
		return unix.EINVAL
	}
	end := addr + pageUp(length)
	if end < addr {
		return unix.EINVAL
	}
	if !knownAdvice(advice) {
		return unix.EINVAL
	}
	// A hole in the range is ENOMEM, once the advice has been applied to
	// the mappings around it, as Linux does.
	var hole error
	m.mu.Lock()
	if !m.covered(addr, end) {
		hole = unix.ENOMEM
	}
	if m.discardSealed(addr, end, advice) {
		m.mu.Unlock()
		return unix.EPERM
	}
	switch advice {
	case unix.MADV_DONTFORK, unix.MADV_DOFORK, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
		err := m.adviseForkLocked(addr, end, advice)
		m.mu.Unlock()
		if err != nil {
			return err
		}
		return hole
	case unix.MADV_REMOVE:
		err := m.removeLocked(addr, end)
		m.mu.Unlock()
		if err != nil {
			return err
		}
		return hole
	case unix.MADV_DONTNEED, unix.MADV_FREE:
	default:
		m.mu.Unlock()
		return hole
	}
	var parts []VMA
	for p := range m.vmas.in(addr, end) {
		v := *p
		if v.Start < addr {
			v.Offset += int64(addr - v.Start)
			v.Start = addr
		}
		v.End = min(v.End, end)
		parts = append(parts, v)
	}
	m.mu.Unlock()
	for len(parts) > 0 {
		v := parts[0]
		if err := dropAllowed(&v, advice); err != nil {
			return err
		}
		if v.Shared {
			// Nothing private to drop: the next read sees the same data.
			parts = parts[1:]
			continue
		}
		if v.File != nil || v.special {
			if err := m.remapFresh(v); err != nil {
				return err
			}
			parts = parts[1:]
			continue
		}
		// Private anonymous memory: the host drops its pages in one call
		// for the whole run of adjacent parts (a thread's stack and its
		// guard page are two), and the mappings stay as they are.
		n := 1
		for n < len(parts) && anonymous(&parts[n]) && parts[n].Start == parts[n-1].End && dropAllowed(&parts[n], advice) == nil {
			n++
		}
		if err := m.as.Discard(v.Start, parts[n-1].End-v.Start); err != nil {
			return err
		}
		parts = parts[n:]
	}
	return hole
}

// adviseForkLocked records what a fork does with [addr, end)
// (madvise_behavior's VM_DONTCOPY and VM_WIPEONFORK): MADV_WIPEONFORK
// only on private anonymous memory, EINVAL elsewhere; here nothing
// changes then, where Linux has changed the mappings before the one
// refused. m.mu is held.
func (m *MemoryManager) adviseForkLocked(addr, end uintptr, advice int) error {
	for v := range m.vmas.in(addr, end) {
		if v.special || advice == unix.MADV_WIPEONFORK && !anonymous(v) {
			return unix.EINVAL
		}
	}
	m.update(addr, end, func(v *VMA) {
		switch advice {
		case unix.MADV_DONTFORK, unix.MADV_DOFORK:
			v.dontFork = advice == unix.MADV_DONTFORK
		default:
			v.wipeOnFork = advice == unix.MADV_WIPEONFORK
		}
	})
	return nil
}

// removeLocked is MADV_REMOVE on [addr, end) (madvise_remove), mapping by
// mapping, stopping at the first refused: a locked mapping, or one of no
// file (private anonymous memory) is EINVAL; one that is not shared, or
// may never be written (VM_MAYWRITE, as Linux 6.6 on checks), EACCES. The
// platform's ranges are a hole, whose ENOMEM the caller gives. Otherwise the file's pages under the range are
// freed as Linux does, a hole punched in the host file that backs the
// mapping (FALLOC_FL_PUNCH_HOLE, keeping its size): the next read there
// sees zeros, through every mapping of the file. Shared anonymous memory
// is not backed by a file the sentry holds: EOPNOTSUPP, as from a file
// system that cannot punch holes, rather than keep the data the caller
// means to drop. m.mu is held.
func (m *MemoryManager) removeLocked(addr, end uintptr) error {
	for v := range m.vmas.in(addr, end) {
		if v.special {
			continue // the platform's ranges are a hole to the application
		}
		switch {
		case v.Locked || v.File == nil && v.shm == nil:
			return unix.EINVAL
		case !v.Shared || v.noWrite:
			return unix.EACCES
		case v.File == nil:
			slog.Debug("madvise(MADV_REMOVE) of shared anonymous memory is not implemented", "start", v.Start, "end", v.End)
			return unix.EOPNOTSUPP
		}
		start, stop := max(addr, v.Start), min(end, v.End)
		off := v.Offset + int64(start-v.Start)
		if err := unix.Fallocate(int(v.File.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, int64(stop-start)); err != nil {
			return fmt.Errorf("madvise(MADV_REMOVE) of %#x-%#x: punching a hole at %d: %w", start, stop, off, err)
		}
	}
	return nil
}

// anonymous reports whether v is private anonymous memory of the
// application's.
func anonymous(v *VMA) bool { return v.File == nil && !v.Shared && !v.special }

// dropAllowed is Linux's check of a mapping for MADV_DONTNEED and
// MADV_FREE: locked memory refuses both, and MADV_FREE takes private
// anonymous memory only. The walk stops at the first mapping refused,
// after the ones before it were dropped.
func dropAllowed(v *VMA, advice int) error {
	if v.Locked || advice == unix.MADV_FREE && !anonymous(v) && !v.special {
		return unix.EINVAL
	}
	return nil
}

// remapFresh maps part v (clipped to the range advised, its Offset with
// it) of a private file mapping afresh, which drops its private pages:
// the next read sees the file's contents.
func (m *MemoryManager) remapFresh(v VMA) error {
	o := MmapOpts{Addr: v.Start, Length: v.End - v.Start, Prot: v.Prot, Flags: unix.MAP_PRIVATE | unix.MAP_FIXED, Name: v.Name, NameSource: v.nameSource, Dev: v.Dev, Ino: v.Ino, noReserve: v.noReserve, Backing: v.backing}
	if v.File == nil {
		o.Flags |= unix.MAP_ANONYMOUS
	} else {
		f, err := dupFile(&v)
		if err != nil {
			return err
		}
		o.File, o.Offset = f, v.Offset
	}
	_, err := m.Mmap(o)
	return err
}

// knownAdvice reports whether Linux x86-64 knows the madvise advice. The
// sandbox is a kernel without KSM: MADV_MERGEABLE and MADV_UNMERGEABLE
// are EINVAL, as there; and without CONFIG_MEMORY_FAILURE (no page of it
// can be poisoned, so nothing could deliver the SIGBUS a poisoned page
// raises): MADV_HWPOISON and MADV_SOFT_OFFLINE are EINVAL (LTP's
// madvise07 is TCONF, as on this project's hosts).
func knownAdvice(a int) bool {
	switch a {
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_REMOVE, unix.MADV_DONTFORK,
		unix.MADV_DOFORK, unix.MADV_HUGEPAGE,
		unix.MADV_NOHUGEPAGE, unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_WIPEONFORK,
		unix.MADV_KEEPONFORK, unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_POPULATE_READ,
		unix.MADV_POPULATE_WRITE:
		return true
	}
	return false
}

// Mincore implements mincore(2): a page is resident if the stub process
// has it in its page tables (platform.AddressSpace.Resident), or, in a
// mapping of a file, if the file's page is in the host's page cache, as
// Linux reports it. Shared anonymous pages that only other processes have
// touched read as absent. Unmapped is ENOMEM.
func (m *MemoryManager) Mincore(addr, length uintptr) ([]byte, error) {
	if addr%pageSize != 0 {
		return nil, unix.EINVAL
	}
	end := addr + pageUp(length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if end < addr || !m.covered(addr, end) {
		return nil, unix.ENOMEM
	}
	vec := make([]byte, (end-addr)/pageSize)
	if len(vec) == 0 {
		return vec, nil
	}
	if err := m.as.Resident(addr, vec); err != nil {
		return nil, err
	}
	for v := range m.vmas.in(addr, end) {
		start, stop := max(v.Start, addr), min(v.End, end)
		if v.File == nil || start >= stop {
			continue
		}
		if err := FileResidency(v.File, v.Offset+int64(start-v.Start), vec[(start-addr)/pageSize:(stop-addr)/pageSize]); err != nil {
			return nil, err
		}
	}
	return vec, nil
}

// Msync checks the range is mapped, and that MS_INVALIDATE meets no
// locked mapping (EBUSY); data written through a shared mapping is
// already in the host file or memfd.
func (m *MemoryManager) Msync(addr, length uintptr, flags int) error {
	if addr%pageSize != 0 || flags&^(unix.MS_ASYNC|unix.MS_SYNC|unix.MS_INVALIDATE) != 0 ||
		flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 {
		return unix.EINVAL
	}
	end := addr + pageUp(length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if end < addr || !m.covered(addr, end) {
		return unix.ENOMEM
	}
	if flags&unix.MS_INVALIDATE != 0 {
		for v := range m.vmas.in(addr, end) {
			if v.Locked {
				return unix.EBUSY // locked pages cannot be invalidated
			}
		}
	}
	return nil
}
