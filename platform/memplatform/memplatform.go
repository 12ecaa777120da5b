// Package memplatform is a platform that runs no application code, for
// unit tests of the sentry: an address space is pages of the sentry's own
// memory, and a thread context never leaves the sentry. Tests of the
// kernel and of syscall handlers run on it without gcc, seccomp, ptrace or
// a stub process.
//
// Decisions:
//   - Every mapping is private to its address space and filled when it is
//     made: a file's pages are read from the file then, and a shared
//     mapping is not shared with anyone (Fork copies it). Nothing a test
//     of the sentry's logic needs is lost, and nothing here touches a host
//     process.
//   - Copies honour the protection of each page as process_vm_readv and
//     process_vm_writev do: reading needs PROT_READ, writing PROT_WRITE,
//     and an unmapped page ends the copy with EFAULT.
//   - Switch runs nothing: it waits until the context is interrupted
//     (EventInterrupted) or released (ErrContextDead), so that a task's
//     loop, if a test starts it, delivers signals and exits as it would
//     and never spins.
package memplatform

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

// pageSize is the size of a page of an address space.
const pageSize = abi.PageSize

// Platform creates in-memory address spaces and contexts that run nothing.
type Platform struct{}

var _ platform.Platform = (*Platform)(nil)

// New returns the platform.
func New() *Platform { return &Platform{} }

// Name implements platform.Platform.
func (*Platform) Name() string { return "memory" }

// NewAddressSpace implements platform.Platform.
func (*Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return &AddressSpace{pages: make(map[uintptr]*page)}, nil
}

// NewContext implements platform.Platform.
func (*Platform) NewContext() platform.Context {
	return &Context{interrupt: make(chan struct{}, 1), released: make(chan struct{})}
}

// Close implements platform.Platform.
func (*Platform) Close() error { return nil }

// page is one page of an address space and its protection.
type page struct {
	data [pageSize]byte
	prot int
}

// AddressSpace is an address space whose pages are the sentry's memory.
type AddressSpace struct {
	mu    sync.Mutex
	pages map[uintptr]*page // by address; guarded by mu
	// peak is the most pages mapped at once before the last unmapping
	// (PeakResident: every mapped page is resident), updated before
	// each, as Linux updates hiwater_rss; guarded by mu.
	peak int
	// copies counts ReadAt, WriteAt, ReadVec and WriteVec calls: each
	// would be one host call on a platform of stub processes.
	copies atomic.Int64
}

// Copies returns how many copies (ReadAt, WriteAt, ReadVec, WriteVec)
// the address space has made: tests count the host calls a path would
// make with it.
func (as *AddressSpace) Copies() int64 { return as.copies.Load() }

var _ platform.AddressSpace = (*AddressSpace)(nil)

// pageRange checks that [addr, addr+length) is page-aligned and in the
// user address space, and returns its pages' addresses.
func pageRange(addr, length uintptr) ([]uintptr, error) {
	if addr%pageSize != 0 || length%pageSize != 0 || addr+length < addr || addr+length > platform.MaxUserAddress {
		return nil, unix.EINVAL
	}
	pages := make([]uintptr, 0, length/pageSize)
	for p := addr; p < addr+length; p += pageSize {
		pages = append(pages, p)
	}
	return pages, nil
}

// Mmap implements platform.AddressSpace. The sentry chooses every address,
// so flags must hold MAP_FIXED; a file's contents are read now.
func (as *AddressSpace) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if flags&unix.MAP_FIXED == 0 {
		return 0, unix.EINVAL
	}
	pages, err := pageRange(addr, length)
	if err != nil {
		return 0, err
	}
	fresh := make([]*page, len(pages))
	for i := range fresh {
		fresh[i] = &page{prot: prot}
		if f == nil {
			continue
		}
		n, err := f.ReadAt(fresh[i].data[:], off+int64(i)*pageSize)
		if err != nil && n < pageSize && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("memplatform: reading the mapped file: %w", err)
		}
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	for i, p := range pages {
		as.pages[p] = fresh[i]
	}
	return addr, nil
}

