package mm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
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
	m.as = d.AddressSpace
	return d.flush()
}

// deferredAS collects the mapping changes of an address space until
// something needs them made (DeferMappings).
type deferredAS struct {
	platform.AddressSpace
	batcher platform.Batcher
	// ops are the changes not yet made; each file in them has a holder
	// of its own (shareFile), released once the change is made or
	// dropped, so that unmapping it meanwhile does not close it.
	ops []platform.MapOp
}

// flush makes the collected changes.
func (d *deferredAS) flush() error {
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
	for _, o := range d.ops {
		if o.File != nil {
			releaseFile(o.File)
		}
	}
	d.ops = nil
	d.AddressSpace.Release()
}
