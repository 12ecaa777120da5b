package mm

import (
	"golang.org/x/sys/unix"
)

// Mremap implements mremap(2): shrinking, growing in place into free
// space, and with MREMAP_MAYMOVE moving a private mapping by copying it to
// a new place (the host's pages cannot be moved from outside the stub).
// Shared mappings cannot move that way (their pages would stop being
// shared), nor can MREMAP_FIXED and MREMAP_DONTUNMAP requests: ENOMEM.
func (m *MemoryManager) Mremap(old, oldLen, newLen uintptr, flags int) (uintptr, error) {
	if old%pageSize != 0 || newLen == 0 || flags&^(unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED|unix.MREMAP_DONTUNMAP) != 0 {
		return 0, unix.EINVAL
	}
	if flags&(unix.MREMAP_FIXED|unix.MREMAP_DONTUNMAP) != 0 {
		return 0, unix.ENOMEM
	}
	oldLen, newLen = pageUp(oldLen), pageUp(newLen)
	if newLen <= oldLen {
		if newLen < oldLen {
			if err := m.Munmap(old+newLen, oldLen-newLen); err != nil {
				return 0, err
			}
		}
		return old, nil
	}
	m.mu.Lock()
	var v *VMA
	for i := range m.vmas {
		if m.vmas[i].Start <= old && old+oldLen <= m.vmas[i].End && !m.vmas[i].special {
			v = &m.vmas[i]
		}
	}
	if v == nil {
		m.mu.Unlock()
		return 0, unix.EFAULT
	}
	grow := MmapOpts{Addr: old + oldLen, Length: newLen - oldLen, Prot: v.Prot, Flags: unix.MAP_FIXED_NOREPLACE, Name: v.Name}
	if v.Shared {
		grow.Flags |= unix.MAP_SHARED
	} else {
		grow.Flags |= unix.MAP_PRIVATE
	}
	if v.File == nil {
		grow.Flags |= unix.MAP_ANONYMOUS
	} else {
		f, err := dupFile(v)
		if err != nil {
			m.mu.Unlock()
			return 0, err
		}
		grow.File, grow.Offset, grow.Dev, grow.Ino = f, v.Offset+int64(old+oldLen-v.Start), v.Dev, v.Ino
	}
	shared := v.Shared
	m.mu.Unlock()
	if _, err := m.Mmap(grow); err == nil {
		return old, nil
	}
	if grow.File != nil {
		grow.File.Close()
	}
	if flags&unix.MREMAP_MAYMOVE == 0 || shared {
		return 0, unix.ENOMEM
	}
	return m.moveByCopy(old, oldLen, newLen)
}

// moveByCopy maps newLen bytes elsewhere like the mapping at old, copies
// its contents and unmaps it.
func (m *MemoryManager) moveByCopy(old, oldLen, newLen uintptr) (uintptr, error) {
	m.mu.Lock()
	var v VMA
	for _, x := range m.vmas {
		if x.Start <= old && old < x.End {
			v = x
		}
	}
	m.mu.Unlock()
	if v.Prot&unix.PROT_READ == 0 {
		return 0, unix.ENOMEM
	}
	o := MmapOpts{Length: newLen, Prot: v.Prot | unix.PROT_WRITE, Flags: unix.MAP_PRIVATE, Name: v.Name, Dev: v.Dev, Ino: v.Ino}
	if v.File == nil {
		o.Flags |= unix.MAP_ANONYMOUS
	} else {
		f, err := dupFile(&v)
		if err != nil {
			return 0, err
		}
		o.File, o.Offset = f, v.Offset+int64(old-v.Start)
	}
	to, err := m.Mmap(o)
	if err != nil {
		return 0, unix.ENOMEM
	}
	buf := make([]byte, 1<<20)
	for off := uintptr(0); off < oldLen; off += uintptr(len(buf)) {
		n := min(uintptr(len(buf)), oldLen-off)
		if _, err := m.CopyIn(old+off, buf[:n]); err != nil {
			m.Munmap(to, newLen)
			return 0, unix.EFAULT
		}
		if _, err := m.CopyOut(to+off, buf[:n]); err != nil {
			m.Munmap(to, newLen)
			return 0, unix.EFAULT
		}
	}
	if v.Prot&unix.PROT_WRITE == 0 {
		m.Mprotect(to, newLen, v.Prot)
	}
	if err := m.Munmap(old, oldLen); err != nil {
		return 0, err
	}
	return to, nil
}

