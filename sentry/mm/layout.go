package mm

import (
	"crypto/rand"
	"encoding/binary"
)

// Randomization is how much of a new program's layout is random, as
// Linux's kernel.randomize_va_space says (an execve whose persona has
// ADDR_NO_RANDOMIZE gets NoRandomization, as Linux's PF_RANDOMIZE is
// then unset): the kernel chooses it for each execve (SetRandomization)
// before the loader maps anything. Without randomization the layout is
// the same from run to run, which is what a debugger turning ASLR off
// wants; it is Linux's own (the executable at ELF_ET_DYN_BASE, the heap
// right after it, the stack at the top of the address space) but for the
// mmap area, which starts below the platform's reserved range rather than
// below the stack. The vDSO is where the platform put it, which the
// sandbox's start chose at random.
type Randomization int

const (
	// NoRandomization: randomize_va_space 0, or ADDR_NO_RANDOMIZE.
	NoRandomization Randomization = iota
	// RandomizeMmap: the stack, the mmap area and a PIE executable's
	// load address, not the heap (randomize_va_space 1).
	RandomizeMmap
	// RandomizeAll: the heap's start too (randomize_va_space 2, Linux's
	// default).
	RandomizeAll
)

// SetRandomization sets how the layout of the program about to be loaded
// into m is randomized, and places the mmap area accordingly. It is
// called before anything is mapped.
func (m *MemoryManager) SetRandomization(r Randomization) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.random = r
	m.mmapBase = m.mmapTop() - m.RandomPages(1<<28)*pageSize - 128<<20
}

// RandomPages returns, for a part of the layout that randomization moves,
// a random number of pages below n, or 0 when m's layout is not
// randomized.
func (m *MemoryManager) RandomPages(n uint64) uintptr {
	if m.random == NoRandomization {
		return 0
	}
	return randomPages(n)
}

// randomPages returns a random number of pages below n.
func randomPages(n uint64) uintptr {
	var b [8]byte
	rand.Read(b[:])
	return uintptr(binary.LittleEndian.Uint64(b[:]) % n)
}
