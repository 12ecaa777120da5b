package mm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/usage"
)

// DeferMappings has the address space's fixed mappings, unmappings and
// protection changes collected, and made in one request when anything
// else touches the address space (a copy into its memory, a call whose
// answer is needed) or at FlushMappings, where the platform can
// (platform.Batcher). It is for execve, whose loader makes a dozen before
// the new program runs and which nothing else sees until then: on the
// 2-core VM each was a hand-off to the stub's syscall thread, 40-400us,
// most of an execve's time. The memory manager must not be shared until
// FlushMappings.
func (m *MemoryManager) DeferMappings() {
	if b, ok := m.as.(platform.Batcher); ok {
		m.as = &deferredAS{AddressSpace: m.as, batcher: b}
	}
}

// FlushMappings makes the changes DeferMappings collected and ends the
// deferral. After an error the address space holds only some of them:
// the caller releases it.
func (m *MemoryManager) FlushMappings() error {
	d, ok := m.as.(*deferredAS)
	if !ok {
		return nil
	}
	err := d.flush()
	if d.takeOver == nil {
		m.as = d.AddressSpace
	}
	return err
}

// NewInPlace returns an empty memory manager for an execve that keeps the
// host process of old, the caller's, whose only user is the caller
// (platform.Renewer); false if the platform cannot, the process has had
// other threads, or its vDSO was rewritten or reprotected. Like DeferMappings, the
// changes are collected: the first flush takes the process over (old's
// address space is released: every later use of it fails), unmaps
// every application mapping and makes them. Until then old is intact, and
// a failure (a missing interpreter) leaves it so; after it, the execve
// cannot return to the old program.
func NewInPlace(old *MemoryManager, mem *usage.Memory) (*MemoryManager, bool) {
	r, ok := old.as.(platform.Renewer)
	if !ok || old.Shared() || old.vdsoChanged.Load() || !r.Renewable() {
		return nil, false
	}
	m := New(old.as, mem)
	m.as = &deferredAS{AddressSpace: old.as, takeOver: old, into: m}
	return m, true
}

// TookOver reports whether m, from NewInPlace, has taken the old
// program's process over: an execve failing after that cannot return.
func (m *MemoryManager) TookOver() bool {
	d, ok := m.as.(*deferredAS)
	return !ok || d.takeOver == nil
}

// handOver gives m's host process to the memory manager of an execve in
// place (NewInPlace) and keeps a released address space. It returns the
// host's mark of resident memory as m leaves the process.
func (m *MemoryManager) handOver() (platform.AddressSpace, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.as.(platform.Renewer)
	if !ok || m.released {
		return nil, 0, fmt.Errorf("the address space cannot be renewed")
	}
	// Its mark of resident memory, for the process's ru_maxrss, before
	// the process is the new program's.
	m.leaveHostLocked()
	as, err := r.Renew()
	return as, m.rss.final, err
}

// deferredAS collects the mapping changes of an address space until
// something needs them made (DeferMappings).
type deferredAS struct {
	platform.AddressSpace
	batcher platform.Batcher
	// takeOver, until the first flush, is the memory manager whose host
	// process the flush takes over (NewInPlace); AddressSpace is its
	// address space until then, for Reserved, VDSO and VVAR.
	takeOver *MemoryManager
	// into is the memory manager this address space is for, whose mark
	// of resident memory starts at the takeover (rssPeak.base).
	into *MemoryManager
	// ops are the changes not yet made; each file in them has a holder
	// of its own (shareFile), released once the change is made or
	// dropped, so that unmapping it meanwhile does not close it.
	ops []platform.MapOp
}

