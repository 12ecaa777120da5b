package mm

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
)

// dupFile returns a new descriptor for v's file, owned by the caller.
func dupFile(v *VMA) (*os.File, error) { return dupOf(v.File) }

// sharedFiles counts, for each mapped file a fork shared, the memory
// managers holding it beyond the first. A fork shares the parent's
// descriptors instead of duplicating them: a duplicate is two host calls
// per file (fcntl, and os.NewFile's F_GETFL), and a shell's fork, which
// maps half a dozen files, then spent 130-650us on them on the 2-core VM.
// A file's descriptor is only ever read (mapped again, read at an offset),
// never repositioned, so sharing it changes nothing but who closes it:
// the last holder, in releaseFile.
var sharedFiles struct {
	mu    sync.Mutex         // guards holds
	holds map[*os.File]int32 // holders beyond the first; absent: one
}

// shareFile adds a holder to f.
func shareFile(f *os.File) {
	sharedFiles.mu.Lock()
	defer sharedFiles.mu.Unlock()
	if sharedFiles.holds == nil {
		sharedFiles.holds = make(map[*os.File]int32)
	}
	sharedFiles.holds[f]++
}

// releaseFile drops a holder of f and closes it if that was the last.
func releaseFile(f *os.File) {
	sharedFiles.mu.Lock()
	n, shared := sharedFiles.holds[f]
	switch {
	case shared && n > 1:
		sharedFiles.holds[f] = n - 1
	case shared:
		delete(sharedFiles.holds, f)
	}
	sharedFiles.mu.Unlock()
	if !shared {
		f.Close()
	}
}

// Fork returns a copy-on-write copy of the address space and its mirror.
// The copy's private memory is charged in full, as Linux charges a
// child's commit at fork: beyond the sandbox's limit fork fails with
// ENOMEM. Shared objects gain a reference and no charge. MADV_DONTFORK
// ranges are then unmapped from the child, and MADV_WIPEONFORK ones
// dropped (zeros), on the host's copy. The copy's high-water marks start
// at what it has, as Linux's dup_mm starts them (and the host's fork the
// mark of resident memory).
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
	c := &MemoryManager{as: as, mem: m.mem, cpu: m.cpu, platformVMAs: m.platformVMAs, mmapBase: m.mmapBase, random: m.random, brkStart: m.brkStart, brk: m.brk, StackTop: m.StackTop,
		Argv: m.Argv, Envv: m.Envv, Auxv: m.Auxv}
	c.SetRlimits(m.asLimit.Load(), m.dataLimit.Load())
	c.notDumpable.Store(m.notDumpable.Load())
	c.vdsoChanged.Store(m.vdsoChanged.Load())
	shared := make(map[*os.File]bool)
	var dropped, wiped []VMA
	for p := range m.vmas.all() {
		v := *p
		if v.dontFork {
			dropped = append(dropped, v)
			continue
		}
		if v.wipeOnFork {
			wiped = append(wiped, v)
		}
		if v.File != nil && !shared[v.File] {
			shared[v.File] = true
			shareFile(v.File)
			if t, ok := m.trackers[v.File]; ok {
				c.track(v.File, t)
			}
		}
		// Locks are not inherited (dup_mmap clears VM_LOCKED).
		v.Locked = false
		c.vmas.add(&v)
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
	if err := c.tellBackings(); err != nil {
		c.Release()
		return nil, err
	}
	return c, nil
}
