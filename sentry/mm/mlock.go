package mm

import (
	"log/slog"

	"golang.org/x/sys/unix"
)

// Locked memory (mlock(2), mlockall(2), MAP_LOCKED): the mirror records
// which pages are locked, for /proc/PID/status's VmLck and smaps, and
// mlockall's MCL_FUTURE locks the mappings made after it. Locking
// populates the pages as in Linux (Populate, MAP_POPULATE for new locked
// mappings), so mincore and smaps show them resident; they are not pinned
// on the host: the host may still swap them (a sandbox does not get to
// lock host memory), which no program can observe but by timing.
// A child does not inherit locks, as in Linux.

// SetLocked locks or unlocks the pages of [addr, addr+length), widened to
// whole pages: EINVAL if the range wraps, ENOMEM if part of it is not
// mapped.
func (m *MemoryManager) SetLocked(addr, length uintptr, locked bool) error {
	start := addr &^ (pageSize - 1)
	end := pageUp(addr + length)
	if addr+length < addr || end < start {
		return unix.EINVAL
	}
	if end == start {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.covered(start, end) {
		return unix.ENOMEM
	}
	m.update(start, end, func(v *VMA) { v.Locked = locked })
	return nil
}

// LockAll is mlockall: current locks every mapping, future the mappings
// made from now on.
func (m *MemoryManager) LockAll(current, future bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if current {
		for v := range m.vmas.all() {
			if !v.special {
				v.Locked = true
			}
		}
		m.mergeAround(0, TaskSize)
	}
	m.lockFuture = future
}

// UnlockAll is munlockall: no mapping stays locked, and new ones are not.
func (m *MemoryManager) UnlockAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := range m.vmas.all() {
		v.Locked = false
	}
	m.mergeAround(0, TaskSize)
	m.lockFuture = false
}

// Populate faults in the pages of [addr, addr+length) as Linux's mlock
// and mlockall do (populate_vma_page_range): writable mappings for
// writing, the others for reading, PROT_NONE ones not at all. The host
// populates the stub's own pages, which the sandbox's account already
// holds (private writable and shared anonymous memory are charged when
// mapped; the rest is file cache). A page that cannot be populated (a
// file mapping past the file's end) is left alone, as mlock leaves it.
func (m *MemoryManager) Populate(addr, length uintptr) {
	start, end := addr&^(pageSize-1), pageUp(addr+length)
	if end < start {
		end = TaskSize
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := range m.vmas.in(start, end) {
		s, e := max(v.Start, start), min(v.End, end)
		if v.special || v.Prot == unix.PROT_NONE {
			continue
		}
		// Writable mappings are populated for writing: Linux reads them with
		// FOLL_FORCE, which the host's MADV_POPULATE_READ lacks, and a
		// PROT_WRITE-only mapping would refuse a read.
		if err := m.as.Populate(s, e-s, v.Prot&unix.PROT_WRITE != 0); err != nil {
			slog.Debug("populating locked pages", "start", s, "end", e, "err", err)
		}
	}
}