// flush makes the collected changes.
func (d *deferredAS) flush() error {
	if d.takeOver != nil {
		as, final, err := d.takeOver.handOver()
		if err != nil {
			return fmt.Errorf("keeping the process for execve: %w", err)
		}
		// The host's mark of resident memory is the old program's until
		// this one passes it (hiwater.go).
		d.into.rss.base.Store(final)
		// Taken over: from here a failure is past the point of no return.
		d.takeOver, d.AddressSpace = nil, as
		b, ok := as.(platform.Batcher)
		if !ok {
			return fmt.Errorf("the renewed address space %T makes no batches", as)
		}
		d.batcher = b
		d.ops = append(platform.UnmapAll(as, TaskSize), d.ops...)
	}
	if len(d.ops) == 0 {
		return nil
	}
	ops := d.ops
	d.ops = nil
	n, err := d.batcher.MapBatch(ops)
	for _, o := range ops {
		if o.File != nil {
			releaseFile(o.File)
		}
	}
	if err != nil {
		return fmt.Errorf("mapping change %d of %d: %w", n+1, len(ops), err)
	}
	return nil
}

// Mmap implements platform.AddressSpace: a fixed mapping is collected.
func (d *deferredAS) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if flags&unix.MAP_FIXED == 0 {
		if err := d.flush(); err != nil {
			return 0, err
		}
		return d.AddressSpace.Mmap(addr, length, prot, flags, f, off)
	}
	if f != nil {
		shareFile(f)
	}
	d.ops = append(d.ops, platform.MapOp{Sysno: unix.SYS_MMAP, Addr: addr, Length: length, Prot: prot, Flags: flags, File: f, Off: off})
	return addr, nil
}

// Munmap implements platform.AddressSpace: collected.
func (d *deferredAS) Munmap(addr, length uintptr) error {
	d.ops = append(d.ops, platform.MapOp{Sysno: unix.SYS_MUNMAP, Addr: addr, Length: length})
	return nil
}

// Mprotect implements platform.AddressSpace: collected.
func (d *deferredAS) Mprotect(addr, length uintptr, prot int) error {
	d.ops = append(d.ops, platform.MapOp{Sysno: unix.SYS_MPROTECT, Addr: addr, Length: length, Prot: prot})
	return nil
}

// The rest make the collected changes first.

func (d *deferredAS) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.AddressSpace.Mremap(old, oldLen, newLen, flags, newAddr)
}

func (d *deferredAS) Resident(addr uintptr, vec []byte) error {
	if err := d.flush(); err != nil {
		return err
	}
	return d.AddressSpace.Resident(addr, vec)
}

func (d *deferredAS) Private(addr uintptr, vec []byte) error {
	if err := d.flush(); err != nil {
		return err
	}
	return d.AddressSpace.Private(addr, vec)
}

func (d *deferredAS) Populate(addr, length uintptr, write bool) error {
	if err := d.flush(); err != nil {
		return err
	}
	return d.AddressSpace.Populate(addr, length, write)
}

func (d *deferredAS) Discard(addr, length uintptr) error {
	if err := d.flush(); err != nil {
		return err
	}
	return d.AddressSpace.Discard(addr, length)
}

func (d *deferredAS) ReadAt(dst []byte, addr uintptr) (int, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.AddressSpace.ReadAt(dst, addr)
}

func (d *deferredAS) WriteAt(src []byte, addr uintptr) (int, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.AddressSpace.WriteAt(src, addr)
}

func (d *deferredAS) ReadVec(dst []byte, src []platform.Range) (int, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.AddressSpace.ReadVec(dst, src)
}

func (d *deferredAS) WriteVec(src []byte, dst []platform.Range) (int, error) {
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.AddressSpace.WriteVec(src, dst)
}

func (d *deferredAS) Fork() (platform.AddressSpace, error) {
	if err := d.flush(); err != nil {
		return nil, err
	}
	return d.AddressSpace.Fork()
}

// Release drops the collected changes.
func (d *deferredAS) Release() {
	d.drop()
	if d.takeOver == nil {
		d.AddressSpace.Release()
	}
}

// drop drops the collected changes.
func (d *deferredAS) drop() {
	for _, o := range d.ops {
		if o.File != nil {
			releaseFile(o.File)
		}
	}
	d.ops = nil
}
