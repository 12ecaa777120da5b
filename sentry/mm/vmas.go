package mm

import (
	"iter"
	"os"

	"github.com/google/btree"
)

// vmaSet is the mirror's mappings, sorted by address and disjoint, in a
// B-tree keyed by start: finding, adding or removing one costs the
// logarithm of their number, as in Linux's maple tree, so a change in a
// process with tens of thousands of mappings (a JVM's threads and code,
// an allocator's arenas) costs what it touches rather than a copy of all
// of them. It also counts the mappings of each file and shared anonymous
// object, so whether one is still mapped is known without a walk.
//
// It counts the bytes of the mappings /proc/PID/maps shows as well
// (Linux's total_vm, VmSize), for the peak (hiwater.go).
//
// Items are pointers the callers may change in place, all but Start (the
// key), File and shm (counted): those change by delete and add; End
// (counted) changes by setEnd. The tree may not change during a walk; a
// caller that changes it collects first. The zero value is empty. Guarded
// by MemoryManager.mu.
type vmaSet struct {
	t     *btree.BTreeG[*VMA]
	files map[*os.File]int
	shms  map[*shmObject]int
	// shownBytes is the bytes of the shown mappings (VMA.shown).
	shownBytes uint64
	// hint is the mapping first found last, or nil; valid while it is in
	// the set (del clears it). A syscall looks up the same range several
	// times (mprotect's checks, its accounting, then the change), and in
	// a process with 10,000 mappings each B-tree search cost a few tenths
	// of a microsecond: Linux kept a per-thread cache of recent VMAs for
	// the same reason.
	hint *VMA
	// pivot is the search key of first, prev and next, kept here so that
	// a lookup allocates nothing (the tree does not keep it; none of them
	// runs a caller's code during its search).
	pivot VMA
}

// vmaDegree is the B-tree's degree: nodes of up to 2*16-1 pointers.
const vmaDegree = 16

func (s *vmaSet) init() {
	if s.t == nil {
		s.t = btree.NewG(vmaDegree, func(a, b *VMA) bool { return a.Start < b.Start })
		s.files = make(map[*os.File]int)
		s.shms = make(map[*shmObject]int)
	}
}

// Len is the number of mappings.
func (s *vmaSet) Len() int {
	if s.t == nil {
		return 0
	}
	return s.t.Len()
}

// add puts v, which overlaps nothing, in the set as it is (no merge).
func (s *vmaSet) add(v *VMA) {
	s.init()
	s.t.ReplaceOrInsert(v)
	s.shownBytes += v.shownSize()
	if v.File != nil {
		s.files[v.File]++
	}
	if v.shm != nil {
		s.shms[v.shm]++
	}
}

// del takes v, which is in the set, out of it.
func (s *vmaSet) del(v *VMA) {
	if s.t == nil {
		return
	}
	old, ok := s.t.Delete(v)
	if s.hint == old { // the hint is always in the set, so only old can be it
		s.hint = nil
	}
	if !ok {
		return
	}
	s.shownBytes -= v.shownSize()
	if v.File != nil {
		if s.files[v.File]--; s.files[v.File] == 0 {
			delete(s.files, v.File)
		}
	}
	if v.shm != nil {
		if s.shms[v.shm]--; s.shms[v.shm] == 0 {
			delete(s.shms, v.shm)
		}
	}
}

// setEnd moves the end of v, which is in the set.
func (s *vmaSet) setEnd(v *VMA, end uintptr) {
	s.shownBytes -= v.shownSize()
	v.End = end
	s.shownBytes += v.shownSize()
}

// shownSize is the bytes v counts for in VmSize: its length if
// /proc/PID/maps shows it, else 0.
func (v *VMA) shownSize() uint64 {
	if !v.shown() {
		return 0
	}
	return uint64(v.End - v.Start)
}

// mapsFile reports whether a mapping is of f.
func (s *vmaSet) mapsFile(f *os.File) bool { return s.files[f] > 0 }

// mapsShm reports whether a mapping is of o.
func (s *vmaSet) mapsShm(o *shmObject) bool { return s.shms[o] > 0 }

// all walks every mapping in address order.
func (s *vmaSet) all() iter.Seq[*VMA] {
	return func(yield func(*VMA) bool) {
		if s.t != nil {
			s.t.Ascend(yield)
		}
	}
}

// first returns the first mapping that ends after addr, or nil.
func (s *vmaSet) first(addr uintptr) *VMA {
	if s.t == nil {
		return nil
	}
	if h := s.hint; h != nil && h.Start <= addr && addr < h.End {
		return h // no mapping before it can end after addr: they are disjoint
	}
	var found *VMA
	s.pivot.Start = addr
	s.t.DescendLessOrEqual(&s.pivot, func(v *VMA) bool {
		if v.End > addr {
			found = v
		}
		return false
	})
	if found == nil {
		s.t.AscendGreaterOrEqual(&s.pivot, func(v *VMA) bool {
			found = v
			return false
		})
	}
	if found != nil {
		s.hint = found
	}
	return found
}

// from walks, in address order, the mappings that end after addr.
func (s *vmaSet) from(addr uintptr) iter.Seq[*VMA] {
	return func(yield func(*VMA) bool) {
		f := s.first(addr)
		if f == nil {
			return
		}
		s.t.AscendGreaterOrEqual(f, yield)
	}
}

// in walks, in address order, the mappings that overlap [start, end).
func (s *vmaSet) in(start, end uintptr) iter.Seq[*VMA] {
	return func(yield func(*VMA) bool) {
		f := s.first(start)
		if f == nil || f.Start >= end {
			return
		}
		fEnd := f.End
		if !yield(f) || fEnd >= end {
			return // the usual case: one mapping holds the range, no walk
		}
		s.t.AscendGreaterOrEqual(f, func(v *VMA) bool {
			return v == f || v.Start < end && yield(v)
		})
	}
}

// collect returns the mappings that overlap [start, end), for a caller
// that changes the set.
func (s *vmaSet) collect(start, end uintptr) []*VMA {
	var out []*VMA
	for v := range s.in(start, end) {
		out = append(out, v)
	}
	return out
}

// below walks, highest first, the mappings that start below top.
func (s *vmaSet) below(top uintptr) iter.Seq[*VMA] {
	return func(yield func(*VMA) bool) {
		if s.t != nil && top > 0 {
			s.t.DescendLessOrEqual(&VMA{Start: top - 1}, yield)
		}
	}
}

// containing returns the mapping that holds addr, the platform's included,
// or nil.
func (s *vmaSet) containing(addr uintptr) *VMA {
	if v := s.first(addr); v != nil && v.Start <= addr {
		return v
	}
	return nil
}

// prev returns the mapping before v, or nil.
func (s *vmaSet) prev(v *VMA) *VMA {
	var p *VMA
	if v.Start > 0 {
		s.pivot.Start = v.Start - 1
		s.t.DescendLessOrEqual(&s.pivot, func(w *VMA) bool {
			p = w
			return false
		})
	}
	return p
}

// next returns the mapping after v, or nil.
func (s *vmaSet) next(v *VMA) *VMA {
	var n *VMA
	s.pivot.Start = v.Start + 1
	s.t.AscendGreaterOrEqual(&s.pivot, func(w *VMA) bool {
		n = w
		return false
	})
	return n
}
