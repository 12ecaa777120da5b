package mm

import (
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
)

// unlimited is RLIM_INFINITY.
const unlimited = ^uint64(0)

// Memory returns the sandbox account the address space charges.
func (m *MemoryManager) Memory() *usage.Memory { return m.mem }

// SetRlimits sets the RLIMIT_AS and RLIMIT_DATA soft limits (bytes) that
// later mmap, mprotect, mremap and brk calls are held to; limits already
// passed stay passed, as in Linux. The syscalls set the caller's limits
// before each call, since Linux checks the calling process's limits and
// processes may share an address space (vfork).
func (m *MemoryManager) SetRlimits(as, data uint64) {
	m.asLimit.Store(as)
	m.dataLimit.Store(data)
}

// footprint is what a set of mappings counts for: mapped bytes (RLIMIT_AS),
// data bytes (RLIMIT_DATA) and bytes charged to the sandbox.
type footprint struct{ mapped, data, charged uint64 }

// footprintOf is what [start, end) of a mapping like v counts for.
// Shared anonymous memory is charged by its object (shmObject), not here.
func footprintOf(v *VMA, start, end uintptr) footprint {
	if v.special || end <= start {
		return footprint{}
	}
	n := uint64(end - start)
	f := footprint{mapped: n}
	if !v.Shared && v.Prot&unix.PROT_WRITE != 0 {
		if !v.noReserve {
			f.charged = n
		}
		if v.Name != "[stack]" {
			f.data = n
		}
	}
	return f
}

// usageIn sums the footprint of the mirror inside [start, end); m.mu is
// held.
func (m *MemoryManager) usageIn(start, end uintptr) footprint {
	var f footprint
	for v := range m.vmas.in(start, end) {
		p := footprintOf(v, max(v.Start, start), min(v.End, end))
		f.mapped += p.mapped
		f.data += p.data
		f.charged += p.charged
	}
	return f
}

// admit checks that replacing what [start, end) holds now (old) by next
// stays within RLIMIT_AS and RLIMIT_DATA, and charges the sandbox for any
// growth; m.mu is held. The caller uncharges old's excess once the change
// is made, or calls unadmit if it fails.
func (m *MemoryManager) admit(old, next footprint) error {
	asLimit, dataLimit := m.asLimit.Load(), m.dataLimit.Load()
	growsAS := next.mapped > old.mapped && asLimit != unlimited
	growsData := next.data > old.data && dataLimit != unlimited
	if growsAS || growsData {
		// The whole address space's use, only when a limit applies: it
		// takes a walk over every mapping.
		total := m.usageIn(0, TaskSize)
		if growsAS && total.mapped-old.mapped+next.mapped > asLimit {
			return unix.ENOMEM
		}
		if growsData && total.data-old.data+next.data > dataLimit {
			return unix.ENOMEM
		}
	}
	if next.charged > old.charged && !m.mem.Charge(usage.Anon, next.charged-old.charged) {
		return unix.ENOMEM
	}
	return nil
}

// unadmit undoes admit's charge after a change failed.
func (m *MemoryManager) unadmit(old, next footprint) {
	if next.charged > old.charged {
		m.mem.Uncharge(usage.Anon, next.charged-old.charged)
	}
}

// settle uncharges what a change gave back.
func (m *MemoryManager) settle(old, next footprint) {
	if old.charged > next.charged {
		m.mem.Uncharge(usage.Anon, old.charged-next.charged)
	}
}

// shmObject is one shared anonymous memory object. Linux charges such
// memory once, at its full size, when it is created, and returns it when
// the last mapping of it goes (shmem_acct_size); one made with
// VM_NORESERVE is not charged. refs counts the address spaces that map
// part of it.
type shmObject struct {
	id   uint64
	size uint64 // bytes charged
	mem  *usage.Memory
	refs atomic.Int32
}

// nextShm numbers shared anonymous objects.
var nextShm atomic.Uint64

// newShm charges and returns an object of size bytes mapped by one address
// space, or fails with ENOMEM.
func newShm(mem *usage.Memory, size uint64) (*shmObject, error) {
	if !mem.Charge(usage.Shmem, size) {
		return nil, unix.ENOMEM
	}
	o := &shmObject{id: nextShm.Add(1), size: size, mem: mem}
	o.refs.Store(1)
	return o, nil
}

// shmsIn returns the distinct shared objects mapped in [start, end); m.mu
// is held.
func (m *MemoryManager) shmsIn(start, end uintptr) []*shmObject {
	var out []*shmObject
	var seen map[*shmObject]bool
	for v := range m.vmas.in(start, end) {
		if v.shm != nil && !seen[v.shm] {
			if seen == nil {
				seen = make(map[*shmObject]bool)
			}
			seen[v.shm] = true
			out = append(out, v.shm)
		}
	}
	return out
}

// putShms drops this address space's reference to each object in objs that
// it no longer maps at all; m.mu is held.
func (m *MemoryManager) putShms(objs []*shmObject) {
	for _, o := range objs {
		if !m.vmas.mapsShm(o) && o.refs.Add(-1) == 0 {
			o.mem.Uncharge(usage.Shmem, o.size)
		}
	}
}

// unmapRange cuts [start, end) out of the mirror: files no piece maps any
// more are closed, shared objects lose this address space's reference.
// Private memory is the caller's to settle. m.mu is held and the host
// mapping is already gone or replaced.
func (m *MemoryManager) unmapRange(start, end uintptr) { m.unmapRangeKeeping(start, end, nil) }

// unmapRangeKeeping is unmapRange that leaves keep open, a file about to
// be mapped again (RemapFilePages).
func (m *MemoryManager) unmapRangeKeeping(start, end uintptr, keep *os.File) {
	shms := m.shmsIn(start, end)
	for _, f := range m.remove(start, end) {
		if f != keep {
			m.untrack(f)
			releaseFile(f)
		}
	}
	m.putShms(shms)
}

// Mapped returns the bytes the application has mapped (the platform's own
// ranges left out, as for RLIMIT_AS), and those of it backed by a file.
func (m *MemoryManager) Mapped() (all, file uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := range m.vmas.all() {
		n := footprintOf(v, v.Start, v.End).mapped
		all += n
		if v.File != nil {
			file += n
		}
	}
	return all, file
}
