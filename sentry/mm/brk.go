package mm

import (
	"golang.org/x/sys/unix"
)

// maxBrk bounds the heap whatever RLIMIT_DATA says, so that the heap
// never runs into the mmap area's randomized base.
const maxBrk = 1 << 40

// SetBrkStart places the heap after the executable's end, at a random
// offset of up to 32 MiB as Linux's brk randomization does
// (RandomizeAll), else right after it.
func (m *MemoryManager) SetBrkStart(end uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.brkStart = pageUp(end)
	if m.random >= RandomizeAll {
		m.brkStart += randomPages(1<<13) * pageSize
	}
	m.brk = m.brkStart
}

// Brk implements brk(2): it returns the new break, or the old one if addr
// is out of range or the memory cannot be had: past RLIMIT_DATA (the heap
// plus other data mappings, as Linux counts it since 4.7) or RLIMIT_AS, or
// beyond the sandbox's memory limit.
func (m *MemoryManager) Brk(addr uintptr) uintptr {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.notePeakVMLocked()
	if addr < m.brkStart || addr > m.brkStart+maxBrk {
		return m.brk
	}
	oldEnd, newEnd := pageUp(m.brk), pageUp(addr)
	if newEnd > TaskSize || newEnd < addr {
		// An executable that ends near the top leaves no room for a heap.
		return m.brk
	}
	switch {
	case newEnd > oldEnd:
		if busy, _ := m.overlaps(oldEnd, newEnd); busy {
			return m.brk
		}
		const rw = unix.PROT_READ | unix.PROT_WRITE
		heap := VMA{Start: oldEnd, End: newEnd, Prot: rw, Name: "[heap]"}
		next := footprintOf(&heap, oldEnd, newEnd)
		if m.admit(footprint{}, next) != nil {
			return m.brk
		}
		m.willChange(false)
		if _, err := m.as.Mmap(oldEnd, newEnd-oldEnd, rw, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0); err != nil {
			m.unadmit(footprint{}, next)
			return m.brk
		}
		m.extendHeap(oldEnd, newEnd)
	case newEnd < oldEnd:
		m.willChange(false)
		if err := m.as.Munmap(newEnd, oldEnd-newEnd); err != nil {
			return m.brk
		}
		m.settle(m.usageIn(newEnd, oldEnd), footprint{})
		m.unmapRange(newEnd, oldEnd)
	}
	m.brk = addr
	return addr
}

// extendHeap grows the [heap] VMA (or starts it) to cover [start, end).
func (m *MemoryManager) extendHeap(start, end uintptr) {
	if v := m.vmas.containing(start - 1); v != nil && v.Name == "[heap]" && v.End == start {
		m.vmas.setEnd(v, end)
		return
	}
	m.insert(VMA{Start: start, End: end, Prot: unix.PROT_READ | unix.PROT_WRITE, Name: "[heap]"})
}