// Madvise implements madvise(2). Hints are accepted and ignored, as Linux
// may ignore them. MADV_DONTNEED and MADV_FREE drop private pages, which is
// visible (the next read sees zeros, or the file's contents): done by
// mapping the range afresh.
func (m *MemoryManager) Madvise(addr, length uintptr, advice int) error {
	if addr%pageSize != 0 {
		return unix.EINVAL
	}
	end := addr + pageUp(length)
	if end < addr {
		return unix.EINVAL
	}
	m.mu.Lock()
	if !m.covered(addr, end) {
		m.mu.Unlock()
		return unix.ENOMEM
	}
	if !knownAdvice(advice) {
		m.mu.Unlock()
		return unix.EINVAL
	}
	if advice != unix.MADV_DONTNEED && advice != unix.MADV_FREE {
		m.mu.Unlock()
		return nil
	}
	var parts []VMA
	for _, v := range m.vmas {
		if v.End > addr && v.Start < end && !v.Shared {
			parts = append(parts, v)
		}
	}
	m.mu.Unlock()
	for _, v := range parts {
		start, stop := max(v.Start, addr), min(v.End, end)
		o := MmapOpts{Addr: start, Length: stop - start, Prot: v.Prot, Flags: unix.MAP_PRIVATE | unix.MAP_FIXED, Name: v.Name, Dev: v.Dev, Ino: v.Ino}
		if v.File == nil {
			o.Flags |= unix.MAP_ANONYMOUS
		} else {
			f, err := dupFile(&v)
			if err != nil {
				return err
			}
			o.File, o.Offset = f, v.Offset+int64(start-v.Start)
		}
		if _, err := m.Mmap(o); err != nil {
			return err
		}
	}
	return nil
}

// knownAdvice reports whether Linux x86-64 knows the madvise advice.
func knownAdvice(a int) bool {
	switch a {
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_REMOVE, unix.MADV_DONTFORK,
		unix.MADV_DOFORK, unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE, unix.MADV_HUGEPAGE,
		unix.MADV_NOHUGEPAGE, unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_WIPEONFORK,
		unix.MADV_KEEPONFORK, unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_POPULATE_READ,
		unix.MADV_POPULATE_WRITE, unix.MADV_HWPOISON:
		return true
	}
	return false
}

// Mincore reports every mapped page as resident: the host pages them in on
// demand and the sentry does not track residency. Unmapped is ENOMEM.
func (m *MemoryManager) Mincore(addr, length uintptr) ([]byte, error) {
	if addr%pageSize != 0 {
		return nil, unix.EINVAL
	}
	end := addr + pageUp(length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if end < addr || !m.covered(addr, end) {
		return nil, unix.ENOMEM
	}
	vec := make([]byte, (end-addr)/pageSize)
	for i := range vec {
		vec[i] = 1
	}
	return vec, nil
}

// Msync checks the range is mapped; data written through a shared mapping
// is already in the host file or memfd.
func (m *MemoryManager) Msync(addr, length uintptr, flags int) error {
	if addr%pageSize != 0 || flags&^(unix.MS_ASYNC|unix.MS_SYNC|unix.MS_INVALIDATE) != 0 ||
		flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 {
		return unix.EINVAL
	}
	end := addr + pageUp(length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if end < addr || !m.covered(addr, end) {
		return unix.ENOMEM
	}
	return nil
}
