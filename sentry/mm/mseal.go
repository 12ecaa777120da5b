package mm

import "golang.org/x/sys/unix"

// Sealed mappings (mseal(2), Linux 6.10). A sealed mapping can no longer be
// unmapped, moved, resized, replaced by a fixed mapping, reprotected, or
// have a read-only private anonymous page discarded (madvise's discarding
// advice): the process gives up changing it, which a program does to keep
// its own code and read-only data (or a library's) from being remapped by
// an attacker who gains control of its calls. The seal is a property of
// the sentry's mirror: it is the sentry that makes every mapping change
// the application asks for, so the host mapping needs no seal of its own.
// A forked child inherits the seals, as in Linux; execve drops them with
// the address space.
//
// Where Linux changes the mappings before the sealed one that stops a
// multi-mapping mprotect or madvise, these calls change nothing.

// Mseal seals [addr, addr+length), widened to whole pages: EINVAL for
// flags, an unaligned addr or a range that wraps, ENOMEM if part of it is
// not mapped; a length of 0 seals nothing.
func (m *MemoryManager) Mseal(addr, length uintptr, flags int) error {
	if flags != 0 || addr%pageSize != 0 {
		return unix.EINVAL
	}
	l := pageUp(length)
	if length != 0 && l == 0 {
		return unix.EINVAL
	}
	end := addr + l
	if end < addr {
		return unix.EINVAL
	}
	if l == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.covered(addr, end) || m.mapCount() >= m.mem.MaxMapCount() && m.splitsOne(addr, end) {
		return unix.ENOMEM
	}
	m.update(addr, end, func(v *VMA) { v.sealed = true })
	return nil
}

// sealedIn reports whether a sealed mapping overlaps [start, end); m.mu is
// held.
func (m *MemoryManager) sealedIn(start, end uintptr) bool {
	for v := range m.vmas.in(start, end) {
		if v.sealed {
			return true
		}
	}
	return false
}

// discardSealed reports whether advice would discard a page of a sealed
// mapping in [start, end) that the process cannot write: private
// anonymous memory without PROT_WRITE (can_madvise_modify); m.mu is held.
func (m *MemoryManager) discardSealed(start, end uintptr, advice int) bool {
	switch advice {
	case unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_REMOVE, unix.MADV_DONTFORK, unix.MADV_WIPEONFORK:
	default:
		return false
	}
	for v := range m.vmas.in(start, end) {
		if v.sealed && anonymous(v) && v.Prot&unix.PROT_WRITE == 0 {
			return true
		}
	}
	return false
}
