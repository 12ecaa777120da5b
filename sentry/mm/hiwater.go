package mm

import "sync/atomic"

// High-water marks, Linux's hiwater_rss and hiwater_vm: the most memory an
// address space has had resident at once (VmHWM of /proc/PID/status, and
// ru_maxrss of getrusage and wait4 with the process's own), and the most
// address space it has had mapped (VmPeak).
//
// Resident memory is counted by the host, in the stub process that holds
// it (platform.AddressSpace.PeakResident): the host updates its mark where
// Linux does, at every unmapping and discard, for nothing. The sentry
// itself sees the pages only through pagemap, a walk over every mapping
// (Usage), which those updates would cost at every munmap. The host's mark
// counts the stub's own few pages too. A fork's marks start at what the
// copy has, as Linux's dup_mm starts them; the host's fork of the stub
// does so for its own.
//
// An execve in place (NewInPlace) keeps the host process and with it the
// old program's mark, where Linux gives the new program a new mm whose
// mark starts at nothing. The host's mark is the new program's once it
// passes the one the process had when the program began (rssPeak.base);
// until then the mark is the most the sentry found resident itself, at
// the reads of /proc/PID/status that counted it. ru_maxrss is right either
// way: it also counts the old program's mark, which the process kept.
//
// The address space's size is the mirror's (vmaSet.shownBytes); its peak
// is noted at the end of each call that may grow it (mmap, mremap, brk),
// never in the middle of one: a move maps its new range before it unmaps
// the old one, a moment Linux hides from hiwater_vm too (move_vma).

// rssPeak is what the memory manager knows of its mark of resident memory.
type rssPeak struct {
	// base is the host's mark when the program took over a host process
	// that an older one used (NewInPlace), 0 on a process of its own: a
	// mark not above it may be the older program's. Set once, at the
	// takeover, which may run with m.mu held or not (the memory manager
	// is not shared yet then).
	base atomic.Uint64
	// seen is the most bytes callers of HiwaterRSS found resident.
	seen uint64
	// final is the mark when the address space left its host process
	// (Release, or an execve in place taking the process over); left
	// says it has.
	final uint64
	left  bool
}

// HiwaterRSS returns the most bytes of the address space resident at once
// (Linux's get_mm_hiwater_rss), counting rss, what the caller just found
// resident (0 if it did not look).
func (m *MemoryManager) HiwaterRSS(rss uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rss.seen = max(m.rss.seen, rss)
	if m.rss.left {
		return m.rss.final
	}
	return m.hostHiwaterLocked()
}

// hostHiwaterLocked is the mark while the address space has its host
// process: the host's if it is this program's, else what the sentry saw;
// m.mu is held.
func (m *MemoryManager) hostHiwaterLocked() uint64 {
	if h, err := m.as.PeakResident(); err == nil && h > m.rss.base.Load() {
		return max(h, m.rss.seen)
	}
	return m.rss.seen
}

// leaveHostLocked keeps the mark as the address space leaves its host
// process, which says no more about it after; m.mu is held.
func (m *MemoryManager) leaveHostLocked() {
	m.rss.final = m.hostHiwaterLocked()
	m.rss.left = true
}

// HiwaterVM returns the most bytes of address space mapped at once (VmPeak).
func (m *MemoryManager) HiwaterVM() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(m.peakVM, m.vmas.shownBytes)
}

// notePeakVMLocked counts the address space's size now in its peak; m.mu
// is held.
func (m *MemoryManager) notePeakVMLocked() { m.peakVM = max(m.peakVM, m.vmas.shownBytes) }
