package mm

import "golang.org/x/sys/unix"

// MappingUsage is one mapping /proc/PID/maps lists and how much of it is
// resident, for /proc/PID/smaps, smaps_rollup, statm and status.
type MappingUsage struct {
	VMA
	// Resident is the bytes of the mapping the application's process has
	// in its page tables (AddressSpace.Resident): the figure mincore
	// gives the program itself, never another process's.
	Resident uint64
}

// Anonymous reports whether u's pages are anonymous memory (Linux's
// "Anonymous" and RssAnon): private mappings without a file.
func (u *MappingUsage) Anonymous() bool { return u.File == nil && !u.Shared }

// NoReserve reports whether u is VM_NORESERVE: MAP_NORESERVE, not charged.
func (u *MappingUsage) NoReserve() bool { return u.noReserve }

// Sealed reports whether u is sealed (mseal, VM_SEALED).
func (u *MappingUsage) Sealed() bool { return u.sealed }

// IsStack reports whether u is the initial thread's stack (VM_GROWSDOWN).
func (u *MappingUsage) IsStack() bool { return u.Name == "[stack]" }

// Data reports whether u counts in VmData (Linux's data_vm: writable,
// private, not a stack).
func (u *MappingUsage) Data() bool {
	return u.Prot&unix.PROT_WRITE != 0 && !u.Shared && !u.IsStack()
}

// residencyChunk is how many pages Usage asks the platform about at once.
const residencyChunk = 1 << 14

// Usage returns the mappings /proc/PID/maps lists with what of each is
// resident. A PROT_NONE mapping counts nothing without asking: a program
// that reserves terabytes of address space (Go's heap arenas) would
// otherwise make every read of smaps walk them page by page. (Its pages
// can only be present if they were touched before an mprotect, which
// Linux would count.)
func (m *MemoryManager) Usage() []MappingUsage {
	var out []MappingUsage
	for _, v := range m.VMAs() {
		if !v.shown() {
			continue
		}
		u := MappingUsage{VMA: v}
		if v.Prot != unix.PROT_NONE {
			u.Resident = m.resident(v.Start, v.End)
		}
		out = append(out, u)
	}
	return out
}

// resident counts the resident bytes of [start, end); a range the
// platform cannot answer for (the process is gone) counts nothing.
func (m *MemoryManager) resident(start, end uintptr) uint64 {
	vec := make([]byte, min((end-start)/pageSize, residencyChunk))
	var n uint64
	for a := start; a < end; {
		pages := min(uintptr(len(vec)), (end-a)/pageSize)
		if err := m.as.Resident(a, vec[:pages]); err != nil {
			return n
		}
		for _, r := range vec[:pages] {
			n += uint64(r & 1)
		}
		a += pages * pageSize
	}
	return n * pageSize
}

// Bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	PagemapPresent = 1 << 63
	PagemapFile    = 1 << 61 // a file page or shared anonymous memory
)

// Pagemap sets entries[i] to the /proc/PID/pagemap entry of page i from
// addr: present or not, and whether it is a file page. Frame numbers are
// always 0, as Linux shows them to a reader without CAP_SYS_ADMIN: the
// sandbox has no physical addresses to give. Pages outside the mappings
// /proc/PID/maps lists are 0.
func (m *MemoryManager) Pagemap(addr uintptr, entries []uint64) {
	clear(entries)
	end := addr + uintptr(len(entries))*pageSize
	if end < addr {
		end = TaskSize
	}
	vec := make([]byte, len(entries))
	for _, v := range m.VMAs() {
		s, e := max(v.Start, addr), min(v.End, end)
		if s >= e || !v.shown() {
			continue
		}
		i, j := (s-addr)/pageSize, (e-addr)/pageSize
		if err := m.as.Resident(s, vec[i:j]); err != nil {
			return
		}
		for k := i; k < j; k++ {
			if vec[k]&1 == 0 {
				continue
			}
			entries[k] = PagemapPresent
			if v.File != nil || v.Shared {
				entries[k] |= PagemapFile
			}
		}
	}
}