// inRange runs fn on the pages of [addr, addr+length) with as.mu held.
func (as *AddressSpace) inRange(addr, length uintptr, fn func(pages []uintptr) error) error {
	pages, err := pageRange(addr, length)
	if err != nil {
		return err
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	return fn(pages)
}

// Munmap implements platform.AddressSpace.
func (as *AddressSpace) Munmap(addr, length uintptr) error {
	return as.inRange(addr, length, func(pages []uintptr) error {
		as.notePeakLocked()
		for _, p := range pages {
			delete(as.pages, p)
		}
		return nil
	})
}

// Mprotect implements platform.AddressSpace.
func (as *AddressSpace) Mprotect(addr, length uintptr, prot int) error {
	return as.inRange(addr, length, func(pages []uintptr) error {
		for _, p := range pages {
			if as.pages[p] == nil {
				return unix.ENOMEM
			}
		}
		for _, p := range pages {
			as.pages[p].prot = prot
		}
		return nil
	})
}

// Mremap implements platform.AddressSpace: in place (flags 0), or moved
// to newAddr (MREMAP_MAYMOVE|MREMAP_FIXED, with MREMAP_DONTUNMAP leaving
// the old range mapped and empty). Pages beyond the old length are zero.
func (as *AddressSpace) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	const move = unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED
	dst := old
	switch flags &^ unix.MREMAP_DONTUNMAP {
	case 0:
		if flags != 0 {
			return 0, unix.EINVAL
		}
	case move:
		dst = newAddr
	default:
		return 0, unix.EINVAL
	}
	from, err := pageRange(old, oldLen)
	if err != nil {
		return 0, err
	}
	to, err := pageRange(dst, newLen)
	if err != nil {
		return 0, err
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.notePeakLocked()
	moved := make([]*page, len(to))
	prot := unix.PROT_NONE
	for i, p := range from {
		pg := as.pages[p]
		if pg == nil {
			return 0, unix.EFAULT
		}
		prot = pg.prot
		if i < len(moved) {
			moved[i] = pg
		}
		switch {
		case flags&unix.MREMAP_DONTUNMAP != 0:
			as.pages[p] = &page{prot: pg.prot}
		case dst != old || i >= len(to):
			delete(as.pages, p)
		}
	}
	for i, p := range to {
		if moved[i] == nil {
			moved[i] = &page{prot: prot}
		}
		as.pages[p] = moved[i]
	}
	return dst, nil
}

// Populate implements platform.AddressSpace: every mapped page is
// resident already; a hole is ENOMEM, as madvise says.
func (as *AddressSpace) Populate(addr, length uintptr, write bool) error {
	return as.inRange(addr, length, func(pages []uintptr) error {
		for _, p := range pages {
			if as.pages[p] == nil {
				return unix.ENOMEM
			}
		}
		return nil
	})
}

// Discard implements platform.AddressSpace: mapped pages read zeros
// again; a hole is ENOMEM, as madvise says.
func (as *AddressSpace) Discard(addr, length uintptr) error {
	return as.inRange(addr, length, func(pages []uintptr) error {
		for _, p := range pages {
			if as.pages[p] == nil {
				return unix.ENOMEM
			}
		}
		for _, p := range pages {
			as.pages[p].data = [pageSize]byte{}
		}
		return nil
	})
}

// Resident implements platform.AddressSpace: every mapped page is.
func (as *AddressSpace) Resident(addr uintptr, vec []byte) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	for i := range vec {
		vec[i] = 0
		if as.pages[addr+uintptr(i)*pageSize] != nil {
			vec[i] = 1
		}
	}
	return nil
}

// Private implements platform.AddressSpace: every mapped page is the
// address space's own copy (even a shared mapping's, here).
func (as *AddressSpace) Private(addr uintptr, vec []byte) error { return as.Resident(addr, vec) }

// PeakResident implements platform.AddressSpace: the most pages mapped
// at once.
func (as *AddressSpace) PeakResident() (uint64, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.notePeakLocked()
	return uint64(as.peak) * pageSize, nil
}

// notePeakLocked counts the pages mapped now in the peak; as.mu is held.
func (as *AddressSpace) notePeakLocked() { as.peak = max(as.peak, len(as.pages)) }

// ReadAt implements platform.AddressSpace.
func (as *AddressSpace) ReadAt(dst []byte, addr uintptr) (int, error) {
	return as.copy(dst, addr, unix.PROT_READ, func(pg []byte, b []byte) int { return copy(b, pg) })
}

// WriteAt implements platform.AddressSpace.
func (as *AddressSpace) WriteAt(src []byte, addr uintptr) (int, error) {
	return as.copy(src, addr, unix.PROT_WRITE, func(pg []byte, b []byte) int { return copy(pg, b) })
}

