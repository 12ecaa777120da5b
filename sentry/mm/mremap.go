package mm

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Mremap implements mremap(2), including MREMAP_MAYMOVE, MREMAP_FIXED (to
// newAddr), MREMAP_DONTUNMAP and the duplication of a shared mapping that
// an old length of zero asks for.
//
// The sentry decides every address, then has the stub run the host's own
// mremap (platform.AddressSpace.Mremap): resizing in place with flags 0,
// moving with MREMAP_MAYMOVE|MREMAP_FIXED to the address chosen. The host
// moves page tables, not data, so a move costs no copy and a moved shared
// mapping (shared anonymous memory, memfd, System V segment, shared file)
// still shares its pages with every process that maps them; the mirror
// VMA moves with its file, offset and shared object. The host checks what
// the mirror cannot know, as Linux does: growing shared anonymous memory
// past its object gives SIGBUS on access, DONTUNMAP's kinds of mapping.
//
// The host may keep two VMAs where the mirror shows one (flags the mirror
// does not keep, such as MAP_STACK, VM_NOHUGEPAGE since Linux 6.7, stop
// the host merging neighbours);
// its mremap then fails with EFAULT. A mapping with a file, or private
// anonymous memory, then grows by mapping its extension and moves by
// mapping it afresh at the new place (copying the contents of private
// memory); shared anonymous memory has no other way and fails.
//
// Accounting: the moved range keeps its footprint (account.go); growth is
// admitted against RLIMIT_AS, RLIMIT_DATA and the sandbox's memory before
// the host is asked; DONTUNMAP and duplication keep the old range mapped
// and charged too.
func (m *MemoryManager) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	const (
		known = unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED | unix.MREMAP_DONTUNMAP
		to    = unix.MREMAP_FIXED | unix.MREMAP_DONTUNMAP
	)
	if flags&^known != 0 || flags&to != 0 && flags&unix.MREMAP_MAYMOVE == 0 {
		return 0, unix.EINVAL
	}
	if old%pageSize != 0 {
		return 0, unix.EINVAL
	}
	oldLen, newLen = pageUp(oldLen), pageUp(newLen)
	if newLen == 0 || newLen > TaskSize {
		return 0, unix.EINVAL
	}
	if flags&to != 0 {
		// Checked before the old range, as Linux does: the new range is
		// page-aligned, within the address space, off the old range, and
		// DONTUNMAP does not resize.
		if newAddr%pageSize != 0 || newAddr > TaskSize-newLen || old+oldLen > newAddr && newAddr+newLen > old {
			return 0, unix.EINVAL
		}
		if flags&unix.MREMAP_DONTUNMAP != 0 && oldLen != newLen {
			return 0, unix.EINVAL
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.notePeakVMLocked()
	if v := m.movableAt(old); v == nil {
		return 0, unix.EFAULT
	} else if v.sealed {
		return 0, unix.EPERM
	}
	if flags&to != 0 {
		return m.mremapTo(old, oldLen, newLen, flags, newAddr)
	}
	if newLen <= oldLen {
		if newLen < oldLen {
			if err := m.munmapLocked(old+newLen, old+oldLen); err != nil {
				return 0, err
			}
		}
		return old, nil
	}
	v, err := m.resizable(old, oldLen)
	if err != nil {
		return 0, err
	}
	if v.dontExpand() {
		return 0, unix.EFAULT
	}
	end := old + newLen
	if old+oldLen == v.End && end <= TaskSize && end > old {
		if busy, _ := m.overlaps(v.End, end); !busy && m.growInPlace(*v, end) == nil {
			return old, nil
		}
	}
	if flags&unix.MREMAP_MAYMOVE == 0 {
		return 0, unix.ENOMEM
	}
	dst, ok := m.findGap(newLen, m.mmapBase)
	if !ok {
		return 0, unix.ENOMEM
	}
	return m.move(old, oldLen, newLen, flags, dst)
}

// mremapTo handles MREMAP_FIXED and MREMAP_DONTUNMAP in Linux's order
// (mremap_to): the destination is unmapped first, then the old range's
// tail beyond newLen, and only then is the old range looked up again.
func (m *MemoryManager) mremapTo(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	dst := newAddr
	if flags&unix.MREMAP_FIXED != 0 {
		if newAddr < minAddr {
			return 0, unix.EPERM // mmap_min_addr, as for mmap with MAP_FIXED
		}
		if _, platform := m.overlaps(newAddr, newAddr+newLen); platform {
			return 0, unix.ENOMEM
		}
		if err := m.munmapLocked(newAddr, newAddr+newLen); err != nil {
			return 0, err
		}
	}
	if oldLen > newLen {
		if err := m.munmapLocked(old+newLen, old+oldLen); err != nil {
			return 0, err
		}
		oldLen = newLen
	}
	v, err := m.resizable(old, oldLen)
	if err != nil {
		return 0, err
	}
	switch {
	case v.dontExpand() && flags&unix.MREMAP_DONTUNMAP != 0:
		return 0, unix.EINVAL // no DONTUNMAP of a VM_DONTEXPAND mapping
	case v.dontExpand() && newLen > oldLen:
		return 0, unix.EFAULT
	}
	if flags&unix.MREMAP_FIXED == 0 {
		// DONTUNMAP alone: newAddr is a hint, as for mmap; a busy hint
		// (the old range is) is passed over.
		a, err := m.place(newAddr&^(pageSize-1), newLen, 0)
		if err != nil {
			return 0, err
		}
		dst = a
	}
	return m.move(old, oldLen, newLen, flags, dst)
}

// vmaAt returns the application VMA holding addr, or nil; m.mu is held.
func (m *MemoryManager) vmaAt(addr uintptr) *VMA {
	if v := m.vmas.containing(addr); v != nil && !v.special {
		return v
	}
	return nil
}

// movableAt returns the VMA holding addr that mremap may move: an
// application VMA, or the vDSO or its data page (special mappings, which
// move whole; the vDSO's new place is where the sentry finds it from
// then on, as vdso_mremap updates mm->context.vdso); nil for none or a
// platform range. m.mu is held.
func (m *MemoryManager) movableAt(addr uintptr) *VMA {
	if v := m.vmas.containing(addr); v != nil && !v.platformRange() {
		return v
	}
	return nil
}

// dontExpand reports whether v is VM_DONTEXPAND, which mremap may not
// grow (EFAULT) or leave behind (DONTUNMAP: EINVAL): an AIO ring, the
// vDSO and its data page.
func (v *VMA) dontExpand() bool { return v.aioRing || v.special }

// resizable returns the VMA that must hold all of [old, old+oldLen), as
// Linux's vma_to_resize requires: EFAULT if it does not, EINVAL for an
// empty old range of a private mapping (nothing to duplicate); m.mu is
// held.
func (m *MemoryManager) resizable(old, oldLen uintptr) (*VMA, error) {
	v := m.movableAt(old)
	if v == nil || old+oldLen > v.End {
		return nil, unix.EFAULT
	}
	if oldLen == 0 && !v.Shared {
		return nil, unix.EINVAL
	}
	return v, nil
}

// growInPlace extends v, which ends where free space begins, to end;
// m.mu is held.
func (m *MemoryManager) growInPlace(v VMA, end uintptr) error {
	ext := v
	ext.Offset += int64(v.End - v.Start)
	ext.Start, ext.End = v.End, end
	next := footprintOf(&ext, ext.Start, ext.End)
	if err := m.admit(footprint{}, next); err != nil {
		return err
	}
	_, err := m.as.Mremap(v.Start, v.End-v.Start, end-v.Start, 0, 0)
	if errors.Is(err, unix.EFAULT) && v.shm == nil {
		// The host splits v: map the extension on its own.
		err = m.mapLike(&ext, ext.Start, ext.End, ext.Prot)
	}
	if err != nil {
		m.unadmit(footprint{}, next)
		return err
	}
	m.settle(footprint{}, next)
	m.insert(ext)
	return nil
}

// move moves [old, old+oldLen), inside one VMA, to [dst, dst+newLen), which
// is free; m.mu is held. With DONTUNMAP, or an empty old range, the old
// range stays mapped.
func (m *MemoryManager) move(old, oldLen, newLen uintptr, flags int, dst uintptr) (uintptr, error) {
	v := *m.movableAt(old)
	if v.special && (old != v.Start || old+oldLen != v.End) {
		return 0, unix.EINVAL // a special mapping does not split
	}
	moved := v
	moved.Offset += int64(old - v.Start)
	moved.Start, moved.End = dst, dst+newLen
	if moved.Name == "[heap]" {
		// Only the brk area is the heap: brk must not extend a moved copy.
		moved.Name = ""
	}
	keepOld := flags&unix.MREMAP_DONTUNMAP != 0 || oldLen == 0
	var before footprint
	if !keepOld {
		before = m.usageIn(old, old+oldLen)
	}
	after := footprintOf(&moved, moved.Start, moved.End)
	if err := m.admit(before, after); err != nil {
		return 0, err
	}
	var ringWas uintptr
	if v.aioRing {
		// The context follows its ring, or the move fails (EINVAL).
		was, err := m.moveRing(v.File, dst)
		if err != nil {
			m.unadmit(before, after)
			return 0, err
		}
		ringWas = was
	}
	var err error
	if oldLen == 0 && !v.hostShared() {
		// A copy of a shared mapping the host holds as private
		// (VMA.hostShared), which the host would not duplicate.
		err = m.mapLike(&moved, moved.Start, moved.End, moved.Prot)
	} else {
		hostFlags := unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED | flags&unix.MREMAP_DONTUNMAP
		_, err = m.as.Mremap(old, oldLen, newLen, hostFlags, dst)
	}
	if errors.Is(err, unix.EFAULT) && v.shm == nil && !keepOld && !v.special {
		// The host splits the range: map it afresh instead.
		err = m.moveByMapping(&moved, old, oldLen)
	}
	if err != nil {
		if v.aioRing {
			m.moveRing(v.File, ringWas)
		}
		m.unadmit(before, after)
		return 0, err
	}
	m.insert(moved)
	if !keepOld {
		m.unmapRange(old, old+oldLen)
	}
	m.settle(before, after)
	return dst, nil
}

// mapLike maps [start, end) of a mapping like v at its place on the host,
// with prot; the mirror is the caller's to update. m.mu is held.
func (m *MemoryManager) mapLike(v *VMA, start, end uintptr, prot int) error {
	_, err := m.as.Mmap(start, end-start, prot, v.hostFlags(), v.File, v.Offset+int64(start-v.Start))
	return err
}

// moveByMapping maps moved afresh and unmaps [old, old+oldLen) on the
// host, copying private contents across; the mirror is the caller's to
// update. m.mu is held.
func (m *MemoryManager) moveByMapping(moved *VMA, old, oldLen uintptr) error {
	if moved.Shared {
		if err := m.mapLike(moved, moved.Start, moved.End, moved.Prot); err != nil {
			return err
		}
		return m.as.Munmap(old, oldLen)
	}
	if moved.Prot&unix.PROT_READ == 0 {
		return unix.ENOMEM // the old contents cannot be read to be copied
	}
	if err := m.mapLike(moved, moved.Start, moved.End, moved.Prot|unix.PROT_WRITE); err != nil {
		return err
	}
	fail := func(err error) error {
		m.as.Munmap(moved.Start, moved.End-moved.Start)
		return err
	}
	buf := make([]byte, min(oldLen, 1<<20))
	for off := uintptr(0); off < oldLen; off += uintptr(len(buf)) {
		n := min(uintptr(len(buf)), oldLen-off)
		if _, err := m.as.ReadAt(buf[:n], old+off); err != nil {
			return fail(err)
		}
		if _, err := m.as.WriteAt(buf[:n], moved.Start+off); err != nil {
			return fail(err)
		}
	}
	if moved.Prot&unix.PROT_WRITE == 0 {
		if err := m.as.Mprotect(moved.Start, moved.End-moved.Start, moved.Prot); err != nil {
			return fail(err)
		}
	}
	return m.as.Munmap(old, oldLen)
}
