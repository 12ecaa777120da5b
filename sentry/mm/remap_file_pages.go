package mm

import (
	"os"

	"golang.org/x/sys/unix"
)

// RemapFilePages is remap_file_pages(2) as Linux 4.0 and later emulate it
// (mm/mmap.c): the pages of [start, start+size) of a shared file mapping,
// which may span adjacent pieces of one mapping, are mapped afresh from
// page pgoff of the same file (so that neighbours with following offsets
// merge), with the mapping's protection, populated. prot must be 0 and
// flags may only add MAP_NONBLOCK. Shared anonymous memory (whose file
// Linux has, and this mirror does not) and the rings of AIO contexts and
// packet sockets are EINVAL.
func (m *MemoryManager) RemapFilePages(start, size uintptr, prot int, pgoff uintptr, flags int) error {
	start &^= pageSize - 1
	size &^= pageSize - 1
	if prot != 0 || start+size <= start || pgoff+size/pageSize < pgoff || pgoff > uintptr(1<<63-1)/pageSize {
		return unix.EINVAL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.remapOpts(start, size, pgoff, flags)
	if err != nil {
		return err
	}
	_, err = m.mmapLocked(o, size)
	return err
}

// remapOpts is the mmap RemapFilePages makes; m.mu is held.
func (m *MemoryManager) remapOpts(start, size, pgoff uintptr, flags int) (MmapOpts, error) {
	v := m.vmaAt(start)
	if v == nil || !v.Shared || v.File == nil || v.aioRing || !m.remappable(v.File) {
		return MmapOpts{}, unix.EINVAL
	}
	for end := v.End; start+size > end; {
		next := m.vmaAt(end)
		if next == nil || next.File != v.File || next.Prot != v.Prot || next.Locked != v.Locked {
			return MmapOpts{}, unix.EINVAL
		}
		end = next.End
	}
	o := MmapOpts{
		Addr: start, Length: size, Prot: v.Prot,
		Flags: flags&unix.MAP_NONBLOCK | unix.MAP_SHARED | unix.MAP_FIXED | unix.MAP_POPULATE,
		File:  v.File, Offset: int64(pgoff * pageSize), Name: v.Name, NameSource: v.nameSource, Dev: v.Dev, Ino: v.Ino,
		ReadOnlyFile: v.noWrite, noReserve: v.noReserve, Backing: v.backing,
	}
	if v.Locked {
		o.Flags |= unix.MAP_LOCKED
	}
	return o, nil
}

// remappable reports whether remap_file_pages may map f afresh: unless
// its tracker is an object's own (Remappable). m.mu is held.
func (m *MemoryManager) remappable(f *os.File) bool {
	t, ok := m.trackers[f]
	if !ok {
		return true
	}
	_, ok = t.(Remappable)
	return ok
}
