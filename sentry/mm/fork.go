package mm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dupFile returns a new descriptor for v's file, owned by the caller.
func dupFile(v *VMA) (*os.File, error) {
	fd, err := unix.FcntlInt(v.File.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating mapped file: %w", err)
	}
	return os.NewFile(uintptr(fd), v.File.Name()), nil
}

// Fork returns a copy-on-write copy of the address space and its mirror.
func (m *MemoryManager) Fork() (*MemoryManager, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	as, err := m.as.Fork()
	if err != nil {
		return nil, err
	}
	c := &MemoryManager{as: as, mmapBase: m.mmapBase, brkStart: m.brkStart, brk: m.brk, StackTop: m.StackTop,
		Argv: m.Argv, Envv: m.Envv, Auxv: m.Auxv}
	dups := make(map[*os.File]*os.File)
	for _, v := range m.vmas {
		if v.File != nil {
			if dups[v.File] == nil {
				f, err := dupFile(&v)
				if err != nil {
					c.Release()
					return nil, err
				}
				dups[v.File] = f
			}
			v.File = dups[v.File]
		}
		c.vmas = append(c.vmas, v)
	}
	return c, nil
}
