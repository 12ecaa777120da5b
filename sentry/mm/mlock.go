package mm

import "golang.org/x/sys/unix"

// Locked memory (mlock(2), mlockall(2), MAP_LOCKED): the mirror records
// which pages are locked, for /proc/PID/status's VmLck, and mlockall's
// MCL_FUTURE locks the mappings made after it. The stub's pages are not
// pinned on the host: the host may still swap them (a sandbox does not
// get to lock host memory), which no program can observe but by timing.
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
		for i := range m.vmas {
			if !m.vmas[i].special {
				m.vmas[i].Locked = true
			}
		}
	}
	m.lockFuture = future
}

// UnlockAll is munlockall: no mapping stays locked, and new ones are not.
func (m *MemoryManager) UnlockAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.vmas {
		m.vmas[i].Locked = false
	}
	m.lockFuture = false
}

// LockedBytes is the size of the locked mappings (VmLck).
func (m *MemoryManager) LockedBytes() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, v := range m.vmas {
		if v.Locked {
			n += uint64(v.End - v.Start)
		}
	}
	return n
}
