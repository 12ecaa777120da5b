package mm

import (
	"cmp"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Rebacking: a file mapping whose contents move to another file while it
// is mapped. The overlay's copy up is the one case (sentry/fs/overlay):
// a host file mapped before its first write is copied into a memfd, and
// from then on every write goes to the memfd, so the mappings of the host
// file must map the memfd instead, or they go stale (Linux's page cache
// has one copy of a file, which every mapping sees). The overlay knows
// which address spaces map the host file (Backing.Mapped, told under the
// address space's lock with each mapping); at the copy up it calls
// Reback on each. Shared mappings are mapped again from the memfd, whose
// contents are the host file's at that moment. Private mappings keep the
// pages the process wrote (its own anonymous copies, which the host's
// pagemap tells from the file's pages: Private) and map the memfd under
// every other page, as Linux's private mappings keep seeing the file
// where they did not write. The mirror then names the memfd for the whole
// mapping, so a later MADV_DONTNEED or remap maps the memfd.
//
// What Linux does not have: a thread of the process that writes a page of
// a private mapping for the first time between the pagemap's reading and
// the remapping loses that write to the file's contents. The window is
// the host calls of one Reback; stopping every thread of every process
// that maps the file would close it.

// Backing is what a file mapping may have to be moved off (an overlay
// file not yet copied up).
type Backing interface {
	// Mapped is told, with m's lock held, that m is about to map the
	// file, and returns nil, or the file that holds the contents now,
	// to map instead (a descriptor owned by the caller) if they moved
	// before m's lock was taken.
	Mapped(m *MemoryManager) (*os.File, error)
}

// BackedMappable is a file whose contents may move while it is mapped:
// MappableBacking returns the host file to map, as vfs.Mappable's
// MappableFile, and, if they may move, what the mapping holds.
type BackedMappable interface {
	MappableBacking() (*os.File, Backing, error)
}

// mmapBacked is mmapLocked for o, validated, whose Backing (if any) is
// told of the mapping first: if the contents moved, the file they moved
// to is mapped instead and o.File closed, as Mmap would have closed it
// once unmapped; m.mu is held.
func (m *MemoryManager) mmapBacked(o MmapOpts, length uintptr) (uintptr, error) {
	if o.Backing == nil || o.File == nil {
		return m.mmapLocked(o, length)
	}
	nf, err := o.Backing.Mapped(m)
	if err != nil {
		return 0, fmt.Errorf("mapping a file whose contents moved: %w", err)
	}
	if nf == nil {
		return m.mmapLocked(o, length)
	}
	if !m.vmas.mapsFile(o.File) {
		o.File.Close()
	}
	o.File, o.Backing = nf, nil
	addr, err := m.mmapLocked(o, length)
	if err != nil {
		nf.Close()
	}
	return addr, err
}

// tellBackings tells the backings of c's mappings, a fork's copy made
// under its parent's lock, of c, and moves c's mappings of those whose
// contents moved before it could be told.
func (c *MemoryManager) tellBackings() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	told := make(map[Backing]struct{})
	for v := range c.vmas.all() {
		if v.backing != nil {
			told[v.backing] = struct{}{}
		}
	}
	var first error
	for b := range told {
		nf, err := b.Mapped(c)
		if err == nil && nf != nil {
			err = c.rebackLocked(b, nf)
			nf.Close()
		}
		first = cmp.Or(first, err)
	}
	return first
}

// Reback moves m's mappings of b onto file, which holds b's contents
// from now on; file stays the caller's.
func (m *MemoryManager) Reback(b Backing, file *os.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return nil
	}
	return m.rebackLocked(b, file)
}

// rebackLocked is Reback; m.mu is held.
func (m *MemoryManager) rebackLocked(b Backing, file *os.File) error {
	var vs []*VMA
	for v := range m.vmas.all() {
		if v.backing == b && v.File != nil {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	moved := make(map[*os.File]*os.File) // each old descriptor's new one
	var first error                      // the first failure; the others are tried still
	for _, v := range vs {
		nf, ok := moved[v.File]
		if !ok {
			var err error
			if nf, err = dupOf(file); err != nil {
				first = cmp.Or(first, err)
				continue
			}
			moved[v.File] = nf
		}
		if err := m.remapOnto(v, nf); err != nil {
			first = cmp.Or(first, fmt.Errorf("mapping a copied file again at %#x: %w", v.Start, err))
			continue
		}
		m.vmas.del(v)
		v.File, v.backing = nf, nil
		m.vmas.add(v)
	}
	for old, nf := range moved {
		m.moveTracker(old, nf)
		if !m.vmas.mapsFile(old) {
			releaseFile(old)
		}
		if !m.vmas.mapsFile(nf) {
			nf.Close() // every remap onto it failed
		}
	}
	return first
}

// remapOnto maps v's range from f on the host: all of it if the host maps
// v shared, else every page but those the process has its own copy of;
// m.mu is held.
func (m *MemoryManager) remapOnto(v *VMA, f *os.File) error {
	m.willChange(false)
	flags := v.hostFlags()
	if v.hostShared() {
		_, err := m.as.Mmap(v.Start, v.End-v.Start, v.Prot, flags, f, v.Offset)
		return err
	}
	const chunk = 1 << 14 // pages per look at the pagemap
	vec := make([]byte, min(chunk, (v.End-v.Start)/pageSize))
	for start := v.Start; start < v.End; start += uintptr(len(vec)) * pageSize {
		page := vec[:min(uintptr(len(vec)), (v.End-start)/pageSize)]
		if err := m.as.Private(start, page); err != nil {
			return err
		}
		for i := 0; i < len(page); {
			j := i
			for j < len(page) && page[j] == 0 {
				j++
			}
			if j > i {
				at := start + uintptr(i)*pageSize
				off := v.Offset + int64(at-v.Start)
				if _, err := m.as.Mmap(at, uintptr(j-i)*pageSize, v.Prot, flags, f, off); err != nil {
					return err
				}
			}
			for j < len(page) && page[j] != 0 {
				j++
			}
			i = j
		}
	}
	return nil
}

// moveTracker makes old's tracker, if any, nf's; m.mu is held.
func (m *MemoryManager) moveTracker(old, nf *os.File) {
	t, ok := m.trackers[old]
	if !ok {
		return
	}
	delete(m.trackers, old)
	switch {
	case m.vmas.mapsFile(old):
		m.trackers[old] = t // a remap failed: old is still mapped
	case m.vmas.mapsFile(nf) && m.trackers[nf] == nil:
		m.trackers[nf] = t
	default:
		t.MapClosed()
	}
}

// dupOf returns a new descriptor of f, owned by the caller.
func dupOf(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating a file to map: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