// ReadVec implements platform.AddressSpace.
func (as *AddressSpace) ReadVec(dst []byte, src []platform.Range) (int, error) {
	return as.copyVec(dst, src, unix.PROT_READ, func(pg []byte, b []byte) int { return copy(b, pg) })
}

// WriteVec implements platform.AddressSpace.
func (as *AddressSpace) WriteVec(src []byte, dst []platform.Range) (int, error) {
	return as.copyVec(src, dst, unix.PROT_WRITE, func(pg []byte, b []byte) int { return copy(pg, b) })
}

// copyVec is copy over the ranges rs in order, under one hold of mu.
func (as *AddressSpace) copyVec(b []byte, rs []platform.Range, prot int, move func(pg, b []byte) int) (int, error) {
	as.copies.Add(1)
	as.mu.Lock()
	defer as.mu.Unlock()
	return platform.CopyEachRange(b, rs, func(part []byte, addr uintptr) (int, error) {
		return as.copyLocked(part, addr, prot, move)
	})
}

// copy moves b to or from the pages at addr, page by page, with move; a
// page that is missing or lacks prot ends it with EFAULT.
func (as *AddressSpace) copy(b []byte, addr uintptr, prot int, move func(pg, b []byte) int) (int, error) {
	as.copies.Add(1)
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.copyLocked(b, addr, prot, move)
}

// copyLocked is copy with mu held.
func (as *AddressSpace) copyLocked(b []byte, addr uintptr, prot int, move func(pg, b []byte) int) (int, error) {
	done := 0
	for done < len(b) {
		a := addr + uintptr(done)
		if a < addr {
			return done, fmt.Errorf("memplatform: copy at %#x: %w", a, unix.EFAULT)
		}
		pg := as.pages[a&^(pageSize-1)]
		if pg == nil || pg.prot&prot == 0 {
			return done, fmt.Errorf("memplatform: copy at %#x: %w", a, unix.EFAULT)
		}
		done += move(pg.data[a%pageSize:], b[done:])
	}
	return done, nil
}

// Fork implements platform.AddressSpace: a copy of every page, whose peak
// starts at them, as Linux's fork starts hiwater_rss at the child's rss.
func (as *AddressSpace) Fork() (platform.AddressSpace, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	c := &AddressSpace{pages: make(map[uintptr]*page, len(as.pages)), peak: len(as.pages)}
	for addr, pg := range as.pages {
		dup := *pg
		c.pages[addr] = &dup
	}
	return c, nil
}

// Reserved implements platform.AddressSpace: nothing is reserved.
func (as *AddressSpace) Reserved() []platform.Range { return nil }

// VDSO implements platform.AddressSpace: there is no vDSO.
func (as *AddressSpace) VDSO() platform.Range { return platform.Range{} }

// VDSOImage implements platform.AddressSpace: there is no vDSO.
func (as *AddressSpace) VDSOImage() []byte { return nil }

// VVAR implements platform.AddressSpace.
func (as *AddressSpace) VVAR() platform.Range { return platform.Range{} }

// CPUTime implements platform.AddressSpace: nothing runs.
func (as *AddressSpace) CPUTime() (user, sys time.Duration, err error) { return 0, 0, nil }

// Release implements platform.AddressSpace.
func (as *AddressSpace) Release() {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.pages = make(map[uintptr]*page)
}

// Context is a thread that never runs application code.
type Context struct {
	interrupt chan struct{} // holds one pending interrupt
	released  chan struct{} // closed by Release
	once      sync.Once
}

var _ platform.Context = (*Context)(nil)

// Switch implements platform.Context: it waits for Interrupt, or for
// Release (ErrContextDead).
func (c *Context) Switch(as platform.AddressSpace, regs *platform.Registers, fp *platform.FPState) (platform.Event, error) {
	select {
	case <-c.interrupt:
		return platform.Event{Kind: platform.EventInterrupted}, nil
	case <-c.released:
		return platform.Event{}, platform.ErrContextDead
	}
}

// Interrupt implements platform.Context.
func (c *Context) Interrupt() {
	select {
	case c.interrupt <- struct{}{}:
	default:
	}
}

// Release implements platform.Context.
func (c *Context) Release() { c.once.Do(func() { close(c.released) }) }
