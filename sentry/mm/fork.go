package mm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
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
// The copy's private memory is charged in full, as Linux charges a
// child's commit at fork: beyond the sandbox's limit fork fails with
// ENOMEM. Shared objects gain a reference and no charge. MADV_DONTFORK
// ranges are then unmapped from the child, and MADV_WIPEONFORK ones
// dropped (zeros), on the host's copy.
func (m *MemoryManager) Fork() (*MemoryManager, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	charged := m.usageIn(0, TaskSize).charged
	if !m.mem.Charge(usage.Anon, charged) {
		return nil, unix.ENOMEM
	}
	as, err := m.as.Fork()
	if err != nil {
		m.mem.Uncharge(usage.Anon, charged)
		return nil, err
	}
	c := &MemoryManager{as: as, mem: m.mem, cpu: m.cpu, platformVMAs: m.platformVMAs, mmapBase: m.mmapBase, brkStart: m.brkStart, brk: m.brk, StackTop: m.StackTop,
		Argv: m.Argv, Envv: m.Envv, Auxv: m.Auxv}
	c.SetRlimits(m.asLimit.Load(), m.dataLimit.Load())
	c.notDumpable.Store(m.notDumpable.Load())
	dups := make(map[*os.File]*os.File)
	var dropped, wiped []VMA
	for _, v := range m.vmas {
		if v.dontFork {
			dropped = append(dropped, v)
			continue
		}
		if v.wipeOnFork {
			wiped = append(wiped, v)
		}
		if v.File != nil {
			if dups[v.File] == nil {
				f, err := dupFile(&v)
				if err != nil {
					for _, d := range dups {
						c.untrack(d)
						d.Close()
					}
					as.Release()
					m.mem.Uncharge(usage.Anon, charged)
					return nil, err
				}
				dups[v.File] = f
				if t, ok := m.trackers[v.File]; ok {
					c.track(f, t)
				}
			}
			v.File = dups[v.File]
		}
		// Locks are not inherited (dup_mmap clears VM_LOCKED).
		v.Locked = false
		c.vmas = append(c.vmas, v)
	}
	for _, o := range c.shmsIn(0, TaskSize) {
		o.refs.Add(1)
	}
	// The host's fork copied everything: the child loses its
	// MADV_DONTFORK ranges and the pages of its MADV_WIPEONFORK ones.
	for _, v := range dropped {
		m.mem.Uncharge(usage.Anon, footprintOf(&v, v.Start, v.End).charged)
	}
	for _, v := range dropped {
		if err := as.Munmap(v.Start, v.End-v.Start); err != nil {
			c.Release()
			return nil, err
		}
	}
	for _, v := range wiped {
		if err := as.Discard(v.Start, v.End-v.Start); err != nil {
			c.Release()
			return nil, err
		}
	}
	return c, nil
}
